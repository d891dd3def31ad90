/*
 * report.h - what a run did: per-flow counts, pacing quality, CPU
 *
 * The sender records one sample per frame (flow, deadline, time the send
 * returned); the statistics are computed afterwards, outside the paced
 * loop.  Gaps are measured per flow between consecutive sends.
 */
#pragma once

#include <glib.h>
#include <stdio.h>
#include <stdint.h>

#include "trafgen/dodge.h"

typedef struct {
    guint flow;
    int64_t deadline_ns;
    int64_t sent_ns;
} TrafgenSample;

typedef struct {
    uint64_t frames;   /* frames sent (any kind) */
    uint64_t segments; /* TCP segments */
    uint64_t payload_bytes;
    uint64_t wire_bytes;
} TrafgenFlowCounters;

typedef struct {
    int64_t p50_ns;
    int64_t p99_ns;
    int64_t p999_ns;
    int64_t max_ns;
    int64_t min_ns;
    double mean_ns;
    uint64_t count;
} TrafgenPercentiles;

typedef struct {
    /* set by the sender */
    GArray *samples; /* TrafgenSample */
    GArray *flows;   /* TrafgenFlowCounters, one per flow */
    int64_t period_ns;
    int64_t rsc_interval_ns;
    int64_t guard_ns;
    int64_t start_ns;
    int64_t end_ns;
    double cpu_user_s;
    double cpu_system_s;
    uint64_t late_slots;
    uint64_t skipped_slots;
    uint64_t reanchors;
    uint64_t send_errors;
    char *policy; /* scheduling policy obtained */
    char *late_policy;
    char *transport;
    char *pattern;
    char *notice;
    gboolean unpaced;
    gboolean offline;
    struct {
        gboolean enabled;
        TrafgenDodgeStats stats;
        int64_t offset_ns; /* at the end */
    } dodge;               /* stall dodging (dodge.h) */
    /* computed by trafgen_report_compute() */
    TrafgenPercentiles lateness;
    TrafgenPercentiles gap;
    TrafgenPercentiles gap_error; /* |gap - period| */
    uint64_t gaps_over_rsc;       /* gaps > rsc interval */
    uint64_t bursts;              /* gaps < period / 2 */
    double frames_per_s;
    double cpu_percent; /* of one core, over the run */
} TrafgenReport;

/**
 * trafgen_report_new:
 * @flows: number of flows
 * @expected_samples: capacity hint (0 if unknown)
 *
 * Returns: (transfer full): an empty report; trafgen_report_free() it.
 */
TrafgenReport *trafgen_report_new(guint flows, guint64 expected_samples);

/**
 * trafgen_report_free:
 * @report: (nullable): report to free
 */
void trafgen_report_free(TrafgenReport *report);

/**
 * trafgen_report_compute:
 * @report: report whose samples are complete
 *
 * Fills the percentiles, gap counts, rate and CPU share.
 */
void trafgen_report_compute(TrafgenReport *report);

/**
 * trafgen_percentiles_compute:
 * @values: values, sorted in place
 * @count: their number
 * @ret_percentiles: filled (all zero when @count is 0)
 */
void trafgen_percentiles_compute(int64_t *values, size_t count,
                                 TrafgenPercentiles *ret_percentiles);

/**
 * trafgen_report_print:
 * @report: computed report
 * @out: stream for the human-readable summary
 */
void trafgen_report_print(const TrafgenReport *report, FILE *out);

/**
 * trafgen_report_write_json:
 * @report: computed report
 * @path: file to write ("-" for stdout)
 * @error: set when the file cannot be written
 *
 * Returns: TRUE on success.
 */
gboolean trafgen_report_write_json(const TrafgenReport *report,
                                   const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrafgenReport, trafgen_report_free)
