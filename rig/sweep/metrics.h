/*
 * What `rig sweep` measures at one point: figures computed from a sent
 * view and a received view of the harness (rig/harness/check.h), so that
 * the guest's view (measured) and the oracle's (predicted) go through the
 * same arithmetic.
 */
#pragma once

#include <glib.h>

#include "harness/check.h"

/*
 * Metrics of one run of a point.  The table in metrics.c gives each its
 * stable name (JSON member, CSV column) and unit; hck-profiles/README.md
 * ("Sweep JSON") documents them.
 */
typedef enum {
    SWEEP_M_SEGMENTS_SENT,
    SWEEP_M_DATA_FRAMES,
    SWEEP_M_COALESCED_FRAMES,
    SWEEP_M_SPF_MEAN, /* segments per delivered data frame */
    SWEEP_M_SPF_P50,
    SWEEP_M_SPF_P99,
    SWEEP_M_PRED_SPF_MEAN, /* the oracle on the ideal schedule */
    SWEEP_M_PRED_SPF_P50,
    SWEEP_M_PRED_SPF_P99,
    SWEEP_M_SENDPRED_SPF_MEAN, /* the oracle at the actual send times */
    SWEEP_M_COALESCED_SHARE,
    SWEEP_M_PRED_COALESCED_SHARE,
    SWEEP_M_LATENCY_P50_US, /* delivery at the guest minus send */
    SWEEP_M_LATENCY_P99_US,
    SWEEP_M_LATENCY_MAX_US,
    SWEEP_M_PRED_LATENCY_P50_US,
    SWEEP_M_PRED_LATENCY_P99_US,
    SWEEP_M_PRED_LATENCY_MAX_US,
    SWEEP_M_FRAMES_PER_S,
    SWEEP_M_SEND_LATENESS_P99_US, /* send time minus the ideal slot time */
    SWEEP_M_SEND_GAP_MAX_US,      /* widest gap between two sends */
    SWEEP_M_BYTES_SENT,
    SWEEP_M_BYTES_DELIVERED,
    SWEEP_M_BYTES_LOST,
    SWEEP_M_QEMU_CPU_MS, /* host measurements from here on */
    SWEEP_M_QEMU_CPU_PER_SEGMENT_US,
    SWEEP_M_DURATION_S,
    SWEEP_N_METRICS,
} SweepMetricId;

/* First metric measured on the host (CPU, durations): never equal in two
 * runs, left out when reports are compared for identity. */
#define SWEEP_M_FIRST_HOST SWEEP_M_QEMU_CPU_MS

typedef struct {
    const char *name; /* JSON member, CSV column */
    const char *unit; /* "", "us", "bytes", ... */
    const char *what; /* one line for --help and the HTML table */
} SweepMetricInfo;

/* The figures of one view pair. */
typedef struct {
    guint64 segments_sent;
    guint64 data_frames;
    guint64 coalesced_frames;
    double spf_mean, spf_p50, spf_p99;
    double coalesced_share;
    double latency_p50_us, latency_p99_us, latency_max_us;
    double frames_per_s;
    double send_lateness_p99_us;
    double send_gap_max_us;
    guint64 bytes_sent;
    guint64 bytes_delivered;
} SweepViewFigures;

/**
 * sweep_metric_info:
 * @id: a metric
 *
 * Returns: (transfer none): its name, unit and description
 */
const SweepMetricInfo *sweep_metric_info(SweepMetricId id);

/**
 * sweep_metric_from_name:
 * @name: a metric name
 *
 * Returns: its id, or SWEEP_N_METRICS when @name is no metric
 */
SweepMetricId sweep_metric_from_name(const char *name);

/**
 * sweep_percentile:
 * @sorted: (array length=n): values in ascending order
 * @n: their number
 * @p: percentile, 0..100
 *
 * Nearest rank: the smallest value with at least p % of the values at or
 * below it.
 *
 * Returns: the value, 0 when @n is 0
 */
double sweep_percentile(const double *sorted, gsize n, double p);

/**
 * sweep_view_figures:
 * @sent: what was sent (CheckFrame.time_ns = send time)
 * @received: what the guest (or the oracle) delivered
 * @period_ns: the pattern's slot period (frames/s and send lateness)
 * @ret_figures: (out): the figures
 *
 * Only TCP data frames of known flows count.  Latency of a segment: time
 * of the delivered frame that holds its first byte minus its send time.
 */
void sweep_view_figures(const CheckView *sent, const CheckView *received,
                        guint64 period_ns, SweepViewFigures *ret_figures);
