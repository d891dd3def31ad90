/*
 * sweep.csv: one line per finished point (RFC 4180 quoting for the error
 * text, numbers with '.' whatever the locale).
 */
#include <string.h>

#include "sweep/result.h"

static void csv_string(GString *out, const char *s)
{
    if (!s) {
        return;
    }
    g_string_append_c(out, '"');
    for (const char *c = s; *c; c++) {
        if (*c == '"') {
            g_string_append_c(out, '"');
        }
        g_string_append_c(out, *c == '\n' || *c == '\r' ? ' ' : *c);
    }
    g_string_append_c(out, '"');
}

static void csv_double(GString *out, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    g_string_append(out, g_ascii_formatd(buf, sizeof(buf), "%.6g", v));
}

char *sweep_report_to_csv(const SweepReport *report)
{
    GString *out = g_string_new("index,clock,rsc,interval_us,period_us,flows,"
                                "payload,count,repeats,error,"
                                "frames_reduction_vs_rsc_off");

    for (guint m = 0; m < SWEEP_N_METRICS; m++) {
        const char *name = sweep_metric_info(m)->name;

        g_string_append_printf(out, ",%s,%s_ci95", name, name);
    }
    g_string_append(out, "\r\n");
    for (guint i = 0; i < report->results->len; i++) {
        const SweepResult *r = report->results->pdata[i];
        const SweepPoint *p;
        double reduction;

        if (!r) {
            continue;
        }
        p = &r->point;
        g_string_append_printf(out, "%u,%s,%s,", p->index,
                               sweep_clock_name(p->clock),
                               p->interval_us ? "on" : "off");
        if (p->interval_us) {
            g_string_append_printf(out, "%u", p->interval_us);
        }
        g_string_append_printf(out, ",%u,%u,%u,%u,%u,", p->period_us, p->flows,
                               p->payload, r->count, r->samples->len);
        csv_string(out, r->error);
        g_string_append_c(out, ',');
        if (sweep_report_reduction(report, r, &reduction)) {
            csv_double(out, reduction);
        }
        for (guint m = 0; m < SWEEP_N_METRICS; m++) {
            SweepStat st;

            sweep_result_stat(r, m, &st);
            g_string_append_c(out, ',');
            csv_double(out, st.mean);
            g_string_append_c(out, ',');
            csv_double(out, st.ci95);
        }
        g_string_append(out, "\r\n");
    }
    return g_string_free(out, FALSE);
}
