#include "campaign/campaign.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "campaign/tapstats.h"
#include "guest/guest-net.h"
#include "guest/profile.h"
#include "net/pcap-writer.h"
#include "qemu/netns.h"
#include "qemu/rsc-stats.h"
#include "qemu/vm.h"
#include "trafgen/transport.h"

#define NIC_ID   "net0"
#define TAP_NAME "rigfz0"
/* QEMU's default drain period; the clock steps are relative to it. */
#define RSC_INTERVAL_NS 300000
/* A round's frames at most, and how many a chunk boundary may post. */
#define ROUND_FRAMES_MAX 300
#define POST_MAX         64
/* Guest records kept before a clean reset frees them. */
#define GUEST_RECORDS_MAX 4000
/* With no RX buffer left, QEMU has stopped reading the tap once nothing
 * moved this long; with buffers, it must move within STUCK_US; and a round
 * must be drained within DRAIN_TIMEOUT_US. */
#define STALL_US         100000
#define STUCK_US         (30 * G_USEC_PER_SEC)
#define DRAIN_TIMEOUT_US (60 * G_USEC_PER_SEC)
/* Violations quoted per finding. */
#define FINDING_TEXTS 5

/* clang-format off */
G_DEFINE_QUARK(rig-fuzz-error-quark, fuzz_error)
/* clang-format on */

typedef struct {
    const FuzzConfig *cfg;
    FuzzSummary *sum;
    RigNetns *netns;
    RigVm *vm;
    RigQtest *qtest;
    RigGuestNet *guest;
    TrafgenTransport *injector;
    int tap_stats_fd;
    guint8 mac[6];
    uint64_t offloads_on; /* the guest's CTRL_GUEST_OFFLOADS_SET mask */
    gboolean rsc_off;
    guint seen;                 /* guest records already given to the checker */
    char *asan_prefix;          /* log_path of QEMU's ASan and UBSan */
    GHashTable *sanitizer_seen; /* log file -> size already counted */
    /* the round */
    guint64 round;
    FuzzChecker *checker;
    FuzzRoundEvents ev;
    guint64 injected;
    FuzzTapStats tap0;
    RigRscStats stats0;
    gboolean stats_ok;
    GPtrArray *frames;      /* GBytes sent this round, for the pcap */
    GPtrArray *prev_frames; /* the round before */
    GPtrArray *delivered;   /* GBytes the guest got this round (no header) */
    guint8 *buf;
    gint64 started_us;
    gint64 last_progress_us;
} Campaign;

static gboolean campaign_alive(Campaign *c, GError **error);

static gboolean stopped(Campaign *c, GError **error)
{
    if (c->cfg->stop && *c->cfg->stop) {
        g_set_error(error, FUZZ_ERROR, FUZZ_ERROR_INTERRUPTED,
                    "interrupted by a signal");
        return TRUE;
    }
    return FALSE;
}

/* ---- environment -------------------------------------------------- */

static gboolean open_in_netns(gpointer user_data, GError **error)
{
    Campaign *c = user_data;

    c->injector = trafgen_transport_new_packet(TAP_NAME, FALSE, error);
    if (!c->injector) {
        return FALSE;
    }
    c->tap_stats_fd = fuzz_tap_stats_open(error);
    return c->tap_stats_fd >= 0;
}

/* MTU 64 KiB: the shapes include jumbo and 64 KiB frames; a long queue so
 * that a starved ring backs frames up instead of dropping them. */
static gboolean tune_tap(Campaign *c, GError **error)
{
    const char *argv[] = {
        "ip",     "-n",  rig_netns_get_name(c->netns), "link",       "set",
        TAP_NAME, "mtu", G_STRINGIFY(FUZZ_TAP_MTU),    "txqueuelen", "20000",
        NULL};
    g_autofree char *err = NULL;
    gint status;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
                      NULL, NULL, &err, &status, error)) {
        return FALSE;
    }
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_set_error(error, FUZZ_ERROR, FUZZ_ERROR_FAILED,
                    "ip link set %s mtu %d: %s", TAP_NAME, FUZZ_TAP_MTU, err);
        return FALSE;
    }
    return TRUE;
}

/* QEMU's sanitizers write to files the campaign watches, never abort
 * silently, and skip the exit-time leak report (QEMU frees little at
 * exit; leaks are not what the campaign looks for). */
static void sanitizer_env(Campaign *c)
{
    g_autofree char *asan = g_strdup_printf(
        "detect_leaks=0:halt_on_error=1:abort_on_error=0:log_path=%s",
        c->asan_prefix);
    /* The runtimes share one log_path: give both the same. */
    g_autofree char *ubsan = g_strdup_printf(
        "print_stacktrace=1:halt_on_error=0:log_path=%s", c->asan_prefix);

    g_setenv("ASAN_OPTIONS", asan, TRUE);
    g_setenv("UBSAN_OPTIONS", ubsan, TRUE);
}

static gboolean start_vm(Campaign *c, GError **error)
{
    g_autoptr(RigVmConfig) config = rig_vm_config_new();
    RigVmNic *nic;
    int tap_fd;

    if (!rig_netns_add_tap(c->netns, TAP_NAME, &tap_fd, error)) {
        return FALSE;
    }
    g_free(config->qemu);
    config->qemu = g_strdup(c->cfg->qemu);
    config->qtest = TRUE;
    /* Under ASan QEMU starts slowly on a loaded machine. */
    config->start_timeout_ms = 60000;
    nic = rig_vm_config_add_nic(config, NIC_ID, tap_fd);
    nic->guest_rsc_ext = TRUE;
    nic->rsc_interval_ns = RSC_INTERVAL_NS;
    nic->extra_props = g_strdup("mrg_rxbuf=off,guest_tso4=on,guest_tso6=on");
    sanitizer_env(c);
    c->vm = rig_vm_start(config, error);
    if (!c->vm) {
        return FALSE;
    }
    c->qtest = rig_qtest_new_from_vm(c->vm, error);
    if (!c->qtest) {
        return FALSE;
    }
    return TRUE;
}

static gboolean start_guest(Campaign *c, GError **error)
{
    RigGuestNetConfig cfg;

    rig_guest_net_config_init(&cfg);
    cfg.profile = "netkvm";
    cfg.clock = RIG_GUEST_CLOCK_DETERMINISTIC;
    cfg.keep_data = TRUE;
    c->guest = rig_guest_net_new(c->qtest, &cfg, error);
    if (!c->guest) {
        g_prefix_error(error, "reference guest: ");
        return FALSE;
    }
    c->seen = 0;
    c->rsc_off = FALSE;
    c->offloads_on = rig_guest_net_get_offloads(c->guest);
    rig_guest_net_get_mac(c->guest, c->mac);
    /* Buffers go back only when the campaign says so. */
    rig_guest_net_starve(c->guest, 0, 0);
    return TRUE;
}

static void campaign_teardown(Campaign *c)
{
    g_clear_pointer(&c->injector, trafgen_transport_free);
    g_clear_pointer(&c->guest, rig_guest_net_free);
    g_clear_pointer(&c->qtest, rig_qtest_free);
    g_clear_pointer(&c->vm, rig_vm_free);
    g_clear_pointer(&c->netns, rig_netns_free);
    if (c->tap_stats_fd >= 0) {
        close(c->tap_stats_fd);
        c->tap_stats_fd = -1;
    }
    g_clear_pointer(&c->checker, fuzz_checker_free);
    g_clear_pointer(&c->frames, g_ptr_array_unref);
    g_clear_pointer(&c->prev_frames, g_ptr_array_unref);
    g_clear_pointer(&c->delivered, g_ptr_array_unref);
    g_clear_pointer(&c->sanitizer_seen, g_hash_table_unref);
    g_clear_pointer(&c->asan_prefix, g_free);
    g_clear_pointer(&c->buf, g_free);
}

/* ---- guest and device --------------------------------------------- */

static gboolean fail_with_cause(Campaign *c, GError **error)
{
    g_autoptr(GError) cause = NULL;

    for (guint i = 0; i < 40 && !rig_vm_has_exited(c->vm); i++) {
        g_usleep(5000);
    }
    if (!campaign_alive(c, &cause)) {
        g_clear_error(error);
        g_propagate_error(error, g_steal_pointer(&cause));
    }
    return FALSE;
}

/* Gives the checker what the guest received since the last call. */
static gboolean harvest(Campaign *c, guint *ret_got, GError **error)
{
    GPtrArray *frames;
    guint got = 0;

    if (!rig_guest_net_receive(c->guest, G_MAXUINT, 0, &got, error)) {
        return fail_with_cause(c, error);
    }
    frames = rig_guest_net_get_frames(c->guest);
    for (; c->seen < frames->len; c->seen++) {
        const RigGuestFrame *f = g_ptr_array_index(frames, c->seen);
        gsize len = 0;
        const guint8 *data = f->data ? g_bytes_get_data(f->data, &len) : NULL;

        fuzz_checker_add_delivered(c->checker, data, len);
        if (len > RIG_VIRTIO_NET_HDR_V1_LEN) {
            g_ptr_array_add(c->delivered,
                            g_bytes_new(data + RIG_VIRTIO_NET_HDR_V1_LEN,
                                        len - RIG_VIRTIO_NET_HDR_V1_LEN));
        }
    }
    if (ret_got) {
        *ret_got = got;
    }
    return TRUE;
}

static gboolean post(Campaign *c, guint count, gboolean keep_starving,
                     GError **error)
{
    if (!rig_guest_net_post_rx(c->guest, count, NULL, error)) {
        return fail_with_cause(c, error);
    }
    if (keep_starving) {
        rig_guest_net_starve(c->guest, 0, 0);
    }
    return TRUE;
}

static gboolean step(Campaign *c, gint64 ns, GError **error)
{
    c->sum->clock_steps++;
    if (ns > 0 && !rig_guest_net_clock_step(c->guest, ns, error)) {
        return fail_with_cause(c, error);
    }
    return TRUE;
}

static gboolean set_rsc(Campaign *c, gboolean on, GError **error)
{
    uint64_t rsc = RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO4) |
                   RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO6) |
                   RIG_BIT(RIG_VIRTIO_NET_F_RSC_EXT_BIT);
    uint64_t mask = on ? c->offloads_on : (c->offloads_on & ~rsc);

    if (!rig_guest_net_set_offloads(c->guest, mask, error)) {
        g_prefix_error(
            error, "CTRL_GUEST_OFFLOADS_SET 0x%" G_GINT64_MODIFIER "x: ", mask);
        return fail_with_cause(c, error);
    }
    c->rsc_off = !on;
    c->sum->offload_toggles++;
    return TRUE;
}

/* A device reset by a new driver instance; its records start afresh. */
static gboolean reset_device(Campaign *c, GError **error)
{
    if (!harvest(c, NULL, error)) {
        return FALSE;
    }
    g_clear_pointer(&c->guest, rig_guest_net_free);
    c->sum->resets++;
    if (!start_guest(c, error)) {
        return fail_with_cause(c, error);
    }
    return TRUE;
}

/* ---- injection ---------------------------------------------------- */

static gboolean inject(Campaign *c, const guint8 *frame, gsize len,
                       GError **error)
{
    int rc = trafgen_transport_send(c->injector, frame, len, 0);

    if (rc < 0) {
        g_set_error(error, FUZZ_ERROR, FUZZ_ERROR_FAILED,
                    "injecting a %zu-byte frame on %s: %s", (size_t)len,
                    TAP_NAME, g_strerror(-rc));
        return FALSE;
    }
    fuzz_checker_add_sent(c->checker, frame, len);
    g_ptr_array_add(c->frames, g_bytes_new(frame, len));
    c->injected++;
    c->sum->frames_sent++;
    return TRUE;
}

static gboolean tap_taken(Campaign *c, guint64 *ret_taken, GError **error)
{
    FuzzTapStats now;

    if (!fuzz_tap_stats_read(c->tap_stats_fd, TAP_NAME, &now, error)) {
        return FALSE;
    }
    *ret_taken = (now.tx_packets - c->tap0.tx_packets) +
                 (now.tx_dropped - c->tap0.tx_dropped);
    return TRUE;
}

/*
 * Until QEMU took every frame from the tap, or stopped taking them
 * because the RX ring is empty: it then stops at the first frame that
 * needs a buffer, a point that depends only on the frames, so that a
 * replayed round meets the same state.  Time only decides how long to
 * wait for QEMU to get there (a loaded machine deschedules it).
 */
static gboolean wait_taken(Campaign *c, GError **error)
{
    guint64 last = G_MAXUINT64;
    gint64 since = g_get_monotonic_time();

    for (;;) {
        guint64 taken;
        gint64 idle;

        if (!tap_taken(c, &taken, error)) {
            return FALSE;
        }
        if (taken >= c->injected) {
            return TRUE;
        }
        if (taken != last) {
            last = taken;
            since = g_get_monotonic_time();
        }
        idle = g_get_monotonic_time() - since;
        if (idle > 1000) {
            /* What the device used is harvested (not re-posted). */
            if (!harvest(c, NULL, error)) {
                return FALSE;
            }
            if (rig_guest_net_free_rx_buffers(c->guest) == 0 &&
                idle > STALL_US) {
                return campaign_alive(c, error);
            }
        }
        if (idle > STUCK_US) {
            g_set_error(error, FUZZ_ERROR, FUZZ_ERROR_FAILED,
                        "round %" G_GUINT64_FORMAT ": QEMU took no frame from "
                        "the tap for %d s with %" G_GUINT64_FORMAT
                        " RX buffers posted (%" G_GUINT64_FORMAT
                        " of %" G_GUINT64_FORMAT " taken)",
                        c->round, (int)(STUCK_US / G_USEC_PER_SEC),
                        rig_guest_net_free_rx_buffers(c->guest), taken,
                        c->injected);
            return FALSE;
        }
        if (!campaign_alive(c, error)) {
            return FALSE;
        }
        g_usleep(50);
    }
}

/* Fills every RX buffer still free with a UDP frame of its own. */
static gboolean fill_ring(Campaign *c, GError **error)
{
    guint64 outstanding;

    /* What the device used is no longer free: count only what is. */
    if (!harvest(c, NULL, error)) {
        return FALSE;
    }
    outstanding = rig_guest_net_free_rx_buffers(c->guest);
    RigNetFrameDesc d = {
        .family = 4,
        .protocol = RIG_IPPROTO_UDP,
        .ttl = 64,
        .df = true,
        .src_port = 9,
        .dst_port = 9,
        .payload_len = 32,
    };

    memcpy(d.dst_mac, c->mac, 6);
    memcpy(d.src_mac, (uint8_t[]){0x52, 0x54, 0x00, 0xf2, 0x22, 0x02}, 6);
    memcpy(d.src_ip, (uint8_t[]){10, 77, 1, 1}, 4);
    memcpy(d.dst_ip, (uint8_t[]){10, 77, 1, 2}, 4);
    c->sum->ring_fills++;
    for (guint64 i = 0; i < MIN(outstanding, 1024); i++) {
        ssize_t len;

        d.pattern_seed = (uint32_t)(c->round * 1024 + i);
        d.ip_id = (uint16_t)i;
        len = rig_net_build_frame(&d, c->buf, FUZZ_FRAME_MAX);
        if (len < 0 || !inject(c, c->buf, (gsize)len, error)) {
            if (len < 0) {
                g_set_error(error, FUZZ_ERROR, FUZZ_ERROR_FAILED,
                            "building a filler frame: %s",
                            g_strerror((int)-len));
            }
            return FALSE;
        }
    }
    return wait_taken(c, error);
}

/* ---- checks ------------------------------------------------------- */

static char *qemu_log_path(Campaign *c)
{
    return g_build_filename(rig_vm_get_runtime_dir(c->vm), "qemu.log", NULL);
}

static gboolean campaign_alive(Campaign *c, GError **error)
{
    if (stopped(c, error)) {
        return FALSE;
    }
    if (c->vm && rig_vm_has_exited(c->vm)) {
        g_autofree char *how = rig_vm_describe_exit(c->vm);
        g_autofree char *tail = rig_vm_get_log_tail(c->vm, 5);

        c->sum->qemu_crashed = TRUE;
        if (!c->sum->qemu_exit) {
            c->sum->qemu_exit = g_strdup_printf("QEMU (pid %d) %s%s%s",
                                                (int)rig_vm_get_pid(c->vm), how,
                                                tail[0] ? ": " : "", tail);
        }
        g_set_error(error, FUZZ_ERROR, FUZZ_ERROR_FAILED, "%s",
                    c->sum->qemu_exit);
        return FALSE;
    }
    return TRUE;
}

static guint64 drain_failures(const RigRscStats *s)
{
    return s->ipv4.purge_failed + s->ipv4.drain_failed + s->ipv4.final_failed +
           s->ipv6.purge_failed + s->ipv6.drain_failed + s->ipv6.final_failed;
}

static gboolean read_stats(Campaign *c, RigRscStats *ret, GError **error)
{
    return rig_qmp_read_rsc_stats(rig_vm_get_qmp(c->vm), NIC_ID, ret, NULL,
                                  error);
}

/* Reports, not warnings: ASan warns once about QEMU's coroutines
 * (makecontext/swapcontext), which is no finding. */
static guint count_reports(const char *text)
{
    static const char *const markers[] = {
        "runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer"};
    guint n = 0;

    for (guint i = 0; i < G_N_ELEMENTS(markers); i++) {
        for (const char *p = text; (p = strstr(p, markers[i])); p++) {
            n++;
        }
    }
    return n;
}

/*
 * Counts the reports in QEMU's sanitizer logs (whole files, every time:
 * a report may still have been half written at the last look).
 *
 * Returns: (transfer full) (nullable): what the logs gained since the last
 *   time this returned text, when the count grew; else NULL.
 */
static char *new_sanitizer_reports(Campaign *c)
{
    g_autoptr(GDir) dir = g_dir_open(c->cfg->out_dir, 0, NULL);
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GHashTable) sizes =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    const char *name;
    guint64 total = 0;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *path = NULL;
        g_autofree char *text = NULL;
        gsize len = 0, before;

        if (!g_str_has_prefix(name, "qemu-sanitizer.")) {
            continue;
        }
        path = g_build_filename(c->cfg->out_dir, name, NULL);
        if (!g_file_get_contents(path, &text, &len, NULL)) {
            continue;
        }
        total += count_reports(text);
        before = GPOINTER_TO_SIZE(g_hash_table_lookup(c->sanitizer_seen, name));
        if (len > before) {
            g_string_append_printf(out, "%s:\n%s", path, text + before);
        }
        g_hash_table_insert(sizes, g_strdup(name), GSIZE_TO_POINTER(len));
    }
    if (total <= c->sum->sanitizer_reports) {
        return NULL;
    }
    c->sum->sanitizer_reports = total;
    g_hash_table_unref(c->sanitizer_seen);
    c->sanitizer_seen = g_steal_pointer(&sizes);
    return g_string_free(g_steal_pointer(&out), FALSE);
}

char *fuzz_repro_command(const FuzzConfig *config, guint64 round)
{
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    /* The round before too: a frame QEMU queued while the ring was full
     * can depend on it (and the pcap holds both). */
    guint64 first = round > config->from_round ? round - 1 : round;
    g_autofree char *label = g_shell_quote(config->qemu_label);
    g_autofree char *out = g_strdup_printf("%s/repro-round-%" G_GUINT64_FORMAT,
                                           config->out_dir, round);
    g_autofree char *qout = g_shell_quote(out);
    g_autofree char *skip = config->skip_text && config->skip_text[0]
                                ? g_shell_quote(config->skip_text)
                                : NULL;

    return g_strdup_printf(
        "%s fuzz-device --qemu %s%s --seed %" G_GUINT64_FORMAT
        " --from-round %" G_GUINT64_FORMAT " --rounds %" G_GUINT64_FORMAT
        " %s%s%s --out %s",
        exe ? exe : "rig", label,
        config->sanitized && (strcmp(config->qemu_label, "fixed") == 0 ||
                              strcmp(config->qemu_label, "stock") == 0)
            ? " --sanitize"
            : "",
        config->seed, first, round - first + 1,
        config->strict ? "--strict" : "--lenient", skip ? " --skip " : "",
        skip ? skip : "", qout);
}

/* Writes @sets (arrays of GBytes frames) into one pcap, in order. */
static char *save_pcap(Campaign *c, const char *name, GPtrArray **sets,
                       guint nsets, GError **error)
{
    char *path = g_build_filename(c->cfg->out_dir, name, NULL);
    g_autoptr(GError) local = NULL;
    /* The default snaplen (256 KiB): a delivered frame may be longer than
     * anything sent. */
    RigPcapWriter *w =
        rig_pcap_writer_new(path, RIG_PCAP_LINKTYPE_ETHERNET, 0, &local);
    gint64 ts = g_get_real_time() * 1000;
    gboolean ok = w != NULL;

    for (guint s = 0; ok && s < nsets; s++) {
        for (guint i = 0; ok && i < sets[s]->len; i++) {
            gsize len;
            const guint8 *data = g_bytes_get_data(sets[s]->pdata[i], &len);

            ok = rig_pcap_writer_write(w, ts, data, (guint)len, (guint)len,
                                       &local);
            ts += 1000; /* 1 us apart, in order */
        }
    }
    if (w) {
        /* close frees the writer whatever happens */
        ok = rig_pcap_writer_close(w, ok ? &local : NULL) && ok;
    }
    if (!ok) {
        g_propagate_prefixed_error(error, g_steal_pointer(&local),
                                   "saving %s: ", path);
        g_free(path);
        return NULL;
    }
    return path;
}

static gboolean add_finding(Campaign *c, const char *kind, const char *text,
                            GError **error)
{
    guint index = c->sum->findings->len + 1;
    g_autofree char *sent_name = g_strdup_printf(
        "finding-%u-round-%" G_GUINT64_FORMAT "-sent.pcap", index, c->round);
    g_autofree char *got_name =
        g_strdup_printf("finding-%u-round-%" G_GUINT64_FORMAT "-delivered.pcap",
                        index, c->round);
    GPtrArray *sent_sets[] = {c->prev_frames, c->frames};
    g_autofree char *pcap =
        save_pcap(c, sent_name, sent_sets, G_N_ELEMENTS(sent_sets), error);
    g_autofree char *got =
        pcap ? save_pcap(c, got_name, &c->delivered, 1, error) : NULL;
    g_autofree char *cmd = fuzz_repro_command(c->cfg, c->round);
    g_autoptr(JsonBuilder) b = json_builder_new();

    if (!pcap || !got) {
        return FALSE;
    }
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "kind");
    json_builder_add_string_value(b, kind);
    json_builder_set_member_name(b, "round");
    json_builder_add_int_value(b, (gint64)c->round);
    json_builder_set_member_name(b, "seed");
    json_builder_add_int_value(b, (gint64)c->cfg->seed);
    json_builder_set_member_name(b, "detail");
    json_builder_add_string_value(b, text);
    json_builder_set_member_name(b, "pcap");
    json_builder_add_string_value(b, pcap);
    json_builder_set_member_name(b, "delivered_pcap");
    json_builder_add_string_value(b, got);
    json_builder_set_member_name(b, "pcap_rounds");
    json_builder_add_string_value(b, c->prev_frames->len
                                         ? "this round and the one before"
                                         : "this round");
    json_builder_set_member_name(b, "reproduce");
    json_builder_add_string_value(b, cmd);
    json_builder_end_object(b);
    g_ptr_array_add(c->sum->findings, json_builder_get_root(b));
    fprintf(stderr,
            "%s%s: FINDING %u (%s) in round %" G_GUINT64_FORMAT
            ", seed %" G_GUINT64_FORMAT ":\n%s\n  frames sent: %s\n"
            "  frames delivered: %s\n  reproduce: %s\n",
            c->cfg->tty ? "\n" : "", g_get_prgname(), index, kind, c->round,
            c->cfg->seed, text, pcap, got, cmd);
    return TRUE;
}

/* QEMU died or a sanitizer spoke: a finding, and the end of the run. */
static gboolean check_qemu(Campaign *c, gboolean *ret_fatal, GError **error)
{
    g_autofree char *reports = NULL;
    g_autoptr(GError) dead = NULL;

    *ret_fatal = FALSE;
    if (!campaign_alive(c, &dead) &&
        g_error_matches(dead, FUZZ_ERROR, FUZZ_ERROR_INTERRUPTED)) {
        g_propagate_error(error, g_steal_pointer(&dead));
        return FALSE;
    }
    /* Once QEMU is gone its logs are complete. */
    reports = new_sanitizer_reports(c);
    if (reports) {
        if (!add_finding(c, "sanitizer", reports, error)) {
            return FALSE;
        }
        *ret_fatal = dead != NULL;
    }
    if (dead) {
        g_autofree char *log = qemu_log_path(c);
        g_autofree char *keep =
            g_strdup_printf("%s/qemu-round-%" G_GUINT64_FORMAT ".log",
                            c->cfg->out_dir, c->round);
        g_autofree char *text = NULL;

        if (g_file_get_contents(log, &text, NULL, NULL)) {
            g_file_set_contents(keep, text, -1, NULL);
        }
        if (!reports && !add_finding(c, "crash", dead->message, error)) {
            return FALSE;
        }
        *ret_fatal = TRUE;
    }
    return TRUE;
}

static void add_result(FuzzSummary *s, const FuzzCheckResult *r)
{
    s->frames_delivered += r->delivered;
    s->untouched += r->untouched;
    s->merged_frames += r->merged_frames;
    s->merged_segments += r->merged_segments;
    s->payload_sent += r->payload_sent;
    s->payload_matched += r->payload_matched;
    for (guint i = 0; i < FUZZ_ACCOUNT_COUNT; i++) {
        s->accounted[i] += r->accounted[i];
    }
    for (guint i = 0; i < r->violations->len; i++) {
        const FuzzViolation *v = r->violations->pdata[i];

        s->violations[v->kind]++;
    }
}

static gboolean check_round(Campaign *c, GError **error)
{
    FuzzTapStats tap1;
    RigRscStats stats1;
    FuzzCheckResult r;
    g_autoptr(GString) text = g_string_new(NULL);

    if (!fuzz_tap_stats_read(c->tap_stats_fd, TAP_NAME, &tap1, error)) {
        return FALSE;
    }
    c->ev.tap_dropped = tap1.tx_dropped - c->tap0.tx_dropped;
    if (c->stats_ok && read_stats(c, &stats1, NULL)) {
        c->ev.ring_full_drops =
            drain_failures(&stats1) > drain_failures(&c->stats0);
    } else {
        /* No counters (a QEMU without rsc-stats): a drain may have failed
         * whenever the ring was filled. */
        c->ev.ring_full_drops = TRUE;
    }
    c->ev.strict = c->cfg->strict;
    fuzz_checker_finish(c->checker, &c->ev, &r);
    add_result(c->sum, &r);
    for (guint i = 0; i < r.violations->len && i < FINDING_TEXTS; i++) {
        const FuzzViolation *v = r.violations->pdata[i];

        g_string_append_printf(text, "  %s: %s\n",
                               fuzz_violation_kind_name(v->kind), v->text);
    }
    if (r.violations->len > FINDING_TEXTS) {
        g_string_append_printf(text, "  ... and %u more\n",
                               r.violations->len - FINDING_TEXTS);
    }
    if (r.violations->len && c->sum->findings->len < c->cfg->max_findings) {
        g_string_append_printf(
            text, "  round events:%s%s%s%s",
            c->ev.ring_full_drops ? " ring-full-drain-failures" : "",
            c->ev.reset ? " reset" : "", c->ev.offloads_off ? " rsc-off" : "",
            c->ev.ring_full_drops || c->ev.reset || c->ev.offloads_off
                ? ""
                : " none");
        if (!add_finding(c, "conservation", text->str, error)) {
            fuzz_check_result_clear(&r);
            return FALSE;
        }
    }
    fuzz_check_result_clear(&r);
    return TRUE;
}

/* ---- rounds ------------------------------------------------------- */

static gboolean begin_round(Campaign *c, guint64 round, GError **error)
{
    c->round = round;
    g_clear_pointer(&c->checker, fuzz_checker_free);
    c->checker = fuzz_checker_new();
    g_clear_pointer(&c->prev_frames, g_ptr_array_unref);
    c->prev_frames = c->frames;
    c->frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    g_clear_pointer(&c->delivered, g_ptr_array_unref);
    c->delivered =
        g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    memset(&c->ev, 0, sizeof(c->ev));
    c->injected = 0;
    /* A clean reset between rounds frees the guest's records. */
    if (rig_guest_net_get_frames(c->guest)->len > GUEST_RECORDS_MAX &&
        !reset_device(c, error)) {
        return FALSE;
    }
    c->stats_ok = read_stats(c, &c->stats0, NULL);
    return fuzz_tap_stats_read(c->tap_stats_fd, TAP_NAME, &c->tap0, error);
}

/* Everything out: buffers posted, timers fired, tap empty, quiet. */
static gboolean drain_round(Campaign *c, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + DRAIN_TIMEOUT_US;
    guint quiet = 0;

    while (quiet < 2) {
        guint got = 0;
        guint64 taken = 0;

        /* Every buffer back, then QEMU takes what it can from the tap
         * before the clock moves: which frames a drain meets depends on
         * the frames only, not on how fast QEMU ran. */
        if (!post(c, G_MAXUINT, TRUE, error) || !wait_taken(c, error) ||
            !step(c, 2 * RSC_INTERVAL_NS + 1, error) ||
            !harvest(c, &got, error) || !tap_taken(c, &taken, error)) {
            return FALSE;
        }
        if (taken >= c->injected && got == 0) {
            quiet++;
        } else {
            quiet = 0;
        }
        if (!campaign_alive(c, error)) {
            return FALSE;
        }
        if (g_get_monotonic_time() > deadline) {
            g_set_error(error, FUZZ_ERROR, FUZZ_ERROR_FAILED,
                        "round %" G_GUINT64_FORMAT " did not drain in %d s: "
                        "QEMU took %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                        " frames from the tap",
                        c->round, (int)(DRAIN_TIMEOUT_US / G_USEC_PER_SEC),
                        taken, c->injected);
            return FALSE;
        }
    }
    if (c->rsc_off && !set_rsc(c, TRUE, error)) {
        return FALSE;
    }
    /* The next round starts with the ring full of buffers. */
    return post(c, G_MAXUINT, TRUE, error);
}

static gboolean chunk_event(Campaign *c, FuzzPrng *plan, GError **error)
{
    uint32_t r = fuzz_prng_below(plan, 100);

    if (r < 30) {
        return step(c, fuzz_prng_range(plan, 0, 2 * RSC_INTERVAL_NS), error);
    }
    if (r < 55) {
        return harvest(c, NULL, error) &&
               post(c, fuzz_prng_range(plan, 0, POST_MAX), TRUE, error);
    }
    if (r < 63) {
        /* Cached segments may be in flight: RSC off (or on) mid-coalesce. */
        if (!c->rsc_off) {
            c->ev.offloads_off = TRUE;
        }
        return set_rsc(c, c->rsc_off, error);
    }
    if (r < 67) {
        c->ev.reset = TRUE;
        return reset_device(c, error);
    }
    return TRUE;
}

static gboolean run_round(Campaign *c, guint64 round, GError **error)
{
    FuzzPrng plan;
    FuzzGen gen;
    guint nflows, nframes, nchunks;
    gboolean fill;

    if (!begin_round(c, round, error)) {
        return FALSE;
    }
    fuzz_prng_init(&plan, c->cfg->seed, 2 * round + 1);
    nflows = fuzz_prng_chance(&plan, 40)
                 ? fuzz_prng_range(&plan, 1, 4)
                 : fuzz_prng_range(&plan, 5, FUZZ_MAX_FLOWS);
    nframes = fuzz_prng_range(&plan, 1, ROUND_FRAMES_MAX);
    nchunks = fuzz_prng_range(&plan, 1, 4);
    fill = fuzz_prng_chance(&plan, 20);
    fuzz_gen_init(&gen, c->cfg->seed, 2 * round, c->mac, nflows);
    fuzz_gen_set_skip(&gen, c->cfg->skip_shapes);
    for (guint ch = 0; ch < nchunks; ch++) {
        guint n =
            ch + 1 == nchunks ? nframes : fuzz_prng_range(&plan, 0, nframes);

        nframes -= n;
        for (guint i = 0; i < n; i++) {
            ssize_t len = fuzz_gen_next(&gen, c->buf, FUZZ_FRAME_MAX, NULL);

            if (len < 0) {
                g_set_error(error, FUZZ_ERROR, FUZZ_ERROR_FAILED,
                            "round %" G_GUINT64_FORMAT ": the frame builder "
                            "refused a shape: %s",
                            round, g_strerror((int)-len));
                return FALSE;
            }
            if (!inject(c, c->buf, (gsize)len, error)) {
                return FALSE;
            }
        }
        if (!wait_taken(c, error)) {
            return FALSE;
        }
        if (ch == 0 && fill &&
            (!fill_ring(c, error) || !step(c, RSC_INTERVAL_NS + 1, error))) {
            return FALSE;
        }
        if (ch + 1 < nchunks && !chunk_event(c, &plan, error)) {
            return FALSE;
        }
    }
    for (guint i = 0; i < FUZZ_KIND_COUNT; i++) {
        c->sum->kinds[i] += gen.made[i];
    }
    return drain_round(c, error) && check_round(c, error);
}

/* ---- the run ------------------------------------------------------ */

static void progress(Campaign *c, gboolean last)
{
    gint64 now = g_get_monotonic_time();
    gdouble secs = (gdouble)(now - c->started_us) / G_USEC_PER_SEC;
    const FuzzSummary *s = c->sum;
    guint64 violations = 0;

    if (!last &&
        now - c->last_progress_us < (c->cfg->tty ? 500000 : 10000000)) {
        return;
    }
    c->last_progress_us = now;
    for (guint i = 0; i < FUZZ_VIOLATION_COUNT; i++) {
        violations += s->violations[i];
    }
    fprintf(stderr,
            "%s%s: round %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
            " frames sent (%.0f/s), %" G_GUINT64_FORMAT
            " delivered, %" G_GUINT64_FORMAT " merged, %" G_GUINT64_FORMAT
            " violations, %" G_GUINT64_FORMAT " sanitizer reports, %u "
            "findings%s",
            c->cfg->tty ? "\r" : "", g_get_prgname(), c->round, s->frames_sent,
            secs > 0 ? (gdouble)s->frames_sent / secs : 0.0,
            s->frames_delivered, s->merged_frames, violations,
            s->sanitizer_reports, s->findings->len,
            c->cfg->tty && !last ? "   " : "\n");
    fflush(stderr);
}

static gboolean limits_reached(Campaign *c, guint64 rounds_done)
{
    const FuzzConfig *cfg = c->cfg;

    return (cfg->max_frames && c->sum->frames_sent >= cfg->max_frames) ||
           (cfg->max_rounds && rounds_done >= cfg->max_rounds) ||
           (cfg->max_seconds &&
            g_get_monotonic_time() - c->started_us >=
                (gint64)cfg->max_seconds * G_USEC_PER_SEC) ||
           (!cfg->keep_going && c->sum->findings->len >= cfg->max_findings);
}

gboolean fuzz_campaign_run(const FuzzConfig *cfg, FuzzSummary *sum,
                           GError **error)
{
    Campaign c = {.cfg = cfg, .sum = sum, .tap_stats_fd = -1};
    gboolean ok = FALSE;
    guint64 done = 0;
    RigRscStats end;

    memset(sum, 0, sizeof(*sum));
    sum->findings =
        g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    c.started_us = g_get_monotonic_time();
    c.buf = g_malloc(FUZZ_FRAME_MAX);
    c.frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    c.delivered = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    c.sanitizer_seen =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (g_mkdir_with_parents(cfg->out_dir, 0755) != 0) {
        int e = errno;

        g_set_error(error, FUZZ_ERROR, FUZZ_ERROR_FAILED,
                    "cannot create %s: %s", cfg->out_dir, g_strerror(e));
        goto out;
    }
    c.asan_prefix = g_build_filename(cfg->out_dir, "qemu-sanitizer", NULL);
    c.netns = rig_netns_new(error);
    if (!c.netns || !start_vm(&c, error) || !tune_tap(&c, error) ||
        !start_guest(&c, error) ||
        !rig_netns_run(c.netns, open_in_netns, &c, error)) {
        goto out;
    }
    for (guint64 round = cfg->from_round; !limits_reached(&c, done);
         round++, done++) {
        g_autoptr(GError) local = NULL;
        gboolean fatal = FALSE;

        if (!run_round(&c, round, &local)) {
            /* A QEMU that died mid-round is a finding, not a rig error;
             * the guest may see the broken connection before the exit. */
            for (guint i = 0; i < 400 && !rig_vm_has_exited(c.vm); i++) {
                g_usleep(5000);
            }
            if (!check_qemu(&c, &fatal, error)) {
                goto out;
            }
            if (!fatal) {
                g_propagate_error(error, g_steal_pointer(&local));
                goto out;
            }
            sum->rounds = done + 1;
            break;
        }
        sum->rounds = done + 1;
        if (!check_qemu(&c, &fatal, error)) {
            goto out;
        }
        if (fatal) {
            break;
        }
        progress(&c, FALSE);
    }
    if (!sum->qemu_crashed && read_stats(&c, &end, NULL)) {
        sum->rsc_stats = rig_rsc_stats_to_json(&end);
    }
    ok = TRUE;
out:
    if (c.vm) {
        progress(&c, TRUE);
    }
    sum->seconds =
        (gdouble)(g_get_monotonic_time() - c.started_us) / G_USEC_PER_SEC;
    campaign_teardown(&c);
    return ok;
}

void fuzz_summary_clear(FuzzSummary *s)
{
    g_clear_pointer(&s->findings, g_ptr_array_unref);
    g_clear_pointer(&s->qemu_exit, g_free);
    g_clear_pointer(&s->rsc_stats, json_node_unref);
}

static void add_uint(JsonBuilder *b, const char *name, guint64 v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, (gint64)v);
}

JsonNode *fuzz_summary_to_json(const FuzzConfig *cfg, const FuzzSummary *s)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    guint64 violations = 0;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "qemu");
    json_builder_add_string_value(b, cfg->qemu_label);
    json_builder_set_member_name(b, "qemu_path");
    json_builder_add_string_value(b, cfg->qemu);
    json_builder_set_member_name(b, "sanitized");
    json_builder_add_boolean_value(b, cfg->sanitized);
    json_builder_set_member_name(b, "qemu_build");
    if (cfg->qemu_build) {
        json_builder_add_value(b, json_node_copy(cfg->qemu_build));
    } else {
        json_builder_add_null_value(b);
    }
    add_uint(b, "seed", cfg->seed);
    add_uint(b, "from_round", cfg->from_round);
    json_builder_set_member_name(b, "skipped_shapes");
    json_builder_begin_array(b);
    for (guint i = 0; i < FUZZ_KIND_COUNT; i++) {
        if ((cfg->skip_shapes >> i) & 1) {
            json_builder_add_string_value(b, fuzz_kind_name(i));
        }
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "strict");
    json_builder_add_boolean_value(b, cfg->strict);
    add_uint(b, "rounds", s->rounds);
    add_uint(b, "frames_sent", s->frames_sent);
    add_uint(b, "frames_delivered", s->frames_delivered);
    add_uint(b, "delivered_untouched", s->untouched);
    add_uint(b, "merged_frames", s->merged_frames);
    add_uint(b, "merged_segments", s->merged_segments);
    add_uint(b, "tcp_payload_bytes_sent", s->payload_sent);
    add_uint(b, "tcp_payload_bytes_delivered_once", s->payload_matched);
    json_builder_set_member_name(b, "accounted");
    json_builder_begin_object(b);
    for (guint i = 0; i < FUZZ_ACCOUNT_COUNT; i++) {
        add_uint(b, fuzz_account_name(i), s->accounted[i]);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "violations");
    json_builder_begin_object(b);
    for (guint i = 0; i < FUZZ_VIOLATION_COUNT; i++) {
        add_uint(b, fuzz_violation_kind_name(i), s->violations[i]);
        violations += s->violations[i];
    }
    json_builder_end_object(b);
    add_uint(b, "violations_total", violations);
    json_builder_set_member_name(b, "shapes");
    json_builder_begin_object(b);
    for (guint i = 0; i < FUZZ_KIND_COUNT; i++) {
        add_uint(b, fuzz_kind_name(i), s->kinds[i]);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "events");
    json_builder_begin_object(b);
    add_uint(b, "device_resets", s->resets);
    add_uint(b, "offload_toggles", s->offload_toggles);
    add_uint(b, "ring_fills", s->ring_fills);
    add_uint(b, "clock_steps", s->clock_steps);
    json_builder_end_object(b);
    add_uint(b, "sanitizer_reports", s->sanitizer_reports);
    json_builder_set_member_name(b, "qemu_crashed");
    json_builder_add_boolean_value(b, s->qemu_crashed);
    json_builder_set_member_name(b, "qemu_exit");
    if (s->qemu_exit) {
        json_builder_add_string_value(b, s->qemu_exit);
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_set_member_name(b, "rsc_stats");
    if (s->rsc_stats) {
        json_builder_add_value(b, json_node_copy(s->rsc_stats));
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_set_member_name(b, "findings");
    json_builder_begin_array(b);
    for (guint i = 0; s->findings && i < s->findings->len; i++) {
        json_builder_add_value(b, json_node_copy(s->findings->pdata[i]));
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "seconds");
    json_builder_add_double_value(b, s->seconds);
    json_builder_set_member_name(b, "frames_per_second");
    json_builder_add_double_value(
        b, s->seconds > 0 ? (gdouble)s->frames_sent / s->seconds : 0.0);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}
