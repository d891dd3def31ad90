/*
 * The run report model and its verdict.  The verdict is derived, never
 * stored, so that a partial report written mid-run can not claim "pass".
 */
#include "harness/report.h"

#include "rig-config.h"

static void report_profile_free(gpointer data)
{
    ReportProfile *p = data;

    g_free(p->name);
    g_free(p->path);
    g_free(p->sha256);
    g_free(p->guest_features);
    g_free(p->clock_fallback);
    g_clear_pointer(&p->qemu_capabilities, json_node_unref);
    qemu_build_free(p->qemu);
    g_free(p->oracle_fixes);
    g_free(p->unknown_fix_patches);
    g_free(p);
}

static void report_scenario_free(gpointer data)
{
    ReportScenario *s = data;

    g_free(s->profile);
    g_free(s->name);
    g_free(s->family);
    g_free(s->qemu_build);
    g_free(s->fixed_by);
    g_free(s->pattern);
    g_free(s->error);
    g_free(s->trace_file);
    g_clear_pointer(&s->trace, g_ptr_array_unref);
    check_scenario_free(s->views);
    g_ptr_array_unref(s->checks);
    g_free(s);
}

Report *report_new(void)
{
    Report *r = g_new0(Report, 1);

    r->rig_version = g_strdup(RIG_VERSION);
    r->started_unix_us = g_get_real_time();
    r->profiles = g_ptr_array_new_with_free_func(report_profile_free);
    r->scenarios = g_ptr_array_new_with_free_func(report_scenario_free);
    return r;
}

void report_free(Report *report)
{
    if (!report) {
        return;
    }
    g_free(report->rig_version);
    qemu_build_free(report->qemu);
    g_clear_pointer(&report->qemu_capabilities, json_node_unref);
    g_free(report->error);
    g_ptr_array_unref(report->profiles);
    g_ptr_array_unref(report->scenarios);
    g_free(report);
}

ReportProfile *report_add_profile(Report *report, const Profile *profile)
{
    ReportProfile *p = g_new0(ReportProfile, 1);

    p->name = g_strdup(profile->name);
    p->path = g_strdup(profile->path);
    p->sha256 = g_strdup(profile->sha256);
    p->clock = profile->clock;
    p->rsc_interval_us = profile->rsc_interval_us;
    p->guest_features = g_strdup(profile->guest_features);
    g_ptr_array_add(report->profiles, p);
    return p;
}

void report_set_profile_qemu(Report *report, ReportProfile *profile,
                             const QemuBuild *build)
{
    qemu_build_free(profile->qemu);
    profile->qemu = qemu_build_copy(build);
    if (!report->qemu || g_ptr_array_index(report->profiles, 0) == profile) {
        qemu_build_free(report->qemu);
        report->qemu = qemu_build_copy(build);
    }
}

ReportScenario *report_add_scenario(Report *report, const Profile *profile,
                                    const ProfileScenario *scenario)
{
    ReportScenario *s = g_new0(ReportScenario, 1);
    const ReportProfile *rp =
        report->profiles->len
            ? g_ptr_array_index(report->profiles, report->profiles->len - 1)
            : NULL;

    s->profile = g_strdup(profile->name);
    s->name = g_strdup(scenario->name);
    s->family = g_strdup(profile_family_name(scenario->family));
    s->pattern = g_strdup(scenario->pattern);
    s->fixed_by =
        scenario->fixed_by ? g_strjoinv(";", scenario->fixed_by) : NULL;
    if (rp && rp->qemu && g_str_equal(rp->name, profile->name)) {
        s->qemu_build = g_strdup(qemu_build_kind_name(rp->qemu->kind));
    }
    s->checks =
        g_ptr_array_new_with_free_func((GDestroyNotify)check_result_free);
    g_ptr_array_add(report->scenarios, s);
    return s;
}

void report_set_error(Report *report, const char *fmt, ...)
{
    va_list ap;

    if (report->error) {
        return;
    }
    va_start(ap, fmt);
    report->error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

ReportVerdict report_verdict(const Report *report)
{
    gboolean failed = FALSE;

    if (report->error || !report->complete) {
        return REPORT_ERROR;
    }
    for (guint i = 0; i < report->scenarios->len; i++) {
        const ReportScenario *s = g_ptr_array_index(report->scenarios, i);

        if (s->error) {
            return REPORT_ERROR;
        }
        for (guint j = 0; j < s->checks->len; j++) {
            const CheckResult *c = g_ptr_array_index(s->checks, j);

            failed |= check_status_fails_verdict(c->status);
        }
    }
    return failed ? REPORT_FAIL : REPORT_PASS;
}

const char *report_verdict_name(ReportVerdict verdict)
{
    switch (verdict) {
    case REPORT_PASS:
        return "pass";
    case REPORT_FAIL:
        return "fail";
    case REPORT_ERROR:
    default:
        return "error";
    }
}

int report_exit_code(ReportVerdict verdict)
{
    switch (verdict) {
    case REPORT_PASS:
        return REPORT_EXIT_PASS;
    case REPORT_FAIL:
        return REPORT_EXIT_FAIL;
    case REPORT_ERROR:
    default:
        return REPORT_EXIT_ERROR;
    }
}
