/*
 * The result of `rig sweep`: the grid, one SweepResult per finished point
 * (each repeat a SweepSample), the recommendation derived from them, and
 * the writers: sweep.json (schema SWEEP_JSON_SCHEMA, documented in
 * hck-profiles/README.md "Sweep JSON") and sweep.csv.  sweep.json is also
 * read back (sweep_report_from_json) so that `rig sweep merge` joins shard
 * outputs with the same writers an unsharded run uses.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "sweep/grid.h"
#include "sweep/metrics.h"

#define SWEEP_JSON_SCHEMA "rsc-rig-sweep/1"

/* HLK "NDISTest 6.5 [2 Machine] E2EPerf": at least 70 % coalesced. */
#define SWEEP_HLK_SHARE_BAR 0.70

typedef struct {
    double m[SWEEP_N_METRICS];
    char **checks_failed; /* harness checks that failed, NULL-ended */
} SweepSample;

typedef struct {
    SweepPoint point;
    guint count;     /* segments per flow */
    GArray *samples; /* SweepSample, one per repeat */
    char *error;     /* the rig could not run the point; NULL otherwise */
} SweepResult;

typedef struct {
    double mean;
    double ci95; /* half-width of the 95 % confidence interval; 0 if n < 2 */
    guint n;
} SweepStat;

typedef struct {
    char *rig_version;
    char *profile_name;
    char *profile_path;
    char *profile_sha256;
    char *qemu_path;
    char *qemu_version;     /* NULL when unknown */
    char *qemu_series_hash; /* NULL for a QEMU not built by ci/build-qemu */
    int interval_writable;  /* rsc_interval qom-set works: 1, 0, -1 unknown */
    SweepGrid *grid;
    guint repeat;
    guint count[SWEEP_N_CLOCKS]; /* segments per flow, per clock */
    guint max_latency_us;        /* 0: no latency bound given */
    GArray *points;              /* SweepPoint, the whole grid */
    GPtrArray *results;          /* SweepResult * or NULL, by point index */
    guint shard_index;           /* 0: the whole grid */
    guint shard_count;
    GPtrArray *runs; /* JsonNode *: one object per run (host, timings) */
} SweepReport;

typedef struct {
    SweepClock clock;
    guint period_us;
    guint flows;
    guint payload;
    /* Smallest interval with coalesced share >= the HLK bar and no bytes
     * lost; 0 when none of the grid's does. */
    guint hlk_interval_us;
    double hlk_share;
    /* Largest coalescing with latency p99 <= max_latency_us; 0 when no
     * bound was given or no interval meets it. */
    guint latency_interval_us;
    double latency_spf;
    double latency_p99_us;
} SweepRecommendation;

/**
 * sweep_sample_clear:
 * @sample: a sample; its check list is freed
 */
void sweep_sample_clear(SweepSample *sample);

/**
 * sweep_result_new:
 * @point: the point (copied)
 * @count: segments per flow
 *
 * Returns: (transfer full): a result without samples; free with
 *   sweep_result_free()
 */
SweepResult *sweep_result_new(const SweepPoint *point, guint count);

/**
 * sweep_result_free:
 * @result: (nullable) (transfer full): a result
 */
void sweep_result_free(SweepResult *result);

/**
 * sweep_result_stat:
 * @result: a result
 * @metric: which metric
 * @ret_stat: (out): mean over the repeats and its 95 % confidence interval
 *   (Student's t)
 */
void sweep_result_stat(const SweepResult *result, SweepMetricId metric,
                       SweepStat *ret_stat);

/**
 * sweep_report_new:
 * @grid: (transfer full): the grid
 *
 * Returns: (transfer full): a report with every point pending; free with
 *   sweep_report_free()
 */
SweepReport *sweep_report_new(SweepGrid *grid);

/**
 * sweep_report_free:
 * @report: (nullable) (transfer full): a report
 */
void sweep_report_free(SweepReport *report);

/**
 * sweep_report_set_result:
 * @report: the report
 * @result: (transfer full): a finished point; replaces an earlier one
 */
void sweep_report_set_result(SweepReport *report, SweepResult *result);

/**
 * sweep_report_shard_range:
 * @report: the report
 * @ret_from: (out): first point index it is responsible for
 * @ret_to: (out): one past the last
 */
void sweep_report_shard_range(const SweepReport *report, guint *ret_from,
                              guint *ret_to);

/**
 * sweep_report_is_complete:
 * @report: the report
 *
 * Returns: TRUE when every point of its shard (or of the grid) has a result
 */
gboolean sweep_report_is_complete(const SweepReport *report);

/**
 * sweep_report_reduction:
 * @report: the report
 * @result: a result of it
 * @ret_reduction: (out): 1 - frames/s / frames/s of the same point with RSC
 *   off; set only on success
 *
 * Returns: FALSE for the baseline itself or when it has not run
 */
gboolean sweep_report_reduction(const SweepReport *report,
                                const SweepResult *result,
                                double *ret_reduction);

/**
 * sweep_recommend:
 * @report: the report
 *
 * Returns: (transfer full): one SweepRecommendation per (clock, period,
 *   flows, payload) group with at least one finished RSC-on point, in grid
 *   order
 */
GArray *sweep_recommend(const SweepReport *report);

/**
 * sweep_report_to_json:
 * @report: the report
 *
 * Returns: (transfer full): the documented JSON object
 */
JsonNode *sweep_report_to_json(const SweepReport *report);

/**
 * sweep_report_from_json:
 * @root: a sweep.json document
 * @what: its name for messages (the file)
 * @error: return location (SWEEP_ERROR_MERGE): names what is wrong
 *
 * Returns: (transfer full): the report it describes, or NULL
 */
SweepReport *sweep_report_from_json(JsonNode *root, const char *what,
                                    GError **error);

/**
 * sweep_report_to_csv:
 * @report: the report
 *
 * One header line, then one line per finished point in grid order: the
 * point's coordinates, its error, the reduction, and for every metric the
 * mean and the 95 % half-width over the repeats.
 *
 * Returns: (transfer full): the CSV text
 */
char *sweep_report_to_csv(const SweepReport *report);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SweepReport, sweep_report_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SweepResult, sweep_result_free)
