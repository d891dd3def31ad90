/*
 * The sweep runner (see sweep-run.h).
 */
#include "sweep/sweep-run.h"

#include <stdio.h>
#include <unistd.h>

#include "harness/report.h"
#include "harness/run-env.h"
#include "harness/run.h"
#include "qemu/rsc-stats.h"
#include "sweep/predict.h"

typedef struct {
    const SweepRunConfig *config;
    SweepReport *report;
    Report *qemu_info; /* the harness records QEMU's capabilities here */
    QemuBuild *build;  /* --qemu fixed|stock|PATH, resolved at the first VM */
    RunOptions options;
    RunEnv *env;
    Profile *env_profile; /* owned; env borrows it */
    SweepPoint env_point;
    guint env_scenarios; /* scenarios run on env: keeps their ports apart */
    /* Figures of the "runs" record. */
    guint vm_starts;
    double vm_start_s;
    guint points_run;
    gint64 started_us;
    double load_start[3];
} Runner;

gint64 sweep_qemu_cpu_ns(GPid pid)
{
    g_autofree char *dir = g_strdup_printf("/proc/%d/task", (int)pid);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *tid;
    gint64 sum = 0;

    if (!d) {
        return -1;
    }
    /* schedstat's first field: ns on the CPU, per thread, without the
     * 10 ms granularity of /proc/PID/stat's utime and stime. */
    while ((tid = g_dir_read_name(d))) {
        g_autofree char *path = g_strdup_printf("%s/%s/schedstat", dir, tid);
        g_autofree char *text = NULL;

        if (g_file_get_contents(path, &text, NULL, NULL)) {
            sum += g_ascii_strtoll(text, NULL, 10);
        }
    }
    return sum;
}

static void read_load(double ret[3])
{
    if (getloadavg(ret, 3) != 3) {
        ret[0] = ret[1] = ret[2] = -1;
    }
}

static void runner_drop_env(Runner *r)
{
    g_clear_pointer(&r->env, run_env_free);
    g_clear_pointer(&r->env_profile, profile_free);
    r->env_scenarios = 0;
}

static gboolean start_env(Runner *r, const SweepPoint *p, Profile *profile,
                          GError **error)
{
    gint64 t0 = g_get_monotonic_time();

    runner_drop_env(r);
    r->env_profile = profile;
    r->env_point = *p;
    if (!r->build) {
        r->build = qemu_build_resolve(
            r->options.qemu ? r->options.qemu : profile->qemu, error);
        if (!r->build) {
            return FALSE;
        }
    }
    r->env = run_env_start(profile, &r->options, r->build, r->qemu_info, error);
    if (!r->env) {
        return FALSE;
    }
    r->vm_starts++;
    r->vm_start_s += (double)(g_get_monotonic_time() - t0) / 1e6;
    /* rig/qemu/caps probed it once: qom-set + read back on a running VM. */
    r->report->interval_writable =
        r->env->caps->has[RIG_QEMU_CAP_RSC_INTERVAL_WRITABLE];
    if (r->env->clock != profile->clock) {
        /* e.g. virtual on a QEMU without -accel qtest: not this point. */
        g_set_error(error, SWEEP_ERROR, SWEEP_ERROR_RUN, "%s",
                    r->env->clock_fallback ? r->env->clock_fallback
                                           : "the QEMU can not run this "
                                             "clock");
        return FALSE;
    }
    return TRUE;
}

/* Points of one group share the VM when rsc_interval is writable. */
static gboolean prepare_env(Runner *r, const SweepPoint *p, guint count,
                            GError **error)
{
    g_autoptr(Profile) profile =
        sweep_profile_point(r->config->profile, p, count, error);
    g_autofree char *exited = r->env ? run_env_qemu_exited(r->env) : NULL;

    if (!profile) {
        return FALSE;
    }
    if (r->env && !exited && r->report->interval_writable == 1 &&
        sweep_point_same_group(&r->env_point, p)) {
        if (rig_qmp_set_rsc_interval(rig_vm_get_qmp(r->env->vm),
                                     run_env_nic_id(),
                                     (guint64)p->interval_us * 1000, error)) {
            /* The harness reads the interval from the profile (oracle,
             * checks, harvest time): keep the two in step. */
            r->env_profile->rsc_interval_us = p->interval_us;
            r->env_point = *p;
            return TRUE;
        }
        return FALSE;
    }
    return start_env(r, p, g_steal_pointer(&profile), error);
}

static char **failed_checks(const ReportScenario *rs)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new();

    for (guint i = 0; i < rs->checks->len; i++) {
        const CheckResult *c = g_ptr_array_index(rs->checks, i);

        if (c->status == CHECK_FAIL) {
            g_ptr_array_add(names, g_strdup(c->name));
        }
    }
    g_ptr_array_add(names, NULL);
    return (char **)g_ptr_array_free(g_steal_pointer(&names), FALSE);
}

static gboolean fill_sample(Runner *r, const SweepPoint *p,
                            const ReportScenario *rs, SweepSample *s,
                            GError **error)
{
    const ProfileScenario *sc = g_ptr_array_index(r->env_profile->scenarios, 0);
    guint64 period_ns = (guint64)sc->period_us * 1000;
    g_autoptr(CheckScenario) ideal = NULL;
    g_autoptr(CheckScenario) at_send = NULL;
    SweepViewFigures m, pred, sendpred;

    ideal = sweep_predict(r->env_profile, sc, NULL, error);
    if (!ideal) {
        return FALSE;
    }
    if (p->clock != SWEEP_CLOCK_VIRTUAL) {
        at_send = sweep_predict(r->env_profile, sc, rs->views->sent, error);
        if (!at_send) {
            return FALSE;
        }
    }
    sweep_view_figures(rs->views->sent, rs->views->guest, period_ns, &m);
    sweep_view_figures(ideal->sent, ideal->oracle_qemu, period_ns, &pred);
    if (at_send) {
        sweep_view_figures(at_send->sent, at_send->oracle_qemu, period_ns,
                           &sendpred);
    } else {
        sendpred = pred;
    }
    s->m[SWEEP_M_SEGMENTS_SENT] = (double)m.segments_sent;
    s->m[SWEEP_M_DATA_FRAMES] = (double)m.data_frames;
    s->m[SWEEP_M_COALESCED_FRAMES] = (double)m.coalesced_frames;
    s->m[SWEEP_M_SPF_MEAN] = m.spf_mean;
    s->m[SWEEP_M_SPF_P50] = m.spf_p50;
    s->m[SWEEP_M_SPF_P99] = m.spf_p99;
    s->m[SWEEP_M_PRED_SPF_MEAN] = pred.spf_mean;
    s->m[SWEEP_M_PRED_SPF_P50] = pred.spf_p50;
    s->m[SWEEP_M_PRED_SPF_P99] = pred.spf_p99;
    s->m[SWEEP_M_SENDPRED_SPF_MEAN] = sendpred.spf_mean;
    s->m[SWEEP_M_COALESCED_SHARE] = m.coalesced_share;
    s->m[SWEEP_M_PRED_COALESCED_SHARE] = pred.coalesced_share;
    s->m[SWEEP_M_LATENCY_P50_US] = m.latency_p50_us;
    s->m[SWEEP_M_LATENCY_P99_US] = m.latency_p99_us;
    s->m[SWEEP_M_LATENCY_MAX_US] = m.latency_max_us;
    s->m[SWEEP_M_PRED_LATENCY_P50_US] = pred.latency_p50_us;
    s->m[SWEEP_M_PRED_LATENCY_P99_US] = pred.latency_p99_us;
    s->m[SWEEP_M_PRED_LATENCY_MAX_US] = pred.latency_max_us;
    s->m[SWEEP_M_FRAMES_PER_S] = m.frames_per_s;
    s->m[SWEEP_M_SEND_LATENESS_P99_US] = m.send_lateness_p99_us;
    s->m[SWEEP_M_SEND_GAP_MAX_US] = m.send_gap_max_us;
    s->m[SWEEP_M_BYTES_SENT] = (double)m.bytes_sent;
    s->m[SWEEP_M_BYTES_DELIVERED] = (double)m.bytes_delivered;
    s->m[SWEEP_M_BYTES_LOST] = (double)m.bytes_sent - (double)m.bytes_delivered;
    s->checks_failed = failed_checks(rs);
    return TRUE;
}

/* One repeat of @p on the prepared environment. */
static gboolean run_once(Runner *r, const SweepPoint *p, SweepSample *s,
                         GError **error)
{
    g_autoptr(Report) scratch = report_new();
    const ProfileScenario *sc = g_ptr_array_index(r->env_profile->scenarios, 0);
    ReportScenario *rs = report_add_scenario(scratch, r->env_profile, sc);
    GPid pid = rig_vm_get_pid(r->env->vm);
    gint64 cpu0 = sweep_qemu_cpu_ns(pid), cpu1;
    gint64 t0 = g_get_monotonic_time();

    if (!run_scenario(r->env, r->env_scenarios++, sc, rs, error)) {
        return FALSE;
    }
    cpu1 = sweep_qemu_cpu_ns(pid);
    s->m[SWEEP_M_DURATION_S] = (double)(g_get_monotonic_time() - t0) / 1e6;
    if (!fill_sample(r, p, rs, s, error)) {
        return FALSE;
    }
    if (cpu0 >= 0 && cpu1 >= cpu0) {
        s->m[SWEEP_M_QEMU_CPU_MS] = (double)(cpu1 - cpu0) / 1e6;
        if (s->m[SWEEP_M_SEGMENTS_SENT] > 0) {
            s->m[SWEEP_M_QEMU_CPU_PER_SEGMENT_US] =
                (double)(cpu1 - cpu0) / 1e3 / s->m[SWEEP_M_SEGMENTS_SENT];
        }
    }
    return TRUE;
}

static JsonNode *run_record(const Runner *r)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(GDateTime) started =
        g_date_time_new_from_unix_utc(r->started_us / G_USEC_PER_SEC);
    g_autofree char *iso = g_date_time_format(started, "%FT%TZ");
    const SweepReport *rep = r->report;
    double load_end[3];
    double per_start = r->vm_starts ? r->vm_start_s / r->vm_starts : 0;

    read_load(load_end);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "shard");
    if (rep->shard_count) {
        g_autofree char *k =
            g_strdup_printf("%u/%u", rep->shard_index, rep->shard_count);

        json_builder_add_string_value(b, k);
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_set_member_name(b, "started");
    json_builder_add_string_value(b, iso);
    json_builder_set_member_name(b, "duration_s");
    json_builder_add_double_value(
        b, (double)(g_get_real_time() - r->started_us) / 1e6);
    json_builder_set_member_name(b, "host");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "cpus");
    json_builder_add_int_value(b, g_get_num_processors());
    json_builder_set_member_name(b, "load_start");
    json_builder_begin_array(b);
    for (guint i = 0; i < 3; i++) {
        json_builder_add_double_value(b, r->load_start[i]);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "load_end");
    json_builder_begin_array(b);
    for (guint i = 0; i < 3; i++) {
        json_builder_add_double_value(b, load_end[i]);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "points_run");
    json_builder_add_int_value(b, r->points_run);
    json_builder_set_member_name(b, "vm_starts");
    json_builder_add_int_value(b, r->vm_starts);
    json_builder_set_member_name(b, "vm_start_s");
    json_builder_add_double_value(b, r->vm_start_s);
    /* Without qom-set every point would have started its own VM. */
    json_builder_set_member_name(b, "vm_reuse_saved_s");
    json_builder_add_double_value(
        b, r->points_run > r->vm_starts
               ? (double)(r->points_run - r->vm_starts) * per_start
               : 0.0);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

static void update_run_record(Runner *r, guint slot)
{
    JsonNode *rec = run_record(r);

    if (slot < r->report->runs->len) {
        json_node_unref(r->report->runs->pdata[slot]);
        r->report->runs->pdata[slot] = rec;
    } else {
        g_ptr_array_add(r->report->runs, rec);
    }
}

/* Runs every repeat of @p; FALSE only when interrupted. */
static gboolean run_point(Runner *r, const SweepPoint *p, SweepResult *res,
                          GError **error)
{
    g_autoptr(GError) local = NULL;

    if (!prepare_env(r, p, res->count, &local)) {
        if (g_error_matches(local, RUN_ERROR, RUN_ERROR_INTERRUPTED)) {
            g_propagate_error(error, g_steal_pointer(&local));
            return FALSE;
        }
        res->error = g_strdup(local->message);
        runner_drop_env(r);
        return TRUE;
    }
    /* The virtual clock is deterministic: a repeat would measure the same
     * frames again. */
    guint repeats = p->clock == SWEEP_CLOCK_VIRTUAL ? 1 : r->report->repeat;

    for (guint k = 0; k < repeats; k++) {
        SweepSample s = {0};

        if (!run_once(r, p, &s, &local)) {
            sweep_sample_clear(&s);
            if (g_error_matches(local, RUN_ERROR, RUN_ERROR_INTERRUPTED)) {
                g_propagate_error(error, g_steal_pointer(&local));
                return FALSE;
            }
            res->error = g_strdup(local->message);
            /* QEMU may be gone: the next point starts afresh. */
            runner_drop_env(r);
            return TRUE;
        }
        g_array_append_val(res->samples, s);
    }
    return TRUE;
}

gboolean sweep_run(const SweepRunConfig *config, SweepReport *report,
                   GError **error)
{
    Runner r = {
        .config = config,
        .report = report,
        .qemu_info = report_new(),
        .options = {.qemu = config->qemu, .stop = config->stop},
        .started_us = g_get_real_time(),
    };
    guint from, to, slot = report->runs->len, done = 0;
    gboolean ok = TRUE;

    read_load(r.load_start);
    sweep_report_shard_range(report, &from, &to);
    for (guint i = from; i < to && ok; i++) {
        const SweepPoint *p = &g_array_index(report->points, SweepPoint, i);
        g_autoptr(SweepResult) res =
            sweep_result_new(p, report->count[p->clock]);

        if (config->stop && *config->stop) {
            g_set_error(error, RUN_ERROR, RUN_ERROR_INTERRUPTED,
                        "interrupted by a signal");
            ok = FALSE;
            break;
        }
        if (config->on_start) {
            config->on_start(p, done, to - from, config->user_data);
        }
        if (!run_point(&r, p, res, error)) {
            ok = FALSE;
            break;
        }
        if (!report->qemu_path && r.build) {
            report->qemu_path = g_strdup(r.build->path);
            report->qemu_version = g_strdup(r.build->version);
            report->qemu_series_hash = g_strdup(r.build->series_hash);
        }
        r.points_run++;
        done++;
        sweep_report_set_result(report, g_steal_pointer(&res));
        update_run_record(&r, slot);
        if (config->on_done) {
            config->on_done(report, report->results->pdata[i], done, to - from,
                            config->user_data);
        }
    }
    runner_drop_env(&r);
    update_run_record(&r, slot);
    report_free(r.qemu_info);
    qemu_build_free(r.build);
    return ok;
}
