/*
 * The sweep result model, its statistics and the recommendation.
 */
#include "sweep/result.h"

#include <math.h>

#include "rig-config.h"

void sweep_sample_clear(SweepSample *sample)
{
    g_clear_pointer(&sample->checks_failed, g_strfreev);
}

static void sample_clear_func(gpointer data)
{
    sweep_sample_clear(data);
}

SweepResult *sweep_result_new(const SweepPoint *point, guint count)
{
    SweepResult *r = g_new0(SweepResult, 1);

    r->point = *point;
    r->count = count;
    r->samples = g_array_new(FALSE, TRUE, sizeof(SweepSample));
    g_array_set_clear_func(r->samples, sample_clear_func);
    return r;
}

void sweep_result_free(SweepResult *result)
{
    if (!result) {
        return;
    }
    g_array_unref(result->samples);
    g_free(result->error);
    g_free(result);
}

/* Two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom. */
static const double T95[] = {
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
};

void sweep_result_stat(const SweepResult *result, SweepMetricId metric,
                       SweepStat *ret_stat)
{
    SweepStat st = {0};
    double sum = 0, sq = 0;
    guint n = result->samples->len;

    for (guint i = 0; i < n; i++) {
        sum += g_array_index(result->samples, SweepSample, i).m[metric];
    }
    st.n = n;
    st.mean = n ? sum / n : 0;
    if (n >= 2) {
        double t = n - 1 <= G_N_ELEMENTS(T95) ? T95[n - 2] : 1.960;

        for (guint i = 0; i < n; i++) {
            double d =
                g_array_index(result->samples, SweepSample, i).m[metric] -
                st.mean;

            sq += d * d;
        }
        st.ci95 = t * sqrt(sq / (n - 1)) / sqrt((double)n);
    }
    *ret_stat = st;
}

SweepReport *sweep_report_new(SweepGrid *grid)
{
    SweepReport *r = g_new0(SweepReport, 1);

    r->rig_version = g_strdup(RIG_VERSION);
    r->interval_writable = -1;
    r->grid = grid;
    r->repeat = 1;
    r->points = sweep_grid_expand(grid);
    r->results =
        g_ptr_array_new_with_free_func((GDestroyNotify)sweep_result_free);
    g_ptr_array_set_size(r->results, r->points->len);
    r->runs = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    return r;
}

void sweep_report_free(SweepReport *report)
{
    if (!report) {
        return;
    }
    g_free(report->rig_version);
    g_free(report->profile_name);
    g_free(report->profile_path);
    g_free(report->profile_sha256);
    g_free(report->qemu_path);
    g_free(report->qemu_version);
    g_free(report->qemu_series_hash);
    sweep_grid_free(report->grid);
    g_array_unref(report->points);
    g_ptr_array_unref(report->results);
    g_ptr_array_unref(report->runs);
    g_free(report);
}

void sweep_report_set_result(SweepReport *report, SweepResult *result)
{
    guint i = result->point.index;

    g_return_if_fail(i < report->results->len);
    sweep_result_free(report->results->pdata[i]);
    report->results->pdata[i] = result;
}

void sweep_report_shard_range(const SweepReport *report, guint *ret_from,
                              guint *ret_to)
{
    if (report->shard_count == 0) {
        *ret_from = 0;
        *ret_to = report->points->len;
        return;
    }
    sweep_shard_range(report->points->len, report->shard_index,
                      report->shard_count, ret_from, ret_to);
}

gboolean sweep_report_is_complete(const SweepReport *report)
{
    guint from, to;

    sweep_report_shard_range(report, &from, &to);
    for (guint i = from; i < to; i++) {
        if (!report->results->pdata[i]) {
            return FALSE;
        }
    }
    return TRUE;
}

/* The finished baseline (RSC off) of @p's group, or NULL. */
static const SweepResult *baseline_of(const SweepReport *report,
                                      const SweepPoint *p)
{
    for (guint i = 0; i < report->points->len; i++) {
        const SweepPoint *q = &g_array_index(report->points, SweepPoint, i);
        const SweepResult *r = report->results->pdata[i];

        if (q->interval_us == SWEEP_INTERVAL_OFF && q->clock == p->clock &&
            q->period_us == p->period_us && q->flows == p->flows &&
            q->payload == p->payload) {
            return r && !r->error && r->samples->len ? r : NULL;
        }
    }
    return NULL;
}

gboolean sweep_report_reduction(const SweepReport *report,
                                const SweepResult *result,
                                double *ret_reduction)
{
    const SweepResult *base;
    SweepStat on, off;

    if (result->point.interval_us == SWEEP_INTERVAL_OFF || result->error ||
        !result->samples->len) {
        return FALSE;
    }
    base = baseline_of(report, &result->point);
    if (!base) {
        return FALSE;
    }
    sweep_result_stat(result, SWEEP_M_FRAMES_PER_S, &on);
    sweep_result_stat(base, SWEEP_M_FRAMES_PER_S, &off);
    if (off.mean <= 0) {
        return FALSE;
    }
    *ret_reduction = 1.0 - on.mean / off.mean;
    return TRUE;
}

/* A point counts for the recommendation when it ran and lost nothing. */
static gboolean usable(const SweepResult *r)
{
    SweepStat lost;

    if (!r || r->error || !r->samples->len ||
        r->point.interval_us == SWEEP_INTERVAL_OFF) {
        return FALSE;
    }
    sweep_result_stat(r, SWEEP_M_BYTES_LOST, &lost);
    return lost.mean == 0;
}

static void recommend_one(const SweepReport *report, guint from, guint to,
                          SweepRecommendation *rec)
{
    for (guint i = from; i < to; i++) {
        const SweepResult *r = report->results->pdata[i];
        SweepStat share, spf, p99;

        if (!usable(r)) {
            continue;
        }
        sweep_result_stat(r, SWEEP_M_COALESCED_SHARE, &share);
        sweep_result_stat(r, SWEEP_M_SPF_MEAN, &spf);
        sweep_result_stat(r, SWEEP_M_LATENCY_P99_US, &p99);
        /* Intervals ascend within a group: the first that meets the bar
         * is the smallest. */
        if (!rec->hlk_interval_us && share.mean >= SWEEP_HLK_SHARE_BAR) {
            rec->hlk_interval_us = r->point.interval_us;
            rec->hlk_share = share.mean;
        }
        if (report->max_latency_us &&
            p99.mean <= (double)report->max_latency_us &&
            spf.mean > rec->latency_spf) {
            rec->latency_interval_us = r->point.interval_us;
            rec->latency_spf = spf.mean;
            rec->latency_p99_us = p99.mean;
        }
    }
}

GArray *sweep_recommend(const SweepReport *report)
{
    GArray *recs = g_array_new(FALSE, TRUE, sizeof(SweepRecommendation));
    guint i = 0;

    while (i < report->points->len) {
        const SweepPoint *p = &g_array_index(report->points, SweepPoint, i);
        SweepRecommendation rec = {
            .clock = p->clock,
            .period_us = p->period_us,
            .flows = p->flows,
            .payload = p->payload,
        };
        gboolean any = FALSE;
        guint j = i;

        /* A group: the baseline and the intervals of one coordinate. */
        while (j < report->points->len) {
            const SweepPoint *q = &g_array_index(report->points, SweepPoint, j);

            if (q->clock != p->clock || q->period_us != p->period_us ||
                q->flows != p->flows || q->payload != p->payload) {
                break;
            }
            any |= usable(report->results->pdata[j]);
            j++;
        }
        if (any) {
            recommend_one(report, i, j, &rec);
            g_array_append_val(recs, rec);
        }
        i = j;
    }
    return recs;
}
