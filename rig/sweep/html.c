/*
 * index.html and the printed recommendation of `rig sweep`.
 */
#include <string.h>

#include "sweep/outputs.h"

static char *group_name(SweepClock clock, guint period_us, guint flows,
                        guint payload)
{
    return g_strdup_printf("%s clock, period %u us, %u flow%s, %u-byte "
                           "segments",
                           sweep_clock_name(clock), period_us, flows,
                           flows == 1 ? "" : "s", payload);
}

char *sweep_recommendation_text(const SweepReport *report)
{
    g_autoptr(GArray) recs = sweep_recommend(report);
    GString *out = g_string_new(NULL);

    for (guint i = 0; i < recs->len; i++) {
        const SweepRecommendation *x =
            &g_array_index(recs, SweepRecommendation, i);
        g_autofree char *g =
            group_name(x->clock, x->period_us, x->flows, x->payload);

        if (x->hlk_interval_us) {
            g_string_append_printf(out,
                                   "%s: smallest rsc_interval meeting the "
                                   "HLK bar (>= %.0f %% coalesced): %u us "
                                   "(%.1f %%)\n",
                                   g, SWEEP_HLK_SHARE_BAR * 100,
                                   x->hlk_interval_us, x->hlk_share * 100);
        } else {
            g_string_append_printf(out,
                                   "%s: no rsc_interval of the grid meets "
                                   "the HLK bar (>= %.0f %% coalesced, no "
                                   "byte lost)\n",
                                   g, SWEEP_HLK_SHARE_BAR * 100);
        }
        if (!report->max_latency_us) {
            continue;
        }
        if (x->latency_interval_us) {
            g_string_append_printf(out,
                                   "%s: most coalescing with latency p99 <= "
                                   "%u us: %u us (%.2f segments per frame, "
                                   "p99 %.0f us)\n",
                                   g, report->max_latency_us,
                                   x->latency_interval_us, x->latency_spf,
                                   x->latency_p99_us);
        } else {
            g_string_append_printf(out,
                                   "%s: no rsc_interval of the grid keeps "
                                   "latency p99 <= %u us\n",
                                   g, report->max_latency_us);
        }
    }
    return g_string_free(out, FALSE);
}

static void html_escaped(GString *out, const char *text)
{
    g_autofree char *e = g_markup_escape_text(text ? text : "", -1);

    g_string_append(out, e);
}

static void html_summary(GString *out, const SweepReport *r)
{
    guint done = 0;

    for (guint i = 0; i < r->results->len; i++) {
        done += r->results->pdata[i] != NULL;
    }
    g_string_append(out, "<table class=\"meta\">\n<tr><th>profile</th><td>");
    html_escaped(out, r->profile_name);
    g_string_append(out, " (");
    html_escaped(out, r->profile_path);
    g_string_append(out, ")</td></tr>\n<tr><th>QEMU</th><td>");
    html_escaped(out, r->qemu_path);
    g_string_append(out, " ");
    html_escaped(out, r->qemu_version);
    g_string_append_printf(out,
                           "; rsc_interval writable on a running VM: %s"
                           "</td></tr>\n",
                           r->interval_writable < 0 ? "unknown"
                           : r->interval_writable   ? "yes (one VM per group)"
                                                    : "no (one VM per point)");
    g_string_append_printf(out,
                           "<tr><th>points</th><td>%u of %u%s, %u "
                           "repeat%s each</td></tr>\n</table>\n",
                           done, r->points->len,
                           sweep_report_is_complete(r) ? "" : " (incomplete)",
                           r->repeat, r->repeat == 1 ? "" : "s");
}

static void html_recommendation(GString *out, const SweepReport *r)
{
    g_autofree char *text = sweep_recommendation_text(r);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

    g_string_append(out, "<h2>Recommendation</h2>\n<ul class=\"rec\">\n");
    for (guint i = 0; lines[i]; i++) {
        if (lines[i][0]) {
            g_string_append(out, "<li>");
            html_escaped(out, lines[i]);
            g_string_append(out, "</li>\n");
        }
    }
    g_string_append(out, "</ul>\n");
}

static void html_plots(GString *out)
{
    static const char *const plots[] = SWEEP_PLOTS;

    g_string_append(out, "<h2>Plots</h2>\n<div class=\"plots\">\n");
    for (guint i = 0; plots[i]; i++) {
        g_string_append_printf(out,
                               "<a href=\"%s.svg\"><img src=\"%s.png\" "
                               "alt=\"%s\" width=\"720\"></a>\n",
                               plots[i], plots[i], plots[i]);
    }
    g_string_append(out, "</div>\n");
}

static const SweepMetricId TABLE_METRICS[] = {
    SWEEP_M_SPF_MEAN,
    SWEEP_M_PRED_SPF_MEAN,
    SWEEP_M_SPF_P99,
    SWEEP_M_COALESCED_SHARE,
    SWEEP_M_LATENCY_P50_US,
    SWEEP_M_LATENCY_P99_US,
    SWEEP_M_LATENCY_MAX_US,
    SWEEP_M_FRAMES_PER_S,
    SWEEP_M_QEMU_CPU_PER_SEGMENT_US,
    SWEEP_M_BYTES_LOST,
};

static void html_table(GString *out, const SweepReport *r)
{
    g_string_append(out, "<h2>Points</h2>\n<table class=\"points\">\n<tr>"
                         "<th>clock</th><th>period us</th><th>flows</th>"
                         "<th>payload</th><th>rsc_interval us</th>");
    for (guint i = 0; i < G_N_ELEMENTS(TABLE_METRICS); i++) {
        const SweepMetricInfo *m = sweep_metric_info(TABLE_METRICS[i]);

        g_string_append(out, "<th title=\"");
        html_escaped(out, m->what);
        g_string_append(out, "\">");
        html_escaped(out, m->name);
        g_string_append(out, "</th>");
    }
    g_string_append(out, "<th>frames/s reduction</th><th>error / failed "
                         "checks</th></tr>\n");
    for (guint i = 0; i < r->results->len; i++) {
        const SweepResult *res = r->results->pdata[i];
        const SweepPoint *p;
        double reduction;

        if (!res) {
            continue;
        }
        p = &res->point;
        g_string_append_printf(out,
                               "<tr><td>%s</td><td>%u</td><td>%u</td>"
                               "<td>%u</td>",
                               sweep_clock_name(p->clock), p->period_us,
                               p->flows, p->payload);
        if (p->interval_us) {
            g_string_append_printf(out, "<td>%u</td>", p->interval_us);
        } else {
            g_string_append(out, "<td>RSC off</td>");
        }
        for (guint k = 0; k < G_N_ELEMENTS(TABLE_METRICS); k++) {
            SweepStat st;

            sweep_result_stat(res, TABLE_METRICS[k], &st);
            if (st.n > 1) {
                g_string_append_printf(out, "<td>%.3g &plusmn; %.2g</td>",
                                       st.mean, st.ci95);
            } else {
                g_string_append_printf(out, "<td>%.3g</td>", st.mean);
            }
        }
        if (sweep_report_reduction(r, res, &reduction)) {
            g_string_append_printf(out, "<td>%.1f %%</td>", reduction * 100);
        } else {
            g_string_append(out, "<td></td>");
        }
        g_string_append(out, "<td>");
        if (res->error) {
            html_escaped(out, res->error);
        }
        for (guint k = 0; k < res->samples->len; k++) {
            const SweepSample *s = &g_array_index(res->samples, SweepSample, k);

            for (guint c = 0; s->checks_failed && s->checks_failed[c]; c++) {
                g_string_append(out, " ");
                html_escaped(out, s->checks_failed[c]);
            }
        }
        g_string_append(out, "</td></tr>\n");
    }
    g_string_append(out, "</table>\n");
}

char *sweep_report_to_html(const SweepReport *r)
{
    GString *out = g_string_new(NULL);

    g_string_append(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                         "<meta charset=\"utf-8\">\n<title>rig sweep: ");
    html_escaped(out, r->profile_name);
    g_string_append(out,
                    "</title>\n<style>\n"
                    "body { font-family: sans-serif; margin: 1.5em; }\n"
                    "table { border-collapse: collapse; font-size: 0.85em; }\n"
                    "th, td { border: 1px solid #bbb; padding: 2px 6px; "
                    "text-align: right; }\n"
                    "table.meta th, table.meta td { text-align: left; }\n"
                    ".plots img { border: 1px solid #ddd; margin: 4px; }\n"
                    "</style>\n</head>\n<body>\n<h1>rig sweep: ");
    html_escaped(out, r->profile_name);
    g_string_append(out, "</h1>\n");
    html_summary(out, r);
    html_recommendation(out, r);
    html_plots(out);
    html_table(out, r);
    g_string_append(out, "<p>Data: <a href=\"sweep.json\">sweep.json</a>, "
                         "<a href=\"sweep.csv\">sweep.csv</a>.</p>\n"
                         "</body>\n</html>\n");
    return g_string_free(out, FALSE);
}
