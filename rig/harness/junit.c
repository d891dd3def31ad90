/*
 * JUnit XML writer: the de facto format GitLab and Jenkins read
 * (testsuites > testsuite > testcase with failure / error / skipped).
 * Text goes through xml_escape(); nothing else is escaped.
 */
#include "harness/report.h"

#include <string.h>

#include "output/output-file.h"

/*
 * XML 1.0 allows neither the C0 controls other than tab, LF and CR, nor
 * U+FFFE/U+FFFF, not even as character references (which is what
 * g_markup_escape_text() makes of them): CI's JUnit readers reject the
 * whole file.  Such characters (from a profile or scenario name, QEMU's
 * output, ...) and bytes that are not UTF-8 become U+FFFD.
 */
static char *xml_escape(const char *text)
{
    g_autoptr(GString) clean = g_string_sized_new(strlen(text));
    const char *p = text;

    while (*p) {
        gunichar c = g_utf8_get_char_validated(p, -1);

        if (c == (gunichar)-1 || c == (gunichar)-2) {
            g_string_append_unichar(clean, 0xFFFD);
            p++;
            continue;
        }
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0xFFFE ||
            c == 0xFFFF) {
            g_string_append_unichar(clean, 0xFFFD);
        } else {
            g_string_append_unichar(clean, c);
        }
        p = g_utf8_next_char(p);
    }
    return g_markup_escape_text(clean->str, -1);
}

static void append_escaped_attr(GString *out, const char *name,
                                const char *value)
{
    g_autofree char *esc = xml_escape(value ? value : "");

    g_string_append_printf(out, " %s=\"%s\"", name, esc);
}

static char *check_message(const CheckResult *c)
{
    return g_strdup_printf("expected: %s; observed: %s%s%s", c->expected,
                           c->observed, c->detail ? "; " : "",
                           c->detail ? c->detail : "");
}

static void append_testcase(GString *out, const ReportScenario *s,
                            const CheckResult *c, double time_s)
{
    g_autofree char *classname = g_strdup_printf("%s.%s", s->profile, s->name);
    g_autofree char *msg = check_message(c);
    g_autofree char *esc_msg = xml_escape(msg);

    g_string_append(out, "    <testcase");
    append_escaped_attr(out, "classname", classname);
    append_escaped_attr(out, "name", c->name);
    g_string_append_printf(out, " time=\"%.3f\">\n", time_s);
    switch (c->status) {
    case CHECK_FAIL:
        g_string_append(out, "      <failure");
        append_escaped_attr(out, "message", msg);
        append_escaped_attr(out, "type", "check");
        g_string_append_printf(out, ">%s</failure>\n", esc_msg);
        break;
    case CHECK_SKIP:
    case CHECK_XFAIL:
        g_string_append(out, "      <skipped");
        append_escaped_attr(out, "message",
                            c->status == CHECK_XFAIL ? "known failure (xfail)"
                                                     : "skipped");
        g_string_append_printf(out, ">%s</skipped>\n", esc_msg);
        break;
    case CHECK_PASS:
    case CHECK_XPASS:
    default:
        g_string_append_printf(out, "      <system-out>%s: %s</system-out>\n",
                               check_status_name(c->status), esc_msg);
        break;
    }
    g_string_append(out, "    </testcase>\n");
}

static void append_property(GString *out, const char *name, const char *value)
{
    g_string_append(out, "      <property");
    append_escaped_attr(out, "name", name);
    append_escaped_attr(out, "value", value ? value : "unknown");
    g_string_append(out, "/>\n");
}

/* Which QEMU build a suite ran on: CI dashboards show these properties. */
static void append_qemu_properties(GString *out, const QemuBuild *qemu)
{
    g_autofree char *patches =
        qemu && qemu->patches ? g_strjoinv(" ", qemu->patches) : NULL;

    append_property(out, "qemu", qemu ? qemu->path : NULL);
    append_property(out, "qemu_build",
                    qemu ? qemu_build_kind_name(qemu->kind) : NULL);
    append_property(out, "qemu_version", qemu ? qemu->version : NULL);
    append_property(out, "qemu_debian_version",
                    qemu ? qemu->debian_version : NULL);
    append_property(out, "qemu_patch_series_hash",
                    qemu ? qemu->series_hash : NULL);
    append_property(out, "qemu_patches", patches);
}

static void append_suite(GString *out, const Report *report,
                         const ReportProfile *p)
{
    guint tests = 0, failures = 0, errors = 0, skipped = 0;
    double time_s = 0.0;
    g_autoptr(GString) body = g_string_new(NULL);

    for (guint i = 0; i < report->scenarios->len; i++) {
        const ReportScenario *s = g_ptr_array_index(report->scenarios, i);
        double per_check;

        if (!g_str_equal(s->profile, p->name)) {
            continue;
        }
        time_s += s->duration_s;
        if (s->error || s->checks->len == 0) {
            g_autofree char *classname =
                g_strdup_printf("%s.%s", s->profile, s->name);
            const char *why = s->error ? s->error : "scenario did not run";
            g_autofree char *esc = xml_escape(why);

            tests++;
            errors++;
            g_string_append(body, "    <testcase");
            append_escaped_attr(body, "classname", classname);
            append_escaped_attr(body, "name", "run");
            g_string_append_printf(body, " time=\"%.3f\">\n", s->duration_s);
            g_string_append(body, "      <error");
            append_escaped_attr(body, "message", why);
            g_string_append_printf(body, ">%s</error>\n    </testcase>\n", esc);
            continue;
        }
        per_check = s->duration_s / s->checks->len;
        for (guint j = 0; j < s->checks->len; j++) {
            const CheckResult *c = g_ptr_array_index(s->checks, j);

            tests++;
            failures += c->status == CHECK_FAIL;
            skipped += c->status == CHECK_SKIP || c->status == CHECK_XFAIL;
            append_testcase(body, s, c, per_check);
        }
    }
    g_string_append(out, "  <testsuite");
    append_escaped_attr(out, "name", p->name);
    g_string_append_printf(out,
                           " tests=\"%u\" failures=\"%u\" errors=\"%u\" "
                           "skipped=\"%u\" time=\"%.3f\">\n",
                           tests, failures, errors, skipped, time_s);
    g_string_append(out, "    <properties>\n");
    g_string_append(out, "      <property name=\"profile\"");
    append_escaped_attr(out, "value", p->path);
    g_string_append(out, "/>\n      <property name=\"profile_sha256\"");
    append_escaped_attr(out, "value", p->sha256);
    g_string_append(out, "/>\n      <property name=\"clock\"");
    append_escaped_attr(out, "value", profile_clock_name(p->clock));
    g_string_append(out, "/>\n");
    append_qemu_properties(out, p->qemu);
    g_string_append(out, "    </properties>\n");
    g_string_append(out, body->str);
    g_string_append(out, "  </testsuite>\n");
}

char *report_to_junit(const Report *report)
{
    GString *out = g_string_new("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");

    g_string_append(out, "<testsuites");
    append_escaped_attr(out, "name", "rig run");
    g_string_append_printf(out, " time=\"%.3f\">\n", report->duration_s);
    for (guint i = 0; i < report->profiles->len; i++) {
        append_suite(out, report, g_ptr_array_index(report->profiles, i));
    }
    if (report->error) {
        g_autofree char *esc = xml_escape(report->error);

        g_string_append(out, "  <testsuite name=\"rig\" tests=\"1\" "
                             "failures=\"0\" errors=\"1\" skipped=\"0\">\n");
        g_string_append(out, "    <testcase classname=\"rig\" name=\"run\">\n"
                             "      <error");
        append_escaped_attr(out, "message", report->error);
        g_string_append_printf(out,
                               ">%s</error>\n    </testcase>\n"
                               "  </testsuite>\n",
                               esc);
    }
    g_string_append(out, "</testsuites>\n");
    return g_string_free(out, FALSE);
}

gboolean report_write_junit(const Report *report, const char *path,
                            GError **error)
{
    g_autofree char *xml = report_to_junit(report);

    return rig_output_write(path, xml, strlen(xml), error);
}
