/*
 * One scenario of `rig run`.
 *
 * Deterministic clock (profile clock = qtest): for each slot of the
 * pattern the harness injects the slot's frames on the tap, waits until
 * QEMU has taken each one (rsc-stats "received" moved, or the guest got a
 * frame), feeds the same bytes at the same virtual time to the oracle, then
 * steps QEMU's virtual clock by period_us.  The guest therefore sees
 * exactly what the oracle predicts, frame for frame.
 *
 * Real-time clock: rsc-trafgen's paced sender runs on its own thread while
 * the guest (which follows the host clock) harvests; the send timestamps
 * become the sent view.
 *
 * rx_ring = full-at-drain: at the first idle slot after data, the guest
 * stops re-posting RX buffers and the harness fills every free buffer with
 * a UDP frame, so that the drain timer finds the ring full; buffers are
 * posted again at the next non-idle slot.
 */
#include <string.h>

#include "harness/run-env.h"
#include "harness/run-slots.h"
#include "harness/run-views.h"
#include "net/build.h"
#include "net/pcap-writer.h"
#include "rsc/oracle.h"
#include "trafgen/frame.h"
#include "trafgen/pattern.h"
#include "trafgen/run.h"

/* How long QEMU may take to read one injected frame from the tap. */
#define FRAME_READ_TIMEOUT_US (200 * 1000)
/* Ports: each scenario of a profile gets its own block of flows. */
#define PORT_BASE          40000
#define PORTS_PER_SCENARIO 100
/* Real time: harvest this long after the last frame once nothing comes. */
#define REALTIME_QUIET_US (50 * 1000)

typedef struct {
    RunEnv *env;
    const ProfileScenario *sc;
    CheckScenario *cs;
    RunFlows *flows;
    RscOracle *oracle[2]; /* qemu mode, spec mode; NULL in real time */
    guint64 offloads_before; /* rsc_off_at_slot: the guest's offloads */
    TrafgenEndpoints ep;
    guint guest_from;
    gboolean stats_ok;
    RigRscStats before;
    guint64 last_received;
    GPtrArray *sent_bytes; /* GBytes, for --pcap */
    GArray *sent_times;    /* gint64 */
    gint64 deadline_us;    /* scenario_timeout_s from the start */
} ScenarioRun;

static void scenario_run_clear(ScenarioRun *r)
{
    for (guint i = 0; i < G_N_ELEMENTS(r->oracle); i++) {
        g_clear_pointer(&r->oracle[i], rsc_oracle_free);
    }
    g_clear_pointer(&r->flows, run_flows_free);
    g_clear_pointer(&r->sent_bytes, g_ptr_array_unref);
    g_clear_pointer(&r->sent_times, g_array_unref);
}

TrafgenPattern *run_scenario_pattern(const char *pattern, ProfileFamily family,
                                     guint count, GError **error)
{
    gboolean ipv6 = family == PROFILE_FAMILY_IPV6;
    g_autofree char *text = NULL;
    g_autoptr(TrafgenPattern) p = NULL;

    if (g_strv_contains(trafgen_pattern_builtin_names(), pattern)) {
        text = trafgen_pattern_builtin(pattern, ipv6, count ? count : 1, error);
        if (!text) {
            return NULL;
        }
    } else {
        text = g_strdup(pattern);
    }
    p = trafgen_pattern_parse(text, error);
    if (!p || !trafgen_pattern_check_family(p, ipv6, error)) {
        return NULL;
    }
    return g_steal_pointer(&p);
}

/*
 * Every step must fit the tap's MTU with its headers and options (ts,
 * ipopt, exthdr): built alone, as it will be sent.  @payload is what a
 * step without len= carries; 0 checks only the steps with len= (the
 * pattern validator does not know the scenario's payload).
 */
static gboolean check_step_sizes(const TrafgenPattern *p, ProfileFamily family,
                                 guint payload, GError **error)
{
    gboolean ipv6 = family == PROFILE_FAMILY_IPV6;
    g_autofree guint8 *frame = g_malloc(RIG_NET_FRAME_MAX);
    TrafgenEndpoints ep;

    trafgen_endpoints_init_default(&ep, ipv6);
    for (guint i = 0; i < p->steps->len; i++) {
        TrafgenStep step = g_array_index(p->steps, TrafgenStep, i);
        TrafgenPattern one = {.text = p->text};
        TrafgenCursor cursor;
        TrafgenSegment seg;
        ssize_t len;

        if ((step.len < 0 && payload == 0) || step.kind == TRAFGEN_STEP_ARP ||
            step.kind == TRAFGEN_STEP_IDLE) {
            continue;
        }
        step.count = 1;
        one.steps = g_array_new(FALSE, FALSE, sizeof(TrafgenStep));
        g_array_append_val(one.steps, step);
        trafgen_cursor_init(&cursor, &one, 0, MAX(payload, 1), ipv6);
        len = trafgen_cursor_next(&cursor, &seg)
                  ? trafgen_frame_build(&ep, &seg, frame, RIG_NET_FRAME_MAX)
                  : 0;
        g_array_unref(one.steps);
        if (len - RIG_ETH_HLEN > PROFILE_MTU && step.len < 0) {
            g_set_error(error, RUN_ERROR, RUN_ERROR_FAILED,
                        "%u bytes with pattern step %u's options make a "
                        "%zd-byte IP packet, more than the tap's MTU of %u",
                        payload, i + 1, len - RIG_ETH_HLEN, PROFILE_MTU);
            return FALSE;
        }
        if (len - RIG_ETH_HLEN > PROFILE_MTU) {
            g_set_error(error, RUN_ERROR, RUN_ERROR_FAILED,
                        "pattern step %u: len=%d makes a %zd-byte IP packet, "
                        "more than the tap's MTU of %u (%s MSS %u, less the "
                        "step's options)",
                        i + 1, step.len, len - RIG_ETH_HLEN, PROFILE_MTU,
                        ipv6 ? "IPv6" : "IPv4", profile_family_mss(family));
            return FALSE;
        }
    }
    return TRUE;
}

gboolean run_validate_pattern(const char *pattern, ProfileFamily family,
                              gpointer user_data, GError **error)
{
    g_autoptr(TrafgenPattern) p =
        run_scenario_pattern(pattern, family, 1, error);

    return p != NULL && check_step_sizes(p, family, 0, error);
}

gboolean run_check_frame_sizes(const Profile *profile, GError **error)
{
    for (guint i = 0; i < profile->scenarios->len; i++) {
        const ProfileScenario *sc = g_ptr_array_index(profile->scenarios, i);
        g_autoptr(GError) local = NULL;
        g_autoptr(TrafgenPattern) p =
            run_scenario_pattern(sc->pattern, sc->family, 1, &local);

        /* GSO frames are larger than the MTU by design. */
        if (p && sc->vnet_hdr == PROFILE_VNET_GSO) {
            continue;
        }
        if (!p || !check_step_sizes(p, sc->family, sc->payload, &local)) {
            g_set_error(error, PROFILE_ERROR, PROFILE_ERROR_INVALID,
                        "%s: [scenario %s] payload: %s", profile->path,
                        sc->name, local->message);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean check_alive(ScenarioRun *r, GError **error)
{
    g_autofree char *exited = run_env_qemu_exited(r->env);

    if (exited) {
        g_set_error(error, RUN_ERROR, RUN_ERROR_QEMU_EXITED, "%s", exited);
        return FALSE;
    }
    if (r->env->options->stop && *r->env->options->stop) {
        g_set_error(error, RUN_ERROR, RUN_ERROR_INTERRUPTED,
                    "interrupted by a signal");
        return FALSE;
    }
    if (g_get_monotonic_time() > r->deadline_us) {
        g_set_error(error, RUN_ERROR, RUN_ERROR_FAILED,
                    "the scenario ran longer than scenario_timeout_s = %u s",
                    r->env->profile->scenario_timeout_s);
        return FALSE;
    }
    return TRUE;
}

/* A guest or QMP error caused by QEMU's death is reported as that. */
static gboolean fail_with_cause(ScenarioRun *r, GError **error)
{
    g_autoptr(GError) cause = NULL;

    /* Give a dying QEMU a moment to be reaped before asking. */
    for (guint i = 0; i < 20 && !rig_vm_has_exited(r->env->vm); i++) {
        g_usleep(5000);
    }
    if (!check_alive(r, &cause)) {
        g_clear_error(error);
        g_propagate_error(error, g_steal_pointer(&cause));
    }
    return FALSE;
}

static guint64 received_sum(const RigRscStats *s)
{
    return s->ipv4.received + s->ipv6.received;
}

static gboolean stats_delta(ScenarioRun *r, GError **error)
{
    RigRscStats after;
    g_autoptr(GError) local = NULL;

    if (!r->stats_ok) {
        return TRUE;
    }
    if (!run_env_read_stats(r->env, &after, &local)) {
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    r->cs->device.available = TRUE;
    for (guint i = 0; i < RSC_STATS_N_FIELDS; i++) {
        r->cs->device.delta.ipv4.counter[i] =
            after.ipv4.counter[i] - r->before.ipv4.counter[i];
        r->cs->device.delta.ipv6.counter[i] =
            after.ipv6.counter[i] - r->before.ipv6.counter[i];
    }
    return TRUE;
}

static void record_sent(ScenarioRun *r, const guint8 *frame, gsize len,
                        gint64 t_ns)
{
    run_views_add_sent(r->flows, frame, len, t_ns);
    if (r->env->options->pcap_dir) {
        g_ptr_array_add(r->sent_bytes, g_bytes_new(frame, len));
        g_array_append_val(r->sent_times, t_ns);
    }
}

/*
 * Waits until QEMU took the frame just injected (see file comment).  Both
 * probes are round trips to QEMU (qtest, QMP) that give its main loop the
 * time to read the tap: neither blocks on a timeout, so a frame QEMU
 * caches costs two round trips, not a millisecond of waiting.
 */
static gboolean wait_frame_read(ScenarioRun *r, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + FRAME_READ_TIMEOUT_US;
    RigRscStats now;
    gboolean have_now = FALSE;

    for (;;) {
        guint got = 0;

        if (!check_alive(r, error)) {
            return FALSE;
        }
        if (!rig_guest_net_receive(r->env->guest, 1, 0, &got, error)) {
            return fail_with_cause(r, error);
        }
        if (got > 0) {
            break;
        }
        if (r->stats_ok) {
            if (!run_env_read_stats(r->env, &now, error)) {
                return fail_with_cause(r, error);
            }
            if (received_sum(&now) != r->last_received) {
                have_now = TRUE;
                break;
            }
        }
        /* Not taken: the guest has no RX buffer, QEMU keeps it queued. */
        if (g_get_monotonic_time() >= deadline) {
            break;
        }
        if (!r->stats_ok) {
            g_usleep(100);
        }
    }
    if (r->stats_ok) {
        if (!have_now && !run_env_read_stats(r->env, &now, error)) {
            return fail_with_cause(r, error);
        }
        r->last_received = received_sum(&now);
    }
    return TRUE;
}

/* The scenario's vnet_hdr as rsc-trafgen's offload mode. */
static TrafgenVnetMode scenario_vnet_mode(const ProfileScenario *sc)
{
    switch (sc->vnet_hdr) {
    case PROFILE_VNET_CSUM:
        return TRAFGEN_VNET_CSUM;
    case PROFILE_VNET_GSO:
        return TRAFGEN_VNET_GSO;
    case PROFILE_VNET_NONE:
    default:
        return TRAFGEN_VNET_NONE;
    }
}

/* ---- the world of the slot loop (run-world.h) on the real QEMU ---- */

static gboolean world_inject(gpointer world, const RigVirtioNetHdrV1 *hdr,
                             gboolean with_hdr, const guint8 *frame, gsize len,
                             GError **error)
{
    ScenarioRun *r = world;
    int rc = with_hdr ? trafgen_transport_send_vnet(r->env->injector, hdr,
                                                    frame, len)
                      : trafgen_transport_send(r->env->injector, frame, len, 0);

    if (rc < 0) {
        g_set_error(error, RUN_ERROR, RUN_ERROR_FAILED,
                    "injecting a frame on %s: %s", run_env_tap_name(),
                    g_strerror(-rc));
        return FALSE;
    }
    return wait_frame_read(r, error);
}

static gint64 world_vclock(gpointer world)
{
    ScenarioRun *r = world;

    return rig_guest_net_get_vclock(r->env->guest);
}

static gboolean world_step_clock(gpointer world, gint64 ns, GError **error)
{
    ScenarioRun *r = world;

    if (!rig_guest_net_clock_step(r->env->guest, ns, error)) {
        return fail_with_cause(r, error);
    }
    return TRUE;
}

static gboolean world_harvest(gpointer world, guint timeout_ms, guint *ret_got,
                              GError **error)
{
    ScenarioRun *r = world;

    if (!rig_guest_net_receive(r->env->guest, G_MAXUINT, timeout_ms, ret_got,
                               error)) {
        return fail_with_cause(r, error);
    }
    return TRUE;
}

static gboolean world_read_stats(gpointer world, RigRscStats *ret_stats,
                                 GError **error)
{
    ScenarioRun *r = world;

    return run_env_read_stats(r->env, ret_stats, error);
}

static guint64 world_free_rx_buffers(gpointer world)
{
    ScenarioRun *r = world;

    return rig_guest_net_free_rx_buffers(r->env->guest);
}

static void world_starve(gpointer world)
{
    ScenarioRun *r = world;

    rig_guest_net_starve(r->env->guest, 0, 0);
}

static gboolean world_post_rx(gpointer world, GError **error)
{
    ScenarioRun *r = world;

    if (!rig_guest_net_post_rx(r->env->guest, G_MAXUINT, NULL, error)) {
        return fail_with_cause(r, error);
    }
    return TRUE;
}

static gboolean world_alive(gpointer world, GError **error)
{
    return check_alive(world, error);
}

/*
 * rsc_off_at_slot: the guest turns RSC off as NetKVM does when Windows
 * disables it (GUEST_CSUM and RSC_EXT without the TSO bits), and on again
 * with the offloads it had.
 */
static gboolean world_set_rsc(gpointer world, gboolean on, GError **error)
{
    ScenarioRun *r = world;
    guint64 offloads = r->offloads_before;

    if (!on) {
        r->offloads_before = rig_guest_net_get_offloads(r->env->guest);
        offloads = r->offloads_before & ~(RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO4) |
                                          RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO6));
    }
    if (!rig_guest_net_set_offloads(r->env->guest, offloads, error)) {
        g_prefix_error(error, "rsc_off_at_slot: turning RSC %s: ",
                       on ? "on again" : "off");
        return fail_with_cause(r, error);
    }
    return TRUE;
}

static const RunWorldOps REAL_WORLD = {
    .inject = world_inject,
    .vclock = world_vclock,
    .step_clock = world_step_clock,
    .harvest = world_harvest,
    .read_stats = world_read_stats,
    .free_rx_buffers = world_free_rx_buffers,
    .starve = world_starve,
    .post_rx = world_post_rx,
    .alive = world_alive,
    .set_rsc = world_set_rsc,
};

/* The slot loop's observer: the sent view, the pcap and the oracles. */
static void observe_sent(gpointer user_data, gint64 t_ns,
                         const RigVirtioNetHdrV1 *hdr, const guint8 *frame,
                         gsize len)
{
    ScenarioRun *r = user_data;

    record_sent(r, frame, len, t_ns);
    for (guint i = 0; i < G_N_ELEMENTS(r->oracle); i++) {
        rsc_oracle_receive(r->oracle[i], (guint64)t_ns, hdr, frame, len);
    }
}

static void observe_rx_buffers(gpointer user_data, gint64 t_ns, guint64 count)
{
    ScenarioRun *r = user_data;

    for (guint i = 0; i < G_N_ELEMENTS(r->oracle); i++) {
        rsc_oracle_set_rx_buffers(r->oracle[i], (guint64)t_ns, count);
    }
}

static void observe_rsc(gpointer user_data, gint64 t_ns, gboolean on)
{
    ScenarioRun *r = user_data;

    for (guint i = 0; i < G_N_ELEMENTS(r->oracle); i++) {
        rsc_oracle_set_rsc(r->oracle[i], (guint64)t_ns, on && r->env->rsc_ipv4,
                           on && r->env->rsc_ipv6);
    }
}

static const RunSlotsObserver ORACLE_OBSERVER = {
    .sent = observe_sent,
    .rx_buffers = observe_rx_buffers,
    .rsc = observe_rsc,
};

static gboolean run_deterministic(ScenarioRun *r, TrafgenPattern *pattern,
                                  GError **error)
{
    const ProfileScenario *sc = r->sc;
    RunSlotsConfig config = {
        .pattern = pattern,
        .flows = sc->flows,
        .payload = sc->payload,
        .ipv6 = sc->family == PROFILE_FAMILY_IPV6,
        .ep = r->ep,
        .filler_port = (guint16)(r->ep.src_port + PORTS_PER_SCENARIO - 1),
        .period_ns = (gint64)sc->period_us * 1000,
        .interval_ns = (gint64)r->env->profile->rsc_interval_us * 1000,
        .fill_at_drain = sc->rx_ring == PROFILE_RX_FULL_AT_DRAIN,
        .vnet = scenario_vnet_mode(sc),
        .pad_to_min = sc->pad_to_min,
        .rsc_off_at_slot = sc->rsc_off_at_slot,
    };

    if (!run_slots(&config, &REAL_WORLD, r, &ORACLE_OBSERVER, r, error)) {
        return FALSE;
    }
    for (guint i = 0; i < G_N_ELEMENTS(r->oracle); i++) {
        rsc_oracle_advance(r->oracle[i],
                           (guint64)rig_guest_net_get_vclock(r->env->guest));
        rsc_oracle_flush(r->oracle[i]);
    }
    return TRUE;
}

typedef struct {
    TrafgenRunConfig config;
    TrafgenTransport *transport;
    TrafgenReport *report;
    GError *error;
    gboolean ok;
    gint done;
    volatile sig_atomic_t stop;
} Sender;

static gpointer sender_thread(gpointer data)
{
    Sender *s = data;

    s->ok = trafgen_run(&s->config, s->transport, &s->report, &s->error);
    g_atomic_int_set(&s->done, 1);
    return NULL;
}

/* Pairs the sender's samples (one per frame, in slot order) with frames. */
static gboolean realtime_sent_view(ScenarioRun *r, TrafgenPattern *pattern,
                                   const TrafgenReport *report, GError **error)
{
    const ProfileScenario *sc = r->sc;
    g_autofree TrafgenCursor *cursors = g_new0(TrafgenCursor, sc->flows);
    g_autofree guint8 *frame = g_malloc(RIG_NET_FRAME_MAX);
    guint k = 0;

    for (guint f = 0; f < sc->flows; f++) {
        trafgen_cursor_init(&cursors[f], pattern, f, sc->payload,
                            sc->family == PROFILE_FAMILY_IPV6);
    }
    while (k < report->samples->len) {
        gboolean any = FALSE;

        for (guint f = 0; f < sc->flows && k < report->samples->len; f++) {
            const TrafgenSample *smp =
                &g_array_index(report->samples, TrafgenSample, k);
            TrafgenSegment seg;
            ssize_t len;

            if (!trafgen_cursor_next(&cursors[f], &seg)) {
                continue;
            }
            any = TRUE;
            len = trafgen_frame_build(&r->ep, &seg, frame, RIG_NET_FRAME_MAX);
            if (len <= 0) {
                continue;
            }
            if (smp->flow != f) {
                g_set_error(error, RUN_ERROR, RUN_ERROR_FAILED,
                            "send record %u is of flow %u, expected %u", k,
                            smp->flow, f);
                return FALSE;
            }
            record_sent(r, frame, (gsize)len, smp->sent_ns);
            k++;
        }
        if (!any) {
            break;
        }
    }
    return TRUE;
}

static gboolean run_realtime(ScenarioRun *r, TrafgenPattern *pattern,
                             GError **error)
{
    const ProfileScenario *sc = r->sc;
    Sender s = {0};
    GThread *thread;
    gboolean alive = TRUE;
    guint quiet_ms = (guint)MAX(REALTIME_QUIET_US / 1000,
                                3 * r->env->profile->rsc_interval_us / 1000);

    trafgen_run_config_init(&s.config);
    s.config.pattern = pattern;
    s.config.flows = sc->flows;
    s.config.payload = sc->payload;
    s.config.endpoints = r->ep;
    /* period_us = 0 is unpaced; trafgen_run() still wants a positive
     * period (unused without a grid): keep its default then */
    if (sc->period_us > 0) {
        s.config.period_ns = (int64_t)sc->period_us * 1000;
    }
    s.config.unpaced = sc->period_us == 0;
    s.config.rsc_interval_ns = (int64_t)r->env->profile->rsc_interval_us * 1000;
    s.config.stop = &s.stop;
    /* mlockall of the whole rig (and of ASan's shadow) is not wanted. */
    s.config.pacer.lock_memory = FALSE;
    /* Spin less than rsc-trafgen's default (pacing.md: 20 us guard, ~19 %
     * CPU): QEMU and the guest share the remaining CPU of a 2-core host. */
    s.config.pacer.guard_ns = 20000;
    s.transport = r->env->injector;
    if (sc->vnet_hdr != PROFILE_VNET_NONE &&
        !trafgen_transport_enable_vnet_hdr(s.transport, scenario_vnet_mode(sc),
                                           0, error)) {
        return FALSE;
    }
    thread = g_thread_new("rig-run-sender", sender_thread, &s);
    while (!g_atomic_int_get(&s.done)) {
        /* One pass over the used ring every 2 ms: polling harder only
         * takes CPU from QEMU (qtest round trips) on a 2-core machine. */
        if (alive && (!check_alive(r, error) ||
                      !rig_guest_net_receive(r->env->guest, G_MAXUINT, 0, NULL,
                                             error))) {
            alive = FALSE;
        }
        g_usleep(2000);
        if (!alive) {
            /* Stop the sender, then report. */
            s.stop = 1;
            g_usleep(1000);
        }
    }
    g_thread_join(thread);
    if (sc->vnet_hdr != PROFILE_VNET_NONE) {
        /* Back to plain frames (an all-zero header) for the next one. */
        trafgen_transport_enable_vnet_hdr(s.transport, TRAFGEN_VNET_NONE, 0,
                                          NULL);
    }
    if (!alive) {
        g_clear_error(&s.error);
        trafgen_report_free(s.report);
        return fail_with_cause(r, error);
    }
    if (!s.ok) {
        if (!s.error) {
            g_set_error(&s.error, RUN_ERROR, RUN_ERROR_FAILED,
                        "the sender stopped without a reason");
        }
        g_propagate_prefixed_error(error, s.error, "rsc-trafgen: ");
        return FALSE;
    }
    if (!realtime_sent_view(r, pattern, s.report, error)) {
        trafgen_report_free(s.report);
        return FALSE;
    }
    trafgen_report_free(s.report);
    return run_slots_harvest_quiet(&REAL_WORLD, r, quiet_ms, error);
}

static void collect_guest(ScenarioRun *r)
{
    GPtrArray *frames = rig_guest_net_get_frames(r->env->guest);
    gboolean realtime = r->env->clock != PROFILE_CLOCK_QTEST;

    for (guint i = r->guest_from; i < frames->len; i++) {
        const RigGuestFrame *f = g_ptr_array_index(frames, i);
        gsize len = 0;
        const guint8 *data = f->data ? g_bytes_get_data(f->data, &len) : NULL;

        if (!data) {
            CheckFrame none = {.flow = CHECK_FLOW_NONE};

            check_view_add_frame(r->cs->guest, &none, NULL);
            continue;
        }
        run_views_add_received(r->flows, r->cs->guest, data, len,
                               realtime ? f->host_ns : f->vclock_ns);
    }
}

static void collect_oracle(ScenarioRun *r)
{
    CheckView *views[2] = {r->cs->oracle_qemu, r->cs->oracle_spec};
    guint ref;

    if (!r->oracle[0]) {
        const char *why = "the oracle needs the deterministic clock "
                          "(profile clock = qtest)";

        check_view_set_unavailable(r->cs->oracle_qemu, why);
        check_view_set_unavailable(r->cs->oracle_spec, why);
        return;
    }
    for (guint m = 0; m < 2; m++) {
        g_autoptr(GPtrArray) out = rsc_oracle_take_delivered(r->oracle[m]);

        for (guint i = 0; i < out->len; i++) {
            const RscDelivered *d = g_ptr_array_index(out, i);
            g_autofree guint8 *buf = g_malloc(sizeof(d->hdr) + d->len);

            memcpy(buf, &d->hdr, sizeof(d->hdr));
            memcpy(buf + sizeof(d->hdr), d->frame, d->len);
            run_views_add_received(r->flows, views[m], buf,
                                   sizeof(d->hdr) + d->len, (gint64)d->t_ns);
        }
    }
    /* The counters of the mode the build is measured against. */
    ref = r->cs->build == QEMU_BUILD_FIXED ? 1 : 0;
    r->cs->oracle_counters.ipv4 =
        *rsc_oracle_get_stats(r->oracle[ref], RSC_FAMILY_IPV4);
    r->cs->oracle_counters.ipv6 =
        *rsc_oracle_get_stats(r->oracle[ref], RSC_FAMILY_IPV6);
    r->cs->oracle_counters_valid = TRUE;
}

static gboolean write_pcap(const char *path, GPtrArray *frames, GArray *times,
                           gsize skip, gint64 wall0_ns, gint64 t0,
                           GError **error)
{
    g_autoptr(RigPcapWriter) w =
        rig_pcap_writer_new(path, RIG_PCAP_LINKTYPE_ETHERNET, 0, error);

    if (!w) {
        return FALSE;
    }
    for (guint i = 0; i < frames->len; i++) {
        gsize len;
        const guint8 *data = g_bytes_get_data(frames->pdata[i], &len);
        gint64 t = g_array_index(times, gint64, i);

        if (len < skip) {
            continue;
        }
        if (!rig_pcap_writer_write(w, wall0_ns + (t - t0), data + skip,
                                   len - skip, len - skip, error)) {
            return FALSE;
        }
    }
    /* close frees the writer, also on failure */
    return rig_pcap_writer_close(g_steal_pointer(&w), error);
}

char *run_pcap_basename(const char *profile, const char *scenario,
                        const char *what)
{
    char *base = g_strdup_printf("%s--%s-%s.pcap", profile, scenario, what);

    g_strdelimit(base, "/ ", '_');
    return base;
}

static char *pcap_name(const char *dir, const char *profile,
                       const char *scenario, const char *what)
{
    g_autofree char *base = run_pcap_basename(profile, scenario, what);

    return g_build_filename(dir, base, NULL);
}

static gboolean write_pcaps(ScenarioRun *r, gint64 wall0_ns, GError **error)
{
    const char *dir = r->env->options->pcap_dir;
    GPtrArray *frames = rig_guest_net_get_frames(r->env->guest);
    g_autoptr(GPtrArray) recv =
        g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    g_autoptr(GArray) recv_t = g_array_new(FALSE, FALSE, sizeof(gint64));
    g_autofree char *sent_path = NULL;
    g_autofree char *recv_path = NULL;
    gboolean realtime = r->env->clock != PROFILE_CLOCK_QTEST;
    gint64 t0;

    if (!dir) {
        return TRUE;
    }
    for (guint i = r->guest_from; i < frames->len; i++) {
        const RigGuestFrame *f = g_ptr_array_index(frames, i);
        gint64 t = realtime ? f->host_ns : f->vclock_ns;

        if (f->data) {
            g_ptr_array_add(recv, g_bytes_ref(f->data));
            g_array_append_val(recv_t, t);
        }
    }
    t0 = r->sent_times->len ? g_array_index(r->sent_times, gint64, 0) : 0;
    sent_path = pcap_name(dir, r->env->profile->name, r->sc->name, "sent");
    recv_path = pcap_name(dir, r->env->profile->name, r->sc->name, "received");
    return write_pcap(sent_path, r->sent_bytes, r->sent_times, 0, wall0_ns, t0,
                      error) &&
           write_pcap(recv_path, recv, recv_t, RIG_VIRTIO_NET_HDR_V1_LEN,
                      wall0_ns, t0, error);
}

/* Any check failed, also as a known failure: the trace says why. */
static gboolean scenario_failed(const ReportScenario *rs)
{
    for (guint i = 0; i < rs->checks->len; i++) {
        const CheckResult *c = g_ptr_array_index(rs->checks, i);

        if (c->status == CHECK_FAIL || c->status == CHECK_XFAIL) {
            return TRUE;
        }
    }
    return FALSE;
}

/* --trace: the failing scenario's RSC events, in its result and a file. */
static gboolean attach_trace(ScenarioRun *r, ReportScenario *rs,
                             goffset trace_from, gboolean failed,
                             GError **error)
{
    RunTrace *trace = r->env->trace_log;

    if (!trace || !failed) {
        return TRUE;
    }
    return run_trace_take(trace, trace_from, r->sc->name, &rs->trace_file,
                          &rs->trace, error);
}

static void scenario_start(ScenarioRun *r, guint index)
{
    RunEnv *env = r->env;
    const ProfileScenario *sc = r->sc;
    g_autoptr(GError) local = NULL;

    trafgen_endpoints_init_default(&r->ep, sc->family == PROFILE_FAMILY_IPV6);
    memcpy(r->ep.dst_mac, env->guest_mac, sizeof(r->ep.dst_mac));
    r->ep.src_port = (uint16_t)(PORT_BASE + (index % 250) * PORTS_PER_SCENARIO);
    r->guest_from = rig_guest_net_get_frames(env->guest)->len;
    r->deadline_us = g_get_monotonic_time() +
                     (gint64)env->profile->scenario_timeout_s * G_USEC_PER_SEC;
    r->sent_bytes =
        g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    r->sent_times = g_array_new(FALSE, FALSE, sizeof(gint64));
    r->flows = run_flows_new(r->cs);
    r->stats_ok = run_env_read_stats(env, &r->before, &local);
    if (r->stats_ok) {
        r->last_received = received_sum(&r->before);
    } else {
        g_free(r->cs->device.unavailable_reason);
        r->cs->device.unavailable_reason =
            g_error_matches(local, RIG_QMP_ERROR, RIG_QMP_ERROR_NOT_SUPPORTED)
                ? g_strdup("this QEMU does not export rsc-stats (stock "
                           "QEMU): device counters unavailable")
                : g_strdup_printf("rsc-stats unreadable: %s", local->message);
    }
    if (env->clock == PROFILE_CLOCK_QTEST) {
        for (guint m = 0; m < 2; m++) {
            RscOracleConfig cfg = {
                .mode = m == 0 || env->spec_fixes == 0 ? RSC_MODE_QEMU
                                                       : RSC_MODE_SPEC,
                .fixes = m == 0 ? 0 : env->spec_fixes,
                .interval_ns = (guint64)env->profile->rsc_interval_us * 1000,
                .ipv4_enabled = env->rsc_ipv4,
                .ipv6_enabled = env->rsc_ipv6,
            };

            r->oracle[m] = rsc_oracle_new(&cfg);
            /* The oracle starts at 0; QEMU's virtual clock is further. */
            rsc_oracle_advance(r->oracle[m],
                               (guint64)rig_guest_net_get_vclock(env->guest));
        }
    }
}

/*
 * Marks the checks this QEMU can not support (rig/qemu/caps.h) so that
 * they are skipped, naming the capability.  Returns FALSE when the
 * scenario can not run at all.
 */
static gboolean mark_unavailable(RunEnv *env, const ProfileScenario *sc,
                                 CheckScenario *cs)
{
    /* Expectations that count on where the drain timer fires. */
    static const char *const coalescing_timing[] = {
        "frame-count",     "coalesced-count",   "coalescing-ratio",
        "coalesced-share", "coalescing-window", "device-counters",
    };
    gboolean rsc =
        sc->family == PROFILE_FAMILY_IPV6 ? env->rsc_ipv6 : env->rsc_ipv4;
    g_autofree char *no_stats =
        rig_qemu_caps_missing(env->caps, RIG_QEMU_CAP_RSC_STATS);
    g_autofree char *why = NULL;

    if (no_stats) {
        check_scenario_set_unavailable(cs, "device-counters", no_stats);
    }
    if (!env->clock_fallback || env->profile->clock != PROFILE_CLOCK_QTEST) {
        return TRUE;
    }
    if (sc->rx_ring == PROFILE_RX_FULL_AT_DRAIN) {
        why = g_strdup_printf("rx_ring = full-at-drain fills the RX ring "
                              "exactly when the drain timer fires, which "
                              "takes the deterministic clock: clock = qtest "
                              "%s",
                              env->clock_fallback);
        check_scenario_set_unavailable(cs, NULL, why);
        return FALSE;
    }
    why = g_strdup_printf("depends on the deterministic clock: clock = "
                          "qtest %s",
                          env->clock_fallback);
    check_scenario_set_unavailable(cs, "oracle-qemu", why);
    check_scenario_set_unavailable(cs, "oracle-spec", why);
    /* Without RSC nothing is coalesced, whatever the timing. */
    for (gsize i = 0; rsc && i < G_N_ELEMENTS(coalescing_timing); i++) {
        check_scenario_set_unavailable(cs, coalescing_timing[i], why);
    }
    return TRUE;
}

gboolean run_scenario(RunEnv *env, guint index, const ProfileScenario *scenario,
                      ReportScenario *rs, GError **error)
{
    const Profile *p = env->profile;
    g_autoptr(TrafgenPattern) pattern = NULL;
    ScenarioRun r = {.env = env, .sc = scenario};
    gint64 wall0_ns = g_get_real_time() * 1000;
    goffset trace_from = env->trace_log ? run_trace_mark(env->trace_log) : 0;
    gboolean ok;

    pattern = run_scenario_pattern(scenario->pattern, scenario->family,
                                   scenario->count, error);
    if (!pattern) {
        g_prefix_error(error, "%s: [scenario %s] pattern: ", p->path,
                       scenario->name);
        return FALSE;
    }
    rs->views = check_scenario_new(scenario);
    r.cs = rs->views;
    r.cs->clock = env->clock;
    r.cs->rsc_interval_ns = (guint64)p->rsc_interval_us * 1000;
    r.cs->timing_slack_ns = (guint64)p->timing_slack_us * 1000;
    r.cs->window_tolerance = p->window_tolerance;
    r.cs->spec_must_pass = p->spec_must_pass;
    r.cs->build = env->build->kind;
    r.cs->build_fix_patches = env->build->fix_patches;
    r.cs->rsc_enabled = env->rsc_ipv4 || env->rsc_ipv6;
    if (!mark_unavailable(env, scenario, r.cs)) {
        /* Nothing of it can run on this QEMU: every check says why. */
        g_autoptr(GPtrArray) checks = check_run_all(r.cs);

        g_ptr_array_extend_and_steal(rs->checks, g_steal_pointer(&checks));
        return TRUE;
    }
    scenario_start(&r, index);
    if (scenario->vnet_hdr != PROFILE_VNET_NONE &&
        env->clock == PROFILE_CLOCK_QTEST &&
        !trafgen_transport_enable_vnet_hdr(env->injector, TRAFGEN_VNET_NONE, 0,
                                           error)) {
        scenario_run_clear(&r);
        return FALSE;
    }
    if (env->clock == PROFILE_CLOCK_QTEST) {
        ok = run_deterministic(&r, pattern, error);
    } else {
        ok = run_realtime(&r, pattern, error);
    }
    ok = ok && stats_delta(&r, error);
    /* Views are kept even when the run failed: the partial JSON has them. */
    collect_guest(&r);
    collect_oracle(&r);
    if (ok) {
        g_autoptr(GPtrArray) checks = check_run_all(r.cs);

        g_ptr_array_extend_and_steal(rs->checks, g_steal_pointer(&checks));
        ok = write_pcaps(&r, wall0_ns, error) &&
             attach_trace(&r, rs, trace_from, scenario_failed(rs), error);
    } else {
        g_autoptr(GError) local = NULL;

        /* The scenario's error is the one to report; a trace helps it. */
        if (!attach_trace(&r, rs, trace_from, TRUE, &local)) {
            g_printerr("rig run: %s\n", local->message);
        }
    }
    scenario_run_clear(&r);
    return ok;
}
