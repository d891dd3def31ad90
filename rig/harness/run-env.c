/*
 * The per-profile environment of `rig run`: namespace + tap, QEMU, the
 * reference guest and the injector.  Teardown runs in reverse order on
 * every path (g_autoptr on the environment), so a failed start or an
 * interrupted run leaves no process, tap or namespace behind.
 */
#include "harness/run-env.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "guest/profile.h"
#include "rsc/fixes.h"
#include "qemu/rsc-stats.h"

#define NIC_ID   "net0"
#define TAP_NAME "rigtap0"

void run_env_free(RunEnv *env)
{
    if (!env) {
        return;
    }
    g_clear_pointer(&env->injector, trafgen_transport_free);
    g_clear_pointer(&env->guest, rig_guest_net_free);
    g_clear_pointer(&env->qtest, rig_qtest_free);
    g_clear_pointer(&env->vm, rig_vm_free);
    g_clear_pointer(&env->netns, rig_netns_free);
    g_free(env->clock_fallback);
    g_clear_pointer(&env->trace_log, run_trace_free);
    g_free(env);
}

char *run_env_qemu_exited(RunEnv *env)
{
    g_autofree char *how = NULL;
    g_autofree char *tail = NULL;

    if (!env->vm || !rig_vm_has_exited(env->vm)) {
        return NULL;
    }
    how = rig_vm_describe_exit(env->vm);
    tail = rig_vm_get_log_tail(env->vm, 5);
    return g_strdup_printf("QEMU (pid %d) %s%s%s", (int)rig_vm_get_pid(env->vm),
                           how, tail[0] ? "; its last output: " : "", tail);
}

static gboolean open_injector(gpointer user_data, GError **error)
{
    RunEnv *env = user_data;

    env->injector = trafgen_transport_new_packet(TAP_NAME, FALSE, error);
    return env->injector != NULL;
}

/* A build without a record still gets a version: QEMU's own. */
static void record_qemu_version(QemuBuild *build, RigQmp *qmp)
{
    g_autoptr(JsonNode) v = rig_qmp_execute(qmp, "query-version", NULL, NULL);
    JsonObject *q;

    if (build->version || !v || !JSON_NODE_HOLDS_OBJECT(v)) {
        return;
    }
    q = json_object_get_object_member(json_node_get_object(v), "qemu");
    if (q) {
        build->version = g_strdup_printf(
            "%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT,
            json_object_get_int_member(q, "major"),
            json_object_get_int_member(q, "minor"),
            json_object_get_int_member(q, "micro"));
    }
}

static gboolean start_vm(RunEnv *env, GError **error)
{
    const Profile *p = env->profile;
    g_autoptr(RigVmConfig) config = rig_vm_config_new();
    RigVmNic *nic;
    int tap_fd;

    if (!rig_netns_add_tap(env->netns, TAP_NAME, &tap_fd, error)) {
        return FALSE;
    }
    g_free(config->qemu);
    config->qemu = g_strdup(env->build->path);
    if (env->trace_log) {
        run_trace_add_args(env->trace_log, config->extra_args);
    }
    config->qtest = TRUE;
    g_free(config->accel);
    if (env->clock != PROFILE_CLOCK_FREE) {
        /* No vCPU; the guest (or its clock thread) steps the virtual
         * clock. */
        config->accel = g_strdup("qtest");
    } else {
        /*
         * Free: QEMU's own clocks drive the drain timer, as with a
         * Windows guest; the vCPU halts at reset so no firmware touches
         * the device.  (The realtime clock thread following the host clock
         * lags by milliseconds on a loaded machine.)
         */
        config->accel = g_strdup("tcg");
        config->halt_firmware = TRUE;
    }
    nic = rig_vm_config_add_nic(config, NIC_ID, tap_fd);
    nic->guest_rsc_ext = TRUE;
    nic->rsc_interval_ns = (gint64)p->rsc_interval_us * 1000;
    /* The device offers TSO per family: what enables RSC per family. */
    nic->extra_props = g_strdup_printf(
        "rx_queue_size=%u,mrg_rxbuf=%s,guest_tso4=%s,guest_tso6=%s",
        p->queue_size, p->mrg_rxbuf ? "on" : "off",
        (p->families & PROFILE_FAMILY_IPV4) ? "on" : "off",
        (p->families & PROFILE_FAMILY_IPV6) ? "on" : "off");
    env->vm = rig_vm_start(config, error);
    if (!env->vm) {
        return FALSE;
    }
    env->qtest = rig_qtest_new_from_vm(env->vm, error);
    if (!env->qtest) {
        return FALSE;
    }
    return TRUE;
}

/*
 * A paced real-time run must survive QEMU being descheduled for a while
 * on a loaded machine: the tap's default queue (500 frames, 50 ms at the
 * HLK's 10 000 frames/s) overflows and the send fails with ENOBUFS.
 */
static gboolean grow_tap_queue(RunEnv *env, GError **error)
{
    const char *argv[] = {"ip",         "-n",    rig_netns_get_name(env->netns),
                          "link",       "set",   TAP_NAME,
                          "txqueuelen", "20000", NULL};
    g_autofree char *err = NULL;
    gint status;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
                      NULL, NULL, &err, &status, error)) {
        return FALSE;
    }
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_set_error(error, RUN_ERROR, RUN_ERROR_FAILED,
                    "ip link set %s txqueuelen: %s", TAP_NAME, err);
        return FALSE;
    }
    return TRUE;
}

static RigGuestClockMode guest_clock(ProfileClock clock)
{
    switch (clock) {
    case PROFILE_CLOCK_QTEST:
        return RIG_GUEST_CLOCK_DETERMINISTIC;
    case PROFILE_CLOCK_REALTIME:
        return RIG_GUEST_CLOCK_REALTIME;
    case PROFILE_CLOCK_FREE:
        break;
    }
    return RIG_GUEST_CLOCK_FREE;
}

static gboolean start_guest(RunEnv *env, GError **error)
{
    const Profile *p = env->profile;
    RigGuestNetConfig cfg;
    uint64_t features, offloads;

    rig_guest_net_config_init(&cfg);
    cfg.profile = p->guest_features;
    cfg.clock = guest_clock(env->clock);
    cfg.rx_queue_size = p->queue_size;
    cfg.rx_buffers = p->rx_buffers;
    cfg.keep_data = TRUE;
    env->guest = rig_guest_net_new(env->qtest, &cfg, error);
    if (!env->guest) {
        g_prefix_error(error, "reference guest (%s): ", p->guest_features);
        return FALSE;
    }
    features = rig_guest_net_get_features(env->guest);
    offloads = rig_guest_net_get_offloads(env->guest);
    env->mrg_rxbuf = (features & RIG_BIT(RIG_VIRTIO_NET_F_MRG_RXBUF)) != 0;
    /* RSC per family: RSC_EXT and GUEST_TSO4/6 negotiated and, once the
     * guest sent CTRL_GUEST_OFFLOADS_SET, still set in its offloads. */
    if (features & RIG_BIT(RIG_VIRTIO_NET_F_RSC_EXT_BIT)) {
        env->rsc_ipv4 =
            (features & RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO4)) &&
            (!offloads || (offloads & RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO4)));
        env->rsc_ipv6 =
            (features & RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO6)) &&
            (!offloads || (offloads & RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO6)));
    }
    rig_guest_net_get_mac(env->guest, env->guest_mac);
    return TRUE;
}

/*
 * Probes the QEMU (once per binary) and decides what this profile can run
 * on it; the probe and the decision go into the report.
 */
static gboolean choose_capabilities(RunEnv *env, const char *qemu,
                                    Report *report, GError **error)
{
    ReportProfile *rp =
        report->profiles->len
            ? g_ptr_array_index(report->profiles, report->profiles->len - 1)
            : NULL;
    g_autofree char *no_rsc = NULL;

    env->caps = rig_qemu_caps_probe(qemu, error);
    if (!env->caps) {
        return FALSE;
    }
    if (!report->qemu_capabilities) {
        report->qemu_capabilities = rig_qemu_caps_to_json(env->caps);
    }
    no_rsc = rig_qemu_caps_missing(env->caps, RIG_QEMU_CAP_RSC_EXT);
    if (no_rsc) {
        g_set_error(error, RUN_ERROR, RUN_ERROR_FAILED,
                    "nothing to certify: RSC %s; use a QEMU with RSC "
                    "(2.12 or later), e.g. the rig's own build",
                    no_rsc);
        return FALSE;
    }
    env->clock = env->profile->clock;
    if (env->clock != PROFILE_CLOCK_FREE) {
        /* qtest and realtime both step QEMU's virtual clock. */
        env->clock_fallback =
            rig_qemu_caps_missing(env->caps, RIG_QEMU_CAP_ACCEL_QTEST);
    }
    if (env->clock_fallback) {
        env->clock = PROFILE_CLOCK_FREE;
        printf("profile %s: clock = %s %s: running on clock = free (QEMU's "
               "own clocks, vCPU halted at reset) instead%s; to run it as "
               "written, use a QEMU with the qtest accelerator, e.g. the "
               "rig's own build (ci/build-qemu --print-binary)\n",
               env->profile->name, profile_clock_name(env->profile->clock),
               env->clock_fallback,
               env->profile->clock == PROFILE_CLOCK_QTEST
                   ? ", with the checks that need the deterministic clock "
                     "skipped"
                   : "");
        fflush(stdout);
    }
    if (rp) {
        rp->clock = env->clock;
        rp->clock_fallback = g_strdup(env->clock_fallback);
        rp->qemu_capabilities = rig_qemu_caps_to_json(env->caps);
    }
    return TRUE;
}

/*
 * The fixed build is compared with the fixes it has: a series landing (or
 * bisected) patch by patch passes after each one.  A fix patch the oracle
 * does not know is modelled as nothing, and said.
 */
static gboolean choose_spec_fixes(RunEnv *env, Report *report, GError **error)
{
    ReportProfile *rp =
        report->profiles->len
            ? g_ptr_array_index(report->profiles, report->profiles->len - 1)
            : NULL;
    g_autofree char *unknown = NULL;

    const char *forced = g_getenv("RIG_ORACLE_FIXES");

    env->spec_fixes = RSC_FIX_ALL;
    if (env->build->kind == QEMU_BUILD_FIXED && env->build->fix_patches) {
        env->spec_fixes = rsc_fixes_for_series(
            (const char *const *)env->build->fix_patches, &unknown);
    }
    /* By hand: which fixes explain a deviation (hck-profiles/README.md). */
    if (forced && forced[0]) {
        if (!rsc_fixes_from_names(forced, &env->spec_fixes, error)) {
            g_prefix_error(error, "RIG_ORACLE_FIXES: ");
            return FALSE;
        }
        g_printerr("rig run: RIG_ORACLE_FIXES: spec mode models %s\n", forced);
    }
    if (unknown) {
        g_printerr("rig run: warning: the oracle does not know what %s "
                   "fixes: spec mode models it as no change (rig/rsc/fixes.c)"
                   "\n",
                   unknown);
    }
    if (rp) {
        g_free(rp->oracle_fixes);
        rp->oracle_fixes = rsc_fixes_describe(env->spec_fixes);
        g_free(rp->unknown_fix_patches);
        rp->unknown_fix_patches = g_steal_pointer(&unknown);
    }
    return TRUE;
}

RunEnv *run_env_start(const Profile *profile, const RunOptions *options,
                      QemuBuild *build, Report *report, GError **error)
{
    g_autoptr(RunEnv) env = g_new0(RunEnv, 1);

    env->profile = profile;
    env->options = options;
    env->build = build;
    if (geteuid() != 0) {
        g_set_error(error, RUN_ERROR, RUN_ERROR_FAILED,
                    "rig run needs root (it creates a network namespace and "
                    "a tap): run it as root");
        return NULL;
    }
    if (!choose_capabilities(env, build->path, report, error)) {
        return NULL;
    }
    if (!choose_spec_fixes(env, report, error)) {
        return NULL;
    }
    if (options->trace) {
        g_autofree char *no_trace =
            rig_qemu_caps_missing(env->caps, RIG_QEMU_CAP_RSC_TRACE);

        if (no_trace) {
            g_set_error(error, RUN_ERROR, RUN_ERROR_FAILED,
                        "--trace: RSC tracing %s (QEMU %s lacks qemu-patches' "
                        "trace patch): run without --trace",
                        no_trace, build->path);
            return NULL;
        }
        env->trace_log =
            run_trace_new(options->trace_dir, profile->name, error);
        if (!env->trace_log) {
            return NULL;
        }
    }
    env->netns = rig_netns_new(error);
    if (!env->netns || !start_vm(env, error) || !grow_tap_queue(env, error) ||
        !start_guest(env, error) ||
        !rig_netns_run(env->netns, open_injector, env, error)) {
        return NULL;
    }
    record_qemu_version(build, rig_vm_get_qmp(env->vm));
    return g_steal_pointer(&env);
}

gboolean run_env_read_stats(RunEnv *env, RigRscStats *ret_stats, GError **error)
{
    return rig_qmp_read_rsc_stats(rig_vm_get_qmp(env->vm), NIC_ID, ret_stats,
                                  NULL, error);
}

const char *run_env_tap_name(void)
{
    return TAP_NAME;
}

const char *run_env_nic_id(void)
{
    return NIC_ID;
}
