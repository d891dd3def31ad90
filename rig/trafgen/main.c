/*
 * rsc-trafgen - precisely paced TCP traffic for RSC certification
 *
 * Exit codes: 0 every frame sent; 1 a send failed or the run broke off;
 * 2 bad command line; 3 set-up failed (interface, socket, file).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output/output-file.h"
#include "rig-config.h"
#include "trafgen/live.h"
#include "trafgen/run.h"

enum {
    EXIT_SEND = 1,
    EXIT_USAGE = 2,
    EXIT_SETUP = 3,
};

/* "not given" for options whose every non-negative value means something */
#define UNSET G_MININT64

static volatile sig_atomic_t stop_requested;

static void on_signal(int signo)
{
    stop_requested = 1;
}

typedef struct {
    char *iface;
    char *pcap;
    char *stream;
    char *dgram;
    char *dgram_local;
    char *pattern;
    char *pattern_text;
    gint64 count;
    double duration_s;
    double period_us;
    double phase_us;
    double guard_us;
    double late_us;
    double rsc_interval_us;
    char *late_policy;
    gboolean ipv6;
    gint flows;
    gint payload;
    char *src_mac;
    char *dst_mac;
    char *src_ip;
    char *dst_ip;
    gint src_port;
    gint dst_port;
    gboolean no_realtime;
    gint priority;
    gint64 cpu;
    gboolean no_mlock;
    gboolean no_dodge;
    gboolean unpaced;
    gboolean live;
    gint live_timeout_ms;
    char *vnet_hdr;
    gint gso_size;
    char *json;
    gboolean quiet;
    gboolean progress;
    gboolean version;
} Options;

/* GOption allocates every string option */
static void options_clear(Options *o)
{
    g_free(o->iface);
    g_free(o->vnet_hdr);
    g_free(o->pcap);
    g_free(o->stream);
    g_free(o->dgram);
    g_free(o->dgram_local);
    g_free(o->pattern);
    g_free(o->pattern_text);
    g_free(o->late_policy);
    g_free(o->src_mac);
    g_free(o->dst_mac);
    g_free(o->src_ip);
    g_free(o->dst_ip);
    g_free(o->json);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Options, options_clear)

static int usage_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("rsc-trafgen: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see rsc-trafgen --help)\n", stderr);
    return EXIT_USAGE;
}

static TrafgenTransport *open_transport(const Options *o, GError **error)
{
    if (o->iface) {
        return trafgen_transport_new_packet(o->iface, o->live, error);
    }
    if (o->pcap) {
        return trafgen_transport_new_pcap(o->pcap, error);
    }
    if (o->stream) {
        return trafgen_transport_new_stream(o->stream, error);
    }
    return trafgen_transport_new_dgram(o->dgram, o->dgram_local, error);
}

static int fill_endpoints(const Options *o, TrafgenEndpoints *ep)
{
    trafgen_endpoints_init_default(ep, o->ipv6);
    if (o->src_mac && !trafgen_parse_mac(o->src_mac, ep->src_mac)) {
        return usage_error("--src-mac '%s' is not a MAC address", o->src_mac);
    }
    if (o->dst_mac && !trafgen_parse_mac(o->dst_mac, ep->dst_mac)) {
        return usage_error("--dst-mac '%s' is not a MAC address", o->dst_mac);
    }
    if (o->src_ip && !trafgen_parse_ip(o->src_ip, o->ipv6, ep->src_ip)) {
        return usage_error("--src-ip '%s' is not an %s address", o->src_ip,
                           o->ipv6 ? "IPv6" : "IPv4");
    }
    if (o->dst_ip && !trafgen_parse_ip(o->dst_ip, o->ipv6, ep->dst_ip)) {
        return usage_error("--dst-ip '%s' is not an %s address", o->dst_ip,
                           o->ipv6 ? "IPv6" : "IPv4");
    }
    if (o->src_port < 1 || o->src_port + o->flows - 1 > 65535 ||
        o->dst_port < 1 || o->dst_port > 65535) {
        return usage_error("ports must be 1..65535 (flow k uses src-port+k)");
    }
    ep->src_port = (uint16_t)o->src_port;
    ep->dst_port = (uint16_t)o->dst_port;
    return 0;
}

static int run_live(const Options *o, const TrafgenEndpoints *ep,
                    TrafgenTransport *transport)
{
    g_autoptr(GError) error = NULL;
    TrafgenLiveConfig lc;
    TrafgenLiveResult result;

    trafgen_live_config_init(&lc);
    lc.endpoints = *ep;
    lc.mac_given = o->dst_mac != NULL;
    lc.src_mac_given = o->src_mac != NULL;
    lc.bytes = (uint64_t)(o->count > 0 ? o->count : 1) * (uint64_t)o->payload;
    lc.mss = (uint32_t)o->payload;
    lc.period_ns = (int64_t)(o->period_us * 1000.0);
    lc.timeout_ms = o->live_timeout_ms;
    lc.stop = &stop_requested;
    if (!trafgen_live_run(&lc, transport, &result, &error)) {
        fprintf(stderr, "rsc-trafgen: live TCP: %s\n", error->message);
        return EXIT_SEND;
    }
    if (!o->quiet) {
        trafgen_live_result_print(&result, stdout);
    }
    if (o->json && !trafgen_live_result_write_json(&result, o->json, &error)) {
        fprintf(stderr, "rsc-trafgen: cannot write %s: %s\n", o->json,
                error->message);
        return EXIT_SETUP;
    }
    return 0;
}

int main(int argc, char **argv)
{
    g_auto(Options) o = {
        .pattern = NULL,
        .count = UNSET,
        .period_us = 100,
        .guard_us = TRAFGEN_DEFAULT_GUARD_NS / 1000.0,
        .late_us = 10,
        .rsc_interval_us = 300,
        .flows = 1,
        .payload = TRAFGEN_DEFAULT_PAYLOAD,
        .src_port = 40000,
        .dst_port = 5001,
        .priority = 50,
        .cpu = UNSET,
        .live_timeout_ms = 10000,
    };
    GOptionEntry entries[] = {
        {"iface", 'i', 0, G_OPTION_ARG_STRING, &o.iface,
         "Send with AF_PACKET on IFNAME (current network namespace)", "IFNAME"},
        {"pcap", 0, 0, G_OPTION_ARG_FILENAME, &o.pcap,
         "Write a pcap file instead (offline: timestamps = the schedule)",
         "FILE"},
        {"stream", 0, 0, G_OPTION_ARG_STRING, &o.stream,
         "Connect to QEMU -netdev stream,server=on (unix:PATH|inet:H:P)",
         "ADDR"},
        {"dgram", 0, 0, G_OPTION_ARG_STRING, &o.dgram,
         "Send datagrams to QEMU -netdev dgram (unix:PATH|inet:H:P)", "ADDR"},
        {"dgram-local", 0, 0, G_OPTION_ARG_STRING, &o.dgram_local,
         "Local address to bind for --dgram", "ADDR"},
        {"pattern", 'p', 0, G_OPTION_ARG_STRING, &o.pattern,
         "Built-in pattern (default whql; list below)", "NAME"},
        {"pattern-text", 0, 0, G_OPTION_ARG_STRING, &o.pattern_text,
         "Pattern in the step grammar below", "TEXT"},
        {"count", 'n', 0, G_OPTION_ARG_INT64, &o.count,
         "whql: data segments (default 1000); others: repetitions (1); "
         "--live: segments of --payload bytes to transfer",
         "N"},
        {"duration", 'd', 0, G_OPTION_ARG_DOUBLE, &o.duration_s,
         "Stop after SECONDS (whql without --count: runs this long)",
         "SECONDS"},
        {"period-us", 0, 0, G_OPTION_ARG_DOUBLE, &o.period_us,
         "Slot period (default 100)", "US"},
        {"phase-us", 0, 0, G_OPTION_ARG_DOUBLE, &o.phase_us,
         "Offset of the whole grid (default 0)", "US"},
        {"guard-us", 0, 0, G_OPTION_ARG_DOUBLE, &o.guard_us,
         "Sleep until deadline-guard, then spin (default 85: near full spin, "
         "85 % of a core at 100 us, for precision; 30: a third of the CPU, "
         "p99 about 3x worse under load; at most 85 % of the period)",
         "US"},
        {"late-policy", 0, 0, G_OPTION_ARG_STRING, &o.late_policy,
         "Late slot: catchup (send now, keep the grid, the next ones no "
         "closer than 52 % of a period: no burst; default), keep (send now, "
         "keep the grid: may burst), skip (move to the next grid slot), "
         "reanchor (restart the grid from now)",
         "POLICY"},
        {"late-us", 0, 0, G_OPTION_ARG_DOUBLE, &o.late_us,
         "A slot reached more than US after its deadline is late "
         "(default 10)",
         "US"},
        {"rsc-interval-us", 0, 0, G_OPTION_ARG_DOUBLE, &o.rsc_interval_us,
         "RSC drain interval: the report counts larger gaps (default 300)",
         "US"},
        {"ipv6", '6', 0, G_OPTION_ARG_NONE, &o.ipv6, "Send IPv6 (default IPv4)",
         NULL},
        {"flows", 'k', 0, G_OPTION_ARG_INT, &o.flows,
         "Concurrent flows: source ports src-port..src-port+K-1 (default 1)",
         "K"},
        {"payload", 'b', 0, G_OPTION_ARG_INT, &o.payload,
         "Payload bytes per data segment (default 1000)", "BYTES"},
        {"src-mac", 0, 0, G_OPTION_ARG_STRING, &o.src_mac,
         "Source MAC (default 02:00:00:00:00:01)", "MAC"},
        {"dst-mac", 0, 0, G_OPTION_ARG_STRING, &o.dst_mac,
         "Destination MAC (default 02:00:00:00:00:02; --live: resolved)",
         "MAC"},
        {"src-ip", 0, 0, G_OPTION_ARG_STRING, &o.src_ip,
         "Source IP (default 192.0.2.1 / 2001:db8::1)", "IP"},
        {"dst-ip", 0, 0, G_OPTION_ARG_STRING, &o.dst_ip,
         "Destination IP (default 192.0.2.2 / 2001:db8::2)", "IP"},
        {"src-port", 0, 0, G_OPTION_ARG_INT, &o.src_port,
         "First source port (default 40000)", "PORT"},
        {"dst-port", 0, 0, G_OPTION_ARG_INT, &o.dst_port,
         "Destination port (default 5001)", "PORT"},
        {"no-realtime", 0, 0, G_OPTION_ARG_NONE, &o.no_realtime,
         "Do not ask for SCHED_FIFO", NULL},
        {"priority", 0, 0, G_OPTION_ARG_INT, &o.priority,
         "SCHED_FIFO priority, 1..99 (default 50)", "N"},
        {"cpu", 0, 0, G_OPTION_ARG_INT64, &o.cpu, "Pin to CPU N", "N"},
        {"no-mlock", 0, 0, G_OPTION_ARG_NONE, &o.no_mlock, "Do not mlockall()",
         NULL},
        {"no-dodge", 0, 0, G_OPTION_ARG_NONE, &o.no_dodge,
         "Keep the grid where it is: do not move it (by at most 45 % of the "
         "period) away from the machine's periodic stalls",
         NULL},
        {"unpaced", 0, 0, G_OPTION_ARG_NONE, &o.unpaced,
         "Load mode: no grid, batches of 64 with sendmmsg()", NULL},
        {"vnet-hdr", 0, 0, G_OPTION_ARG_STRING, &o.vnet_hdr,
         "With --iface: write every frame with a virtio-net header "
         "(PACKET_VNET_HDR), TCP offloaded as a support client with LSO "
         "and checksum offload sends it: csum (NEEDS_CSUM, the checksum "
         "left to the NIC) or gso (data as GSO frames, --gso-size MSS)",
         "none|csum|gso"},
        {"gso-size", 0, 0, G_OPTION_ARG_INT, &o.gso_size,
         "--vnet-hdr gso: the MSS the kernel/QEMU cut a frame into "
         "(default 1448, capped to --payload)",
         "BYTES"},
        {"live", 0, 0, G_OPTION_ARG_NONE, &o.live,
         "Live TCP to --dst-ip:--dst-port over --iface: ARP/ND, handshake, "
         "paced data within the peer's window, retransmission, FIN",
         NULL},
        {"live-timeout-ms", 0, 0, G_OPTION_ARG_INT, &o.live_timeout_ms,
         "--live: give up after this long without progress (default 10000)",
         "MS"},
        {"json", 'j', 0, G_OPTION_ARG_FILENAME, &o.json,
         "Also write the report as JSON (- for stdout)", "FILE"},
        {"quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet,
         "No human-readable report", NULL},
        {"progress", 0, 0, G_OPTION_ARG_NONE, &o.progress,
         "A progress line per second on stderr (default when it is a "
         "terminal)",
         NULL},
        {"version", 0, 0, G_OPTION_ARG_NONE, &o.version, "Print the version",
         NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) context = g_option_context_new(
        "- precisely paced TCP traffic for RSC certification");
    g_autoptr(GError) error = NULL;
    g_autoptr(TrafgenPattern) pattern = NULL;
    g_autoptr(TrafgenTransport) transport = NULL;
    g_autoptr(TrafgenReport) report = NULL;
    g_autofree char *pattern_text = NULL;
    TrafgenRunConfig config;
    struct sigaction sa = {0};
    int targets;
    int r;
    TrafgenVnetMode vnet_mode = TRAFGEN_VNET_NONE;

    g_option_context_add_main_entries(context, entries, NULL);
    g_option_context_set_summary(
        context, "Sends TCP segment patterns on an absolute deadline grid "
                 "(CLOCK_MONOTONIC), one slot per --period-us,\nto an "
                 "interface, a QEMU stream/dgram netdev or a pcap file.\n"
                 "Example: rsc-trafgen --iface tap0 --pattern whql --count "
                 "10000 --period-us 100");
    g_option_context_set_description(
        context, TRAFGEN_PATTERN_HELP
        "Pacing: SCHED_FIFO (falls back with a notice), mlockall, timer "
        "slack 1 ns,\n  sleep to deadline-guard then spin; every send is "
        "timestamped when it returns.\n"
        "Stall dodging: a VM loses its CPU at regular instants (here 10-35 "
        "us every 1 ms, the\n  hypervisor's tick, and 10-90 us every 4 ms, "
        "the guest's).  Every 53 ms the pacer\n  spins through 1 ms "
        "instead of sleeping (the next quarter of a 4 ms window), logs\n  "
        "every stall, and moves the grid (at most 45 % of the period, back "
        "to 0 as soon\n  as that is clear: no drift) so that no deadline "
        "falls in one.  Needs a period\n  that divides 4 ms; --no-dodge "
        "keeps the grid fixed.\n"
        "Report: per flow frames/segments/bytes, lateness and per-flow gap "
        "percentiles,\n  gaps above --rsc-interval-us, bursts below half "
        "the period, late slots, CPU.\n"
        "Exit status: 0 all sent, 1 send error, 2 bad usage, 3 set-up "
        "failed.\n");
    if (!g_option_context_parse(context, &argc, &argv, &error)) {
        return usage_error("%s", error->message);
    }
    if (o.version) {
        printf("rsc-trafgen %s\n", RIG_VERSION);
        return 0;
    }
    if (argc > 1) {
        return usage_error("unexpected argument '%s'", argv[1]);
    }
    targets = !!o.iface + !!o.pcap + !!o.stream + !!o.dgram;
    if (targets != 1) {
        return usage_error("give exactly one of --iface, --pcap, --stream, "
                           "--dgram");
    }
    if (o.pattern && o.pattern_text) {
        return usage_error("give --pattern or --pattern-text, not both");
    }
    if (o.period_us <= 0 || o.period_us > 60e6) {
        return usage_error("--period-us must be in (0, 60000000]");
    }
    if (o.flows < 1 || o.flows > 1024) {
        return usage_error("--flows must be 1..1024");
    }
    if (o.payload < 0 || o.payload > 65000) {
        return usage_error("--payload must be 0..65000");
    }
    if (o.vnet_hdr && !trafgen_vnet_mode_from_string(o.vnet_hdr, &vnet_mode)) {
        return usage_error("--vnet-hdr must be none, csum or gso, not '%s'",
                           o.vnet_hdr);
    }
    if (o.vnet_hdr && (!o.iface || o.live)) {
        return usage_error("--vnet-hdr needs --iface (the AF_PACKET "
                           "transport) and no --live");
    }
    if (o.gso_size < 0 || o.gso_size > 65535 ||
        (o.gso_size && vnet_mode != TRAFGEN_VNET_GSO)) {
        return usage_error("--gso-size must be 1..65535, with --vnet-hdr gso");
    }
    if (o.duration_s < 0 || o.guard_us < 0 || o.late_us < 0 || o.phase_us < 0 ||
        o.rsc_interval_us < 0) {
        return usage_error("--duration, --guard-us, --late-us, --phase-us "
                           "and --rsc-interval-us must not be negative");
    }
    /* a negative count used to mean "not given" and became the default */
    if (o.count != UNSET && o.count < 0) {
        return usage_error(
            "--count must not be negative, got %" G_GINT64_FORMAT, o.count);
    }
    if (o.cpu != UNSET && (o.cpu < 0 || o.cpu >= CPU_SETSIZE)) {
        return usage_error("--cpu must be 0..%d, got %" G_GINT64_FORMAT,
                           CPU_SETSIZE - 1, o.cpu);
    }
    /* sched_get_priority_min/max(SCHED_FIFO): what the kernel accepts */
    if (o.priority < sched_get_priority_min(SCHED_FIFO) ||
        o.priority > sched_get_priority_max(SCHED_FIFO)) {
        return usage_error("--priority must be %d..%d (SCHED_FIFO), got %d",
                           sched_get_priority_min(SCHED_FIFO),
                           sched_get_priority_max(SCHED_FIFO), o.priority);
    }
    if (o.live_timeout_ms < 1) {
        return usage_error("--live-timeout-ms must be at least 1, got %d",
                           o.live_timeout_ms);
    }

    trafgen_run_config_init(&config);
    r = fill_endpoints(&o, &config.endpoints);
    if (r != 0) {
        return r;
    }
    if (o.late_policy &&
        !trafgen_late_policy_from_string(o.late_policy, &config.late_policy)) {
        return usage_error(
            "--late-policy must be catchup, keep, skip or reanchor");
    }

    /* a report that could not be written at the end loses the run */
    if (o.json && !rig_output_check(o.json, &error)) {
        fprintf(stderr, "rsc-trafgen: --json %s\n", error->message);
        return EXIT_SETUP;
    }

    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (o.live) {
        if (!o.iface) {
            return usage_error("--live needs --iface");
        }
        transport = open_transport(&o, &error);
        if (transport == NULL) {
            fprintf(stderr, "rsc-trafgen: %s\n", error->message);
            return EXIT_SETUP;
        }
        return run_live(&o, &config.endpoints, transport);
    }

    if (o.pattern_text) {
        pattern_text = g_strdup(o.pattern_text);
    } else {
        const char *name = o.pattern ? o.pattern : "whql";
        uint64_t count = o.count > 0 ? (uint64_t)o.count : 0;

        if (g_strcmp0(name, "whql") == 0 && o.count == UNSET) {
            count = o.duration_s > 0 ? 1 : 1000;
        }
        pattern_text = trafgen_pattern_builtin(name, o.ipv6, count, &error);
        if (pattern_text == NULL) {
            return usage_error("%s", error->message);
        }
    }
    pattern = trafgen_pattern_parse(pattern_text, &error);
    if (pattern == NULL ||
        !trafgen_pattern_check_family(pattern, o.ipv6, &error)) {
        return usage_error("%s", error->message);
    }
    if (!o.pattern_text &&
        g_strcmp0(o.pattern ? o.pattern : "whql", "whql") == 0 &&
        o.count == UNSET && o.duration_s > 0) {
        /* whql for a duration: the single data step repeats until then */
        g_array_index(pattern->steps, TrafgenStep, 0).count =
            TRAFGEN_COUNT_FOREVER;
    }

    config.pattern = pattern;
    config.flows = (guint)o.flows;
    config.payload = (uint32_t)o.payload;
    config.period_ns = (int64_t)(o.period_us * 1000.0);
    config.phase_ns = (int64_t)(o.phase_us * 1000.0);
    config.duration_ns = (int64_t)(o.duration_s * 1e9);
    config.late_threshold_ns = (int64_t)(o.late_us * 1000.0);
    config.rsc_interval_ns = (int64_t)(o.rsc_interval_us * 1000.0);
    config.pacer.guard_ns = (int64_t)(o.guard_us * 1000.0);
    config.pacer.realtime = !o.no_realtime;
    config.pacer.fifo_priority = o.priority;
    config.pacer.cpu = o.cpu == UNSET ? -1 : (int)o.cpu;
    config.pacer.lock_memory = !o.no_mlock;
    config.dodge = !o.no_dodge;
    config.unpaced = o.unpaced;
    config.progress = o.progress || isatty(STDERR_FILENO);
    config.stop = &stop_requested;

    transport = open_transport(&o, &error);
    if (transport == NULL ||
        (o.vnet_hdr &&
         !trafgen_transport_enable_vnet_hdr(transport, vnet_mode,
                                            (uint16_t)o.gso_size, &error))) {
        fprintf(stderr, "rsc-trafgen: %s\n", error->message);
        return EXIT_SETUP;
    }
    if (!trafgen_run(&config, transport, &report, &error)) {
        fprintf(stderr, "rsc-trafgen: %s\n", error->message);
        return g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT)
                   ? EXIT_USAGE
                   : EXIT_SEND;
    }
    if (report->notice && report->notice[0]) {
        fprintf(stderr, "rsc-trafgen: notice: %s\n", report->notice);
    }
    if (!o.quiet) {
        trafgen_report_print(report, stdout);
    }
    if (o.json && !trafgen_report_write_json(report, o.json, &error)) {
        fprintf(stderr, "rsc-trafgen: cannot write %s: %s\n", o.json,
                error->message);
        return EXIT_SETUP;
    }
    if (stop_requested) {
        fprintf(stderr, "rsc-trafgen: interrupted after %u frames\n",
                report->samples->len);
        return EXIT_SEND;
    }
    return 0;
}
