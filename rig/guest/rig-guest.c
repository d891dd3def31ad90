/*
 * rig-guest: start (through the rig's launcher) or attach to a QEMU and act
 * as its virtio-net guest over qtest, printing what the device delivers.
 * For debugging, for the integration tests (--script: one command per
 * stdin line, one JSON reply per stdout line) and for a throughput figure
 * (--bench).
 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guest/guest-error.h"
#include "guest/guest-net.h"
#include "guest/rig-guest-cli.h"
#include "net/build.h"
#include "qemu/caps.h"
#include "qemu/netns.h"
#include "qemu/qmp.h"
#include "qemu/rsc-stats.h"
#include "qemu/vm.h"
#include "rig-config.h"

static void session_clear(Session *s)
{
    g_clear_pointer(&s->net, rig_guest_net_free);
    g_clear_pointer(&s->qtest, rig_qtest_free);
    g_clear_pointer(&s->vm, rig_vm_free);
    g_clear_pointer(&s->injector, trafgen_transport_free);
    g_clear_pointer(&s->netns, rig_netns_free);
}

void rig_guest_cli_print_json(JsonNode *node)
{
    g_autofree char *text = json_to_string(node, FALSE);

    printf("%s\n", text);
    fflush(stdout);
}

/* Runs inside the rig's namespace, where the tap is. */
static gboolean open_injector(gpointer user_data, GError **error)
{
    Session *s = user_data;

    s->injector = trafgen_transport_new_packet(TAP_NAME, FALSE, error);
    return s->injector != NULL;
}

/*
 * A QEMU without the qtest accelerator (Debian 12's 7.2) can still run the
 * guest with QEMU's own clocks; the virtual clock it can not give.
 */
static gboolean choose_clock(Session *s, GError **error)
{
    Options *o = s->opt;
    const char *qemu = o->qemu ? o->qemu : rig_vm_default_qemu();
    const RigQemuCaps *caps;
    g_autofree char *missing = NULL;

    if (o->accel || s->clock == RIG_GUEST_CLOCK_FREE) {
        return TRUE;
    }
    caps = rig_qemu_caps_probe(qemu, error);
    if (!caps) {
        return FALSE;
    }
    missing = rig_qemu_caps_missing(caps, RIG_QEMU_CAP_ACCEL_QTEST);
    if (!missing) {
        return TRUE;
    }
    if (s->clock == RIG_GUEST_CLOCK_DETERMINISTIC) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "the deterministic clock %s: pass --clock free (QEMU's "
                    "own clocks, vCPU halted at reset), or use a QEMU with "
                    "the qtest accelerator, e.g. the rig's own build "
                    "(ci/build-qemu --print-binary)",
                    missing);
        return FALSE;
    }
    fprintf(stderr,
            "rig-guest: the realtime clock %s: using --clock free (QEMU's "
            "own clocks, vCPU halted at reset) instead\n",
            missing);
    s->clock = RIG_GUEST_CLOCK_FREE;
    return TRUE;
}

/* A QEMU whose memory backends can not be shared: say so, then fall back. */
static gboolean shared_ram_refused(const GError *error)
{
    return g_error_matches(error, RIG_VM_ERROR, RIG_VM_ERROR_EXITED) &&
           (strstr(error->message, "memory-backend") != NULL ||
            strstr(error->message, "share") != NULL);
}

static gboolean start_vm(Session *s, GError **error)
{
    Options *o = s->opt;
    g_autoptr(RigVmConfig) config = rig_vm_config_new();
    RigVmNic *nic;
    int tap_fd;

    if (!choose_clock(s, error)) {
        return FALSE;
    }
    s->netns = rig_netns_new(error);
    if (!s->netns || !rig_netns_add_tap(s->netns, TAP_NAME, &tap_fd, error)) {
        return FALSE;
    }
    if (o->qemu) {
        g_free(config->qemu);
        config->qemu = g_strdup(o->qemu);
    }
    config->qtest = TRUE;
    config->memory_mib = (guint)o->memory_mib;
    g_free(config->accel);
    if (o->accel) {
        config->accel = g_strdup(o->accel);
    } else if (s->clock == RIG_GUEST_CLOCK_FREE) {
        config->accel = g_strdup("tcg");
    } else {
        config->accel = g_strdup("qtest");
    }
    if (s->clock == RIG_GUEST_CLOCK_FREE) {
        /* No qtest accelerator: a halted vCPU keeps firmware away. */
        config->halt_firmware = TRUE;
    }
    nic = rig_vm_config_add_nic(config, NIC_ID, tap_fd);
    nic->guest_rsc_ext = !o->no_rsc_ext;
    nic->rsc_interval_ns = o->rsc_interval == G_MININT64 ? -1 : o->rsc_interval;
    if (o->rx_queue_size > 0) {
        nic->extra_props =
            g_strdup_printf("rx_queue_size=%d", o->rx_queue_size);
    }
    config->shared_ram = s->shared_ram;
    s->vm = rig_vm_start(config, error);
    if (!s->vm && s->shared_ram && g_strcmp0(o->ram_access, "auto") == 0 &&
        shared_ram_refused(*error)) {
        fprintf(stderr, "rig-guest: this QEMU can not share its guest RAM "
                        "(memory-backend-file,share=on); reaching it over "
                        "qtest instead\n");
        g_clear_error(error);
        s->shared_ram = FALSE;
        config->shared_ram = FALSE;
        /* The tap fd went to the first QEMU: open the namespace anew. */
        g_clear_pointer(&s->netns, rig_netns_free);
        return start_vm(s, error);
    }
    if (!s->vm) {
        return FALSE;
    }
    s->qtest = rig_qtest_new_from_vm(s->vm, error);
    if (!s->qtest) {
        return FALSE;
    }
    return rig_netns_run(s->netns, open_injector, s, error);
}

static gboolean start_guest(Session *s, GError **error)
{
    Options *o = s->opt;
    RigGuestNetConfig cfg;

    if (o->attach) {
        s->qtest = rig_qtest_connect_unix(o->attach, 5000, error);
        if (!s->qtest) {
            return FALSE;
        }
    } else if (!start_vm(s, error)) {
        return FALSE;
    }
    rig_guest_net_config_init(&cfg);
    cfg.profile = o->profile;
    cfg.clock = s->clock;
    cfg.keep_data = o->keep_data;
    cfg.skip_offloads = o->skip_offloads;
    cfg.ram_size = (uint64_t)o->memory_mib << 20;
    if (s->vm && s->shared_ram) {
        gsize size;

        cfg.ram_map = rig_vm_get_shared_ram(s->vm, &size);
        cfg.ram_map_size = size;
    }
    if (o->rx_queue_size > 0) {
        cfg.rx_queue_size = (unsigned)o->rx_queue_size;
    }
    if (o->rx_buffers != G_MININT) {
        cfg.rx_buffers = (unsigned)o->rx_buffers;
    }
    if (o->mrg_buf_size > 0) {
        cfg.mrg_buf_size = (unsigned)o->mrg_buf_size;
    }
    s->net = rig_guest_net_new(s->qtest, &cfg, error);
    return s->net != NULL;
}

static void print_frame_human(const RigGuestFrame *f)
{
    printf("#%" G_GUINT64_FORMAT " vclock=%" G_GINT64_FORMAT
           " len=%u %s segs=%u dupacks=%u gso=%u %s seq=%u len=%u%s%s\n",
           f->index, f->vclock_ns, f->len,
           f->coalesced ? "COALESCED" : "single", f->segments, f->dup_acks,
           f->gso_type, f->flow[0] ? f->flow : "(not IP)", f->seq,
           f->payload_len, f->parse_error ? " parse-error=" : "",
           f->parse_error ? f->parse_error : "");
    fflush(stdout);
}

static int run_print(Session *s)
{
    Options *o = s->opt;
    gint64 deadline = g_get_monotonic_time() + (gint64)(o->timeout_s * 1e6);
    GPtrArray *frames = rig_guest_net_get_frames(s->net);
    guint shown = 0;
    g_autoptr(GError) error = NULL;

    if (s->vm) {
        uint8_t mac[6];

        /* Tells a caller where to inject: the namespace and tap. */
        rig_guest_net_get_mac(s->net, mac);
        fprintf(stderr,
                "rig-guest: ready qemu-pid=%d netns=%s tap=%s "
                "mac=%02x:%02x:%02x:%02x:%02x:%02x\n",
                (int)rig_vm_get_pid(s->vm), rig_netns_get_name(s->netns),
                TAP_NAME, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    }
    if (!o->json) {
        g_autofree char *feat =
            g_strdup_printf("0x%016" G_GINT64_MODIFIER "x",
                            (guint64)rig_guest_net_get_features(s->net));

        fprintf(stderr,
                "rig-guest: profile %s, features %s, clock %s; receiving "
                "(%s%.1f s)\n",
                o->profile, feat, rig_guest_clock_mode_name(s->clock),
                o->count > 0 ? "up to count or " : "", o->timeout_s);
    }
    while (g_get_monotonic_time() < deadline &&
           (o->count <= 0 || frames->len < (guint)o->count)) {
        guint want = o->count > 0 ? (guint)o->count - frames->len : G_MAXUINT;

        if (!rig_guest_net_receive(s->net, want, 100, NULL, &error)) {
            fprintf(stderr, "rig-guest: %s\n", error->message);
            return EXIT_CANNOT_RUN;
        }
        for (; shown < frames->len; shown++) {
            if (!o->json) {
                print_frame_human(frames->pdata[shown]);
            }
        }
    }
    if (o->json) {
        g_autoptr(JsonNode) node = rig_guest_net_stats_to_json(s->net, TRUE);

        rig_guest_cli_print_json(node);
    } else {
        const RigGuestCounters *c = rig_guest_net_get_counters(s->net);

        printf("frames=%" G_GUINT64_FORMAT " coalesced=%" G_GUINT64_FORMAT
               " segments=%" G_GUINT64_FORMAT " bytes=%" G_GUINT64_FORMAT
               " dup_acks=%" G_GUINT64_FORMAT "\n",
               c->frames, c->coalesced_frames, c->segments, c->bytes,
               c->dup_acks);
    }
    if (o->count > 0 && frames->len < (guint)o->count) {
        fprintf(stderr, "rig-guest: received %u of %d frames within %.1f s\n",
                frames->len, o->count, o->timeout_s);
        return EXIT_CHECK_FAILED;
    }
    return 0;
}
static void options_clear(Options *o)
{
    g_clear_pointer(&o->qemu, g_free);
    g_clear_pointer(&o->attach, g_free);
    g_clear_pointer(&o->profile, g_free);
    g_clear_pointer(&o->clock, g_free);
    g_clear_pointer(&o->accel, g_free);
    g_clear_pointer(&o->ram_access, g_free);
}

/*
 * Numbers GOption accepted as integers but that make no sense here: named
 * with their valid range instead of silently clamped or wrapped.
 */
static gboolean check_ranges(const Options *o, GError **error)
{
    const struct {
        const char *option;
        gint64 value;
        gboolean given;
        gint64 min;
        gint64 max;
        const char *unit;
    } checks[] = {
        {"--count/-c", o->count, TRUE, 0, G_MAXINT32, "frames (0: no limit)"},
        {"--rsc-interval", o->rsc_interval, o->rsc_interval != G_MININT64, 0,
         G_MAXUINT32, "ns (QEMU's 32-bit rsc_interval)"},
        {"--rx-buffers", o->rx_buffers, o->rx_buffers != G_MININT, 0,
         RIG_VRING_MAX_SIZE, "buffers (0: start starved)"},
        {"--rx-queue-size", o->rx_queue_size, o->rx_queue_size != 0, 256, 1024,
         "entries (a power of two)"},
        {"--mrg-buf-size", o->mrg_buf_size, o->mrg_buf_size != 0, 64, 65536,
         "bytes"},
        {"--memory/-m", o->memory_mib, TRUE, 32, 2048, "MiB"},
        {"--bench-flows", o->bench_flows, TRUE, 1, 1024, "flows"},
    };

    for (guint i = 0; i < G_N_ELEMENTS(checks); i++) {
        if (checks[i].given && (checks[i].value < checks[i].min ||
                                checks[i].value > checks[i].max)) {
            g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                        "%s %" G_GINT64_FORMAT
                        " is out of range: %" G_GINT64_FORMAT
                        "..%" G_GINT64_FORMAT " %s",
                        checks[i].option, checks[i].value, checks[i].min,
                        checks[i].max, checks[i].unit);
            return FALSE;
        }
    }
    if (o->rx_queue_size != 0 &&
        !rig_vring_size_valid((unsigned)o->rx_queue_size)) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "--rx-queue-size %d is not a power of two (256, 512, 1024)",
                    o->rx_queue_size);
        return FALSE;
    }
    /* NaN fails both comparisons: written so that it is rejected too. */
    if (!(o->timeout_s > 0 && o->timeout_s <= 86400)) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "--timeout/-t %g is out of range: more than 0, at most "
                    "86400 s",
                    o->timeout_s);
        return FALSE;
    }
    if (!(o->bench_s >= 0 && o->bench_s <= 3600)) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "--bench %g is out of range: 0..3600 s", o->bench_s);
        return FALSE;
    }
    return TRUE;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Options, options_clear)

int main(int argc, char **argv)
{
    g_auto(Options) o = {
        .profile = NULL,
        .count = 0,
        .timeout_s = 10,
        .rsc_interval = G_MININT64,
        .rx_buffers = G_MININT,
        .memory_mib = 128,
        .bench_flows = 1,
    };
    g_autofree char *profiles = rig_guest_profile_names();
    g_autofree char *profile_help =
        g_strdup_printf("Feature profile: %s (default netkvm)", profiles);
    GOptionEntry entries[] = {
        {"qemu", 0, 0, G_OPTION_ARG_FILENAME, &o.qemu,
         "QEMU binary (default: $RIG_QEMU, else the build's patched QEMU)",
         "PATH"},
        {"attach", 0, 0, G_OPTION_ARG_FILENAME, &o.attach,
         "Attach to a running QEMU's qtest socket "
         "(-qtest unix:PATH,server=on,wait=off) instead of starting one",
         "PATH"},
        {"profile", 'p', 0, G_OPTION_ARG_STRING, &o.profile, profile_help,
         "NAME"},
        {"count", 'c', 0, G_OPTION_ARG_INT, &o.count,
         "Stop after N frames (exit 1 if fewer arrive in time)", "N"},
        {"timeout", 't', 0, G_OPTION_ARG_DOUBLE, &o.timeout_s,
         "Receive for at most SEC seconds (default 10)", "SEC"},
        {"json", 'j', 0, G_OPTION_ARG_NONE, &o.json,
         "Print the statistics and frame records as JSON at the end", NULL},
        {"clock", 0, 0, G_OPTION_ARG_STRING, &o.clock,
         "Clock mode: realtime (default; deterministic with --script), "
         "deterministic, free (QEMU without "
         "-accel qtest: halt-only firmware)",
         "MODE"},
        {"accel", 0, 0, G_OPTION_ARG_STRING, &o.accel,
         "QEMU accelerator (default qtest; tcg with --clock free)", "ACCEL"},
        {"rsc-interval", 0, 0, G_OPTION_ARG_INT64, &o.rsc_interval,
         "virtio-net-pci rsc_interval in ns, 0..4294967295 (default QEMU's "
         "300000)",
         "NS"},
        {"no-rsc-ext", 0, 0, G_OPTION_ARG_NONE, &o.no_rsc_ext,
         "Start the NIC with guest_rsc_ext=off", NULL},
        {"rx-queue-size", 0, 0, G_OPTION_ARG_INT, &o.rx_queue_size,
         "RX ring size (power of two, 256..1024)", "N"},
        {"rx-buffers", 0, 0, G_OPTION_ARG_INT, &o.rx_buffers,
         "RX buffers posted at start, 0..32768 (default: fill the ring; 0: "
         "starve)",
         "N"},
        {"mrg-buf-size", 0, 0, G_OPTION_ARG_INT, &o.mrg_buf_size,
         "Buffer size in mergeable mode (default 4096)", "BYTES"},
        {"memory", 'm', 0, G_OPTION_ARG_INT, &o.memory_mib,
         "Guest RAM in MiB, 32..2048 (default 128)", "MIB"},
        {"ram-access", 0, 0, G_OPTION_ARG_STRING, &o.ram_access,
         "How the guest reaches its RAM: shared (QEMU's RAM is a "
         "memory-backend-file the rig maps), qtest (every access a qtest "
         "command), auto (default: shared, else qtest; qtest with --attach)",
         "MODE"},
        {"keep-data", 0, 0, G_OPTION_ARG_NONE, &o.keep_data,
         "Keep frame bytes (hex \"data\" in JSON records)", NULL},
        {"skip-offloads", 0, 0, G_OPTION_ARG_NONE, &o.skip_offloads,
         "Do not send CTRL_GUEST_OFFLOADS_SET after DRIVER_OK", NULL},
        {"script", 0, 0, G_OPTION_ARG_NONE, &o.script,
         "Read commands from stdin, one JSON reply per line (below)", NULL},
        {"bench", 0, 0, G_OPTION_ARG_DOUBLE, &o.bench_s,
         "Inject UDP frames on the tap for SEC seconds and print the "
         "harvest rate",
         "SEC"},
        {"bench-tcp", 0, 0, G_OPTION_ARG_NONE, &o.bench_tcp,
         "--bench: TCP segments (the RSC path) instead of UDP frames, and "
         "QEMU's CPU time per segment",
         NULL},
        {"bench-flows", 0, 0, G_OPTION_ARG_INT, &o.bench_flows,
         "--bench-tcp: segments round-robin over N flows, 1..1024 (default "
         "1)",
         "N"},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- reference virtio-net guest over qtest");
    g_autoptr(GError) error = NULL;
    Session s = {.opt = &o};
    int rc;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Starts QEMU (virtio-net-pci on a tap in a private network "
             "namespace, -accel qtest) through the rig's launcher, or attaches "
             "to one, negotiates like Windows NetKVM and prints every frame "
             "the device delivers.\n\nExit status: 0 ok, 1 fewer frames than "
             "--count, 2 could not run.\n\n"
             "--script commands: recv N MS (wait up to MS for N frames), "
             "step NS (virtual clock), post N (RX buffers), starve FRAMES US, "
             "offloads MASK (raw GUEST_OFFLOADS_SET), rsc on|off [4|6] (as "
             "NetKVM's OnSetRSCParameters), d0 (NetKVM's D0 entry: offloads, "
             "MAC, RX kick), stats, frames, log (deterministic frame log), "
             "send HEX (TX), poke WIDTH ADDR VALUE (fault injection), "
             "rsc-received, wait-rsc-received N MS, rsc-stats, "
             "qmp CMD [JSON], quit.\n");
    if (!g_option_context_parse(ctx, &argc, &argv, &error) ||
        !check_ranges(&o, &error)) {
        fprintf(stderr, "rig-guest: %s (see --help)\n", error->message);
        return EXIT_CANNOT_RUN;
    }
    if (argc > 1) {
        fprintf(stderr, "rig-guest: unexpected argument '%s' (see --help)\n",
                argv[1]);
        return EXIT_CANNOT_RUN;
    }
    if (!o.ram_access) {
        o.ram_access = g_strdup("auto");
    }
    if (g_str_equal(o.ram_access, "shared") ||
        g_str_equal(o.ram_access, "auto")) {
        s.shared_ram = o.attach == NULL;
        if (!s.shared_ram && g_str_equal(o.ram_access, "shared")) {
            fprintf(stderr, "rig-guest: --ram-access shared needs rig-guest "
                            "to start QEMU (not --attach)\n");
            return EXIT_CANNOT_RUN;
        }
    } else if (!g_str_equal(o.ram_access, "qtest")) {
        fprintf(stderr,
                "rig-guest: unknown --ram-access '%s' (auto, shared, "
                "qtest)\n",
                o.ram_access);
        return EXIT_CANNOT_RUN;
    }
    if (!o.profile) {
        o.profile = g_strdup("netkvm");
    }
    if (!rig_guest_profile_lookup(o.profile)) {
        fprintf(stderr, "rig-guest: unknown profile '%s' (known: %s)\n",
                o.profile, profiles);
        return EXIT_CANNOT_RUN;
    }
    if (!o.clock) {
        /* The TCP bench measures QEMU: its own clocks, no qtest stepping. */
        o.clock = g_strdup(o.script      ? "deterministic"
                           : o.bench_tcp ? "free"
                                         : "realtime");
    }
    if (!rig_guest_clock_mode_parse(o.clock, &s.clock)) {
        fprintf(stderr,
                "rig-guest: unknown clock mode '%s' (realtime, "
                "deterministic, free)\n",
                o.clock);
        return EXIT_CANNOT_RUN;
    }

    if (!start_guest(&s, &error)) {
        fprintf(stderr, "rig-guest: %s\n", error->message);
        if (s.vm) {
            g_autofree char *tail = rig_vm_get_log_tail(s.vm, 10);

            if (tail[0]) {
                fprintf(stderr, "rig-guest: QEMU output:\n%s\n", tail);
            }
        }
        session_clear(&s);
        return EXIT_CANNOT_RUN;
    }
    if (o.script) {
        uint8_t mac[6];

        rig_guest_net_get_mac(s.net, mac);
        printf("{\"ready\": true, \"qemu_pid\": %d, \"netns\": \"%s\", "
               "\"tap\": \"%s\", \"mac\": \"%02x:%02x:%02x:%02x:%02x:%02x\", "
               "\"clock_mode\": \"%s\", \"device\": \"%s\", "
               "\"ram_access\": \"%s\"}\n",
               s.vm ? (int)rig_vm_get_pid(s.vm) : -1,
               s.netns ? rig_netns_get_name(s.netns) : "",
               s.netns ? TAP_NAME : "", mac[0], mac[1], mac[2], mac[3], mac[4],
               mac[5], rig_guest_clock_mode_name(s.clock), NIC_ID,
               s.shared_ram ? "shared" : "qtest");
        fflush(stdout);
        rc = rig_guest_cli_run_script(&s);
    } else if (o.bench_s > 0) {
        rc = rig_guest_cli_run_bench(&s);
    } else {
        rc = run_print(&s);
    }
    session_clear(&s);
    return rc;
}
