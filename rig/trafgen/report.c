/*
 * report.c - statistics and their human and JSON forms
 */
#include "trafgen/report.h"

#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

#include "output/output-file.h"

TrafgenReport *trafgen_report_new(guint flows, guint64 expected_samples)
{
    TrafgenReport *report = g_new0(TrafgenReport, 1);

    report->samples = g_array_sized_new(
        FALSE, FALSE, sizeof(TrafgenSample),
        (guint)MIN(expected_samples, (guint64)G_MAXUINT32 / 32));
    report->flows = g_array_new(FALSE, TRUE, sizeof(TrafgenFlowCounters));
    g_array_set_size(report->flows, flows);
    return report;
}

void trafgen_report_free(TrafgenReport *report)
{
    if (report == NULL) {
        return;
    }
    g_array_unref(report->samples);
    g_array_unref(report->flows);
    g_free(report->policy);
    g_free(report->late_policy);
    g_free(report->transport);
    g_free(report->pattern);
    g_free(report->notice);
    g_free(report);
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* nearest-rank percentile of sorted values */
static int64_t rank(const int64_t *sorted, size_t count, double fraction)
{
    size_t index = (size_t)(fraction * (double)count + 0.999999);

    index = index == 0 ? 0 : index - 1;
    return sorted[MIN(index, count - 1)];
}

void trafgen_percentiles_compute(int64_t *values, size_t count,
                                 TrafgenPercentiles *ret_percentiles)
{
    TrafgenPercentiles p = {0};
    double sum = 0;

    if (count > 0) {
        qsort(values, count, sizeof(values[0]), compare_i64);
        p.count = count;
        p.min_ns = values[0];
        p.max_ns = values[count - 1];
        p.p50_ns = rank(values, count, 0.50);
        p.p99_ns = rank(values, count, 0.99);
        p.p999_ns = rank(values, count, 0.999);
        for (size_t i = 0; i < count; i++) {
            sum += (double)values[i];
        }
        p.mean_ns = sum / (double)count;
    }
    *ret_percentiles = p;
}

void trafgen_report_compute(TrafgenReport *report)
{
    guint n = report->samples->len;
    guint flows = report->flows->len;
    g_autofree int64_t *lateness = g_new(int64_t, MAX(n, 1));
    g_autofree int64_t *gaps = g_new(int64_t, MAX(n, 1));
    g_autofree int64_t *errors = g_new(int64_t, MAX(n, 1));
    g_autofree int64_t *last = g_new(int64_t, MAX(flows, 1));
    size_t n_gaps = 0;
    double wall_s;

    for (guint f = 0; f < flows; f++) {
        last[f] = -1;
    }
    if (report->unpaced) {
        /* no grid: only the rate and the CPU mean something */
        n = 0;
    }
    report->gaps_over_rsc = 0;
    report->bursts = 0;
    for (guint i = 0; i < n; i++) {
        const TrafgenSample *s =
            &g_array_index(report->samples, TrafgenSample, i);

        lateness[i] = s->sent_ns - s->deadline_ns;
        if (s->flow < flows && last[s->flow] >= 0) {
            int64_t gap = s->sent_ns - last[s->flow];

            gaps[n_gaps] = gap;
            errors[n_gaps] = ABS(gap - report->period_ns);
            n_gaps++;
            if (report->rsc_interval_ns > 0 && gap > report->rsc_interval_ns) {
                report->gaps_over_rsc++;
            }
            if (gap < report->period_ns / 2) {
                report->bursts++;
            }
        }
        if (s->flow < flows) {
            last[s->flow] = s->sent_ns;
        }
    }
    trafgen_percentiles_compute(lateness, n, &report->lateness);
    trafgen_percentiles_compute(gaps, n_gaps, &report->gap);
    trafgen_percentiles_compute(errors, n_gaps, &report->gap_error);

    wall_s = (double)(report->end_ns - report->start_ns) / 1e9;
    if (wall_s > 0) {
        report->frames_per_s = (double)report->samples->len / wall_s;
        report->cpu_percent =
            100.0 * (report->cpu_user_s + report->cpu_system_s) / wall_s;
    }
}

static void print_percentiles(FILE *out, const char *name,
                              const TrafgenPercentiles *p)
{
    fprintf(out,
            "  %-10s p50 %9.3f  p99 %9.3f  p99.9 %9.3f  max %9.3f us  "
            "(n=%" G_GUINT64_FORMAT ")\n",
            name, (double)p->p50_ns / 1e3, (double)p->p99_ns / 1e3,
            (double)p->p999_ns / 1e3, (double)p->max_ns / 1e3, p->count);
}

void trafgen_report_print(const TrafgenReport *report, FILE *out)
{
    fprintf(out, "rsc-trafgen: %s on %s\n", report->pattern, report->transport);
    for (guint f = 0; f < report->flows->len; f++) {
        const TrafgenFlowCounters *c =
            &g_array_index(report->flows, TrafgenFlowCounters, f);

        fprintf(out,
                "  flow %u: %" G_GUINT64_FORMAT " frames, %" G_GUINT64_FORMAT
                " TCP segments, %" G_GUINT64_FORMAT " payload bytes\n",
                f, c->frames, c->segments, c->payload_bytes);
    }
    if (report->offline) {
        fprintf(out, "  offline: timestamps are the schedule\n");
        return;
    }
    fprintf(out, "  rate %.0f frames/s over %.3f s, CPU %.1f %% of a core\n",
            report->frames_per_s,
            (double)(report->end_ns - report->start_ns) / 1e9,
            report->cpu_percent);
    if (!report->unpaced) {
        print_percentiles(out, "lateness", &report->lateness);
        print_percentiles(out, "gap", &report->gap);
        print_percentiles(out, "gap error", &report->gap_error);
        fprintf(out,
                "  gaps > %.0f us: %" G_GUINT64_FORMAT
                "   bursts < %.0f us: %" G_GUINT64_FORMAT
                "   late slots: %" G_GUINT64_FORMAT
                " (policy %s, skipped %" G_GUINT64_FORMAT
                ", re-anchored %" G_GUINT64_FORMAT ")\n",
                (double)report->rsc_interval_ns / 1e3, report->gaps_over_rsc,
                (double)report->period_ns / 2e3, report->bursts,
                report->late_slots, report->late_policy, report->skipped_slots,
                report->reanchors);
    }
    if (report->dodge.enabled) {
        fprintf(out,
                "  stall dodging: %" G_GUINT64_FORMAT
                " probes saw %" G_GUINT64_FORMAT " stalls; %" G_GUINT64_FORMAT
                " moves, offset at most %.1f us, %.1f us at the end; "
                "%" G_GUINT64_FORMAT " probes found no clear offset\n",
                report->dodge.stats.probes, report->dodge.stats.stalls_seen,
                report->dodge.stats.moves,
                (double)report->dodge.stats.max_abs_offset_ns / 1e3,
                (double)report->dodge.offset_ns / 1e3,
                report->dodge.stats.unavoidable);
    }
    fprintf(out, "  scheduling %s, guard %.1f us%s%s\n", report->policy,
            (double)report->guard_ns / 1e3,
            report->notice && report->notice[0] ? "; notice: " : "",
            report->notice ? report->notice : "");
}

static void add_percentiles(JsonBuilder *b, const char *name,
                            const TrafgenPercentiles *p)
{
    json_builder_set_member_name(b, name);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "count");
    json_builder_add_int_value(b, (gint64)p->count);
    json_builder_set_member_name(b, "p50_ns");
    json_builder_add_int_value(b, p->p50_ns);
    json_builder_set_member_name(b, "p99_ns");
    json_builder_add_int_value(b, p->p99_ns);
    json_builder_set_member_name(b, "p999_ns");
    json_builder_add_int_value(b, p->p999_ns);
    json_builder_set_member_name(b, "max_ns");
    json_builder_add_int_value(b, p->max_ns);
    json_builder_set_member_name(b, "min_ns");
    json_builder_add_int_value(b, p->min_ns);
    json_builder_set_member_name(b, "mean_ns");
    json_builder_add_double_value(b, p->mean_ns);
    json_builder_end_object(b);
}

static void add_int(JsonBuilder *b, const char *name, gint64 value)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, value);
}

static void add_string(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    json_builder_add_string_value(b, value ? value : "");
}

gboolean trafgen_report_write_json(const TrafgenReport *report,
                                   const char *path, GError **error)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *body = NULL;
    g_autofree char *text = NULL;

    json_builder_begin_object(b);
    add_string(b, "pattern", report->pattern);
    add_string(b, "transport", report->transport);
    add_string(b, "scheduling", report->policy);
    add_string(b, "late_policy", report->late_policy);
    add_string(b, "notice", report->notice);
    json_builder_set_member_name(b, "unpaced");
    json_builder_add_boolean_value(b, report->unpaced);
    json_builder_set_member_name(b, "offline");
    json_builder_add_boolean_value(b, report->offline);
    add_int(b, "period_ns", report->period_ns);
    add_int(b, "rsc_interval_ns", report->rsc_interval_ns);
    add_int(b, "guard_ns", report->guard_ns);
    add_int(b, "duration_ns", report->end_ns - report->start_ns);
    add_int(b, "frames", report->samples->len);
    json_builder_set_member_name(b, "frames_per_s");
    json_builder_add_double_value(b, report->frames_per_s);
    json_builder_set_member_name(b, "cpu_percent");
    json_builder_add_double_value(b, report->cpu_percent);
    json_builder_set_member_name(b, "cpu_user_s");
    json_builder_add_double_value(b, report->cpu_user_s);
    json_builder_set_member_name(b, "cpu_system_s");
    json_builder_add_double_value(b, report->cpu_system_s);
    add_int(b, "late_slots", (gint64)report->late_slots);
    add_int(b, "skipped_slots", (gint64)report->skipped_slots);
    add_int(b, "reanchors", (gint64)report->reanchors);
    add_int(b, "gaps_over_rsc_interval", (gint64)report->gaps_over_rsc);
    add_int(b, "bursts_below_half_period", (gint64)report->bursts);
    add_int(b, "send_errors", (gint64)report->send_errors);
    json_builder_set_member_name(b, "stall_dodging");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "enabled");
    json_builder_add_boolean_value(b, report->dodge.enabled);
    add_int(b, "probes", (gint64)report->dodge.stats.probes);
    add_int(b, "stalls_seen", (gint64)report->dodge.stats.stalls_seen);
    add_int(b, "moves", (gint64)report->dodge.stats.moves);
    add_int(b, "max_abs_offset_ns", report->dodge.stats.max_abs_offset_ns);
    add_int(b, "offset_ns", report->dodge.offset_ns);
    add_int(b, "unavoidable", (gint64)report->dodge.stats.unavoidable);
    json_builder_end_object(b);
    add_percentiles(b, "lateness", &report->lateness);
    add_percentiles(b, "gap", &report->gap);
    add_percentiles(b, "gap_error", &report->gap_error);
    json_builder_set_member_name(b, "flows");
    json_builder_begin_array(b);
    for (guint f = 0; f < report->flows->len; f++) {
        const TrafgenFlowCounters *c =
            &g_array_index(report->flows, TrafgenFlowCounters, f);

        json_builder_begin_object(b);
        add_int(b, "flow", f);
        add_int(b, "frames", (gint64)c->frames);
        add_int(b, "segments", (gint64)c->segments);
        add_int(b, "payload_bytes", (gint64)c->payload_bytes);
        add_int(b, "wire_bytes", (gint64)c->wire_bytes);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);

    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    body = json_generator_to_data(gen, NULL);
    text = g_strconcat(body, "\n", NULL);
    return rig_output_write(path, text, strlen(text), error);
}
