/*
 * Per-point figures of `rig sweep` from a pair of harness views.
 */
#include "sweep/metrics.h"

#include <math.h>
#include <string.h>

static const SweepMetricInfo METRICS[SWEEP_N_METRICS] = {
    [SWEEP_M_SEGMENTS_SENT] = {"segments_sent", "", "TCP data segments sent"},
    [SWEEP_M_DATA_FRAMES] = {"data_frames", "",
                             "TCP data frames delivered to the guest"},
    [SWEEP_M_COALESCED_FRAMES] = {"coalesced_frames", "",
                                  "delivered frames with RSC_INFO"},
    [SWEEP_M_SPF_MEAN] = {"segments_per_frame_mean", "",
                          "segments per delivered data frame, measured"},
    [SWEEP_M_SPF_P50] = {"segments_per_frame_p50", "", "median, measured"},
    [SWEEP_M_SPF_P99] = {"segments_per_frame_p99", "",
                         "99th percentile, measured"},
    [SWEEP_M_PRED_SPF_MEAN] = {"predicted_segments_per_frame_mean", "",
                               "the oracle on the ideal schedule"},
    [SWEEP_M_PRED_SPF_P50] = {"predicted_segments_per_frame_p50", "",
                              "median, predicted"},
    [SWEEP_M_PRED_SPF_P99] = {"predicted_segments_per_frame_p99", "",
                              "99th percentile, predicted"},
    [SWEEP_M_SENDPRED_SPF_MEAN] = {"send_time_segments_per_frame_mean", "",
                                   "the oracle fed with the actual send "
                                   "times (sender jitter included)"},
    [SWEEP_M_COALESCED_SHARE] = {"coalesced_share", "",
                                 "share of segments delivered in coalesced "
                                 "frames (HLK E2EPerf bar: 0.70)"},
    [SWEEP_M_PRED_COALESCED_SHARE] = {"predicted_coalesced_share", "",
                                      "the same, predicted"},
    [SWEEP_M_LATENCY_P50_US] = {"latency_p50_us", "us",
                                "added latency per segment (delivery at "
                                "the guest minus send), median"},
    [SWEEP_M_LATENCY_P99_US] = {"latency_p99_us", "us",
                                "added latency, 99th percentile"},
    [SWEEP_M_LATENCY_MAX_US] = {"latency_max_us", "us",
                                "added latency, maximum"},
    [SWEEP_M_PRED_LATENCY_P50_US] = {"predicted_latency_p50_us", "us",
                                     "the oracle's, median"},
    [SWEEP_M_PRED_LATENCY_P99_US] = {"predicted_latency_p99_us", "us",
                                     "the oracle's, 99th percentile"},
    [SWEEP_M_PRED_LATENCY_MAX_US] = {"predicted_latency_max_us", "us",
                                     "the oracle's, maximum"},
    [SWEEP_M_FRAMES_PER_S] = {"frames_per_s", "1/s",
                              "data frames delivered per second of traffic "
                              "(the guest's interrupt rate)"},
    [SWEEP_M_SEND_LATENESS_P99_US] = {"send_lateness_p99_us", "us",
                                      "send time minus the ideal slot time, "
                                      "99th percentile"},
    [SWEEP_M_SEND_GAP_MAX_US] = {"send_gap_max_us", "us",
                                 "widest gap between two consecutive sends"},
    [SWEEP_M_BYTES_SENT] = {"bytes_sent", "bytes", "TCP payload sent"},
    [SWEEP_M_BYTES_DELIVERED] = {"bytes_delivered", "bytes",
                                 "TCP payload delivered to the guest"},
    [SWEEP_M_BYTES_LOST] = {"bytes_lost", "bytes",
                            "sent minus delivered (must be 0)"},
    [SWEEP_M_QEMU_CPU_MS] = {"qemu_cpu_ms", "ms",
                             "CPU time of the QEMU process over the run "
                             "(/proc/PID/task/*/schedstat)"},
    [SWEEP_M_QEMU_CPU_PER_SEGMENT_US] = {"qemu_cpu_per_segment_us", "us",
                                         "QEMU CPU time per segment sent"},
    [SWEEP_M_DURATION_S] = {"duration_s", "s",
                            "host time the run took (set-up excluded)"},
};

const SweepMetricInfo *sweep_metric_info(SweepMetricId id)
{
    g_return_val_if_fail(id < SWEEP_N_METRICS, &METRICS[0]);
    return &METRICS[id];
}

SweepMetricId sweep_metric_from_name(const char *name)
{
    for (guint i = 0; i < SWEEP_N_METRICS; i++) {
        if (g_strcmp0(METRICS[i].name, name) == 0) {
            return (SweepMetricId)i;
        }
    }
    return SWEEP_N_METRICS;
}

double sweep_percentile(const double *sorted, gsize n, double p)
{
    gsize rank;

    if (n == 0) {
        return 0;
    }
    rank = (gsize)ceil(p / 100.0 * (double)n);
    rank = CLAMP(rank, 1, n);
    return sorted[rank - 1];
}

static gint compare_double(gconstpointer a, gconstpointer b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static gboolean is_data(const CheckFrame *f)
{
    return f->is_tcp && f->payload_len > 0 && f->flow != CHECK_FLOW_NONE;
}

static guint frame_segments(const CheckFrame *f)
{
    if ((f->hdr_flags & CHECK_HDR_F_RSC_INFO) && f->csum_start > 0) {
        return f->csum_start;
    }
    return 1;
}

/* A delivered data frame, its sequence range relative to its flow's
 * first sent sequence number (wrap-safe as an offset). */
typedef struct {
    guint flow;
    guint32 off;
    guint32 len;
    gint64 time_ns;
} Span;

static gint compare_span(gconstpointer a, gconstpointer b)
{
    const Span *x = a, *y = b;

    if (x->flow != y->flow) {
        return x->flow < y->flow ? -1 : 1;
    }
    return x->off < y->off ? -1 : x->off > y->off;
}

/* The delivered frame of @flow holding offset @off, or NULL. */
static const Span *find_span(const GArray *spans, guint flow, guint32 off)
{
    guint lo = 0, hi = spans->len;

    /* First span with (flow, off) > the key, then step back one. */
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        const Span *s = &g_array_index(spans, Span, mid);

        if (s->flow < flow || (s->flow == flow && s->off <= off)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == 0) {
        return NULL;
    }
    {
        const Span *s = &g_array_index(spans, Span, lo - 1);

        if (s->flow == flow && off - s->off < s->len) {
            return s;
        }
    }
    return NULL;
}

static guint max_flow(const CheckView *v, guint so_far)
{
    for (guint i = 0; i < v->frames->len; i++) {
        const CheckFrame *f = &g_array_index(v->frames, CheckFrame, i);

        if (f->flow != CHECK_FLOW_NONE && f->flow + 1 > so_far) {
            so_far = f->flow + 1;
        }
    }
    return so_far;
}

/* Sent frames come in slot order, flow 0..n-1 within a slot (the
 * harness's cursor order): the k-th data segment belongs to slot k / n. */
static void sent_figures(const CheckView *sent, guint64 period_ns,
                         guint n_flows, SweepViewFigures *fig,
                         gint64 *ret_first, gint64 *ret_last)
{
    g_autoptr(GArray) lateness = g_array_new(FALSE, FALSE, sizeof(double));
    gint64 first = 0, prev = 0;
    guint64 k = 0;

    for (guint i = 0; i < sent->frames->len; i++) {
        const CheckFrame *f = &g_array_index(sent->frames, CheckFrame, i);
        gint64 ideal;
        double late;

        if (!is_data(f)) {
            continue;
        }
        if (k == 0) {
            first = prev = f->time_ns;
        }
        fig->segments_sent++;
        fig->bytes_sent += f->payload_len;
        fig->send_gap_max_us =
            MAX(fig->send_gap_max_us, (double)(f->time_ns - prev) / 1000.0);
        ideal = first + (gint64)((k / MAX(n_flows, 1)) * period_ns);
        late = (double)(f->time_ns - ideal) / 1000.0;
        g_array_append_val(lateness, late);
        prev = f->time_ns;
        k++;
    }
    g_array_sort(lateness, compare_double);
    fig->send_lateness_p99_us =
        sweep_percentile((double *)(void *)lateness->data, lateness->len, 99);
    *ret_first = first;
    *ret_last = prev;
}

void sweep_view_figures(const CheckView *sent, const CheckView *received,
                        guint64 period_ns, SweepViewFigures *ret_figures)
{
    SweepViewFigures fig = {0};
    guint n_flows = max_flow(received, max_flow(sent, 0));
    g_autofree guint32 *base = g_new0(guint32, MAX(n_flows, 1));
    g_autofree gboolean *has_base = g_new0(gboolean, MAX(n_flows, 1));
    g_autoptr(GArray) spans = g_array_new(FALSE, FALSE, sizeof(Span));
    g_autoptr(GArray) spf = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) lat = g_array_new(FALSE, FALSE, sizeof(double));
    guint64 segs_received = 0, segs_coalesced = 0;
    gint64 first = 0, last = 0;

    sent_figures(sent, period_ns, max_flow(sent, 0), &fig, &first, &last);
    for (guint i = 0; i < sent->frames->len; i++) {
        const CheckFrame *f = &g_array_index(sent->frames, CheckFrame, i);

        if (is_data(f) && !has_base[f->flow]) {
            base[f->flow] = f->seq;
            has_base[f->flow] = TRUE;
        }
    }
    for (guint i = 0; i < received->frames->len; i++) {
        const CheckFrame *f = &g_array_index(received->frames, CheckFrame, i);
        guint segs;
        double d;
        Span s;

        if (!is_data(f)) {
            continue;
        }
        segs = frame_segments(f);
        d = segs;
        fig.data_frames++;
        fig.bytes_delivered += f->payload_len;
        segs_received += segs;
        if (f->hdr_flags & CHECK_HDR_F_RSC_INFO) {
            fig.coalesced_frames++;
            segs_coalesced += segs;
        }
        g_array_append_val(spf, d);
        s.flow = f->flow;
        s.off = f->seq - base[f->flow];
        s.len = f->payload_len;
        s.time_ns = f->time_ns;
        g_array_append_val(spans, s);
    }
    g_array_sort(spans, compare_span);
    for (guint i = 0; i < sent->frames->len; i++) {
        const CheckFrame *f = &g_array_index(sent->frames, CheckFrame, i);
        const Span *s;
        double d;

        if (!is_data(f)) {
            continue;
        }
        s = find_span(spans, f->flow, f->seq - base[f->flow]);
        if (!s) {
            continue; /* lost: counted in bytes */
        }
        d = (double)(s->time_ns - f->time_ns) / 1000.0;
        g_array_append_val(lat, d);
    }
    g_array_sort(spf, compare_double);
    g_array_sort(lat, compare_double);
    if (fig.data_frames) {
        fig.spf_mean = (double)segs_received / (double)fig.data_frames;
    }
    fig.spf_p50 = sweep_percentile((double *)(void *)spf->data, spf->len, 50);
    fig.spf_p99 = sweep_percentile((double *)(void *)spf->data, spf->len, 99);
    if (segs_received) {
        fig.coalesced_share = (double)segs_coalesced / (double)segs_received;
    }
    fig.latency_p50_us =
        sweep_percentile((double *)(void *)lat->data, lat->len, 50);
    fig.latency_p99_us =
        sweep_percentile((double *)(void *)lat->data, lat->len, 99);
    fig.latency_max_us =
        sweep_percentile((double *)(void *)lat->data, lat->len, 100);
    if (fig.segments_sent) {
        double span_s = (double)(last - first + (gint64)period_ns) / 1e9;

        fig.frames_per_s = span_s > 0 ? (double)fig.data_frames / span_s : 0;
    }
    *ret_figures = fig;
}
