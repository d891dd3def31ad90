/*
 * The human summary `rig run` prints at the end: one line per check, the
 * expected and observed values of every check that did not pass, then a
 * one-line verdict.
 */
#include "harness/report.h"

void report_print_table(const Report *report, FILE *out)
{
    guint counts[CHECK_SKIP + 1] = {0};
    ReportVerdict verdict = report_verdict(report);
    g_autofree char *verdict_up = NULL;

    fprintf(out, "%-34s %-20s %-6s %s\n", "SCENARIO", "CHECK", "STATUS",
            "OBSERVED");
    for (guint i = 0; i < report->scenarios->len; i++) {
        const ReportScenario *s = g_ptr_array_index(report->scenarios, i);
        g_autofree char *label = g_strdup_printf("%s/%s", s->profile, s->name);

        if (s->error) {
            fprintf(out, "%-34s %-20s %-6s %s\n", label, "-", "ERROR",
                    s->error);
            continue;
        }
        for (guint j = 0; j < s->checks->len; j++) {
            const CheckResult *c = g_ptr_array_index(s->checks, j);
            g_autofree char *status =
                g_ascii_strup(check_status_name(c->status), -1);

            counts[c->status]++;
            fprintf(out, "%-34s %-20s %-6s %s\n", label, c->name, status,
                    c->observed);
            if (c->status != CHECK_PASS) {
                fprintf(out, "%-34s %-20s %-6s   expected: %s\n", "", "", "",
                        c->expected);
                if (c->detail) {
                    fprintf(out, "%-34s %-20s %-6s   %s\n", "", "", "",
                            c->detail);
                }
            }
        }
    }
    if (report->error) {
        fprintf(out, "error: %s\n", report->error);
    }
    verdict_up = g_ascii_strup(report_verdict_name(verdict), -1);
    fprintf(out,
            "verdict: %s (%u scenarios; checks: %u passed, %u failed, %u "
            "known failures, %u unexpectedly passed, %u skipped) in %.1f s\n",
            verdict_up, report->scenarios->len, counts[CHECK_PASS],
            counts[CHECK_FAIL], counts[CHECK_XFAIL], counts[CHECK_XPASS],
            counts[CHECK_SKIP], report->duration_s);
}
