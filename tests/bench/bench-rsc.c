/*
 * bench-rsc: throughput of the RSC oracle (not a test).  Builds the input
 * once (interleaved in-order TCP flows alternating IPv4/IPv6, a PSH every
 * 64 segments), then times rsc_oracle_receive() over it and prints
 * segments/s and what was delivered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "net/build.h"
#include "rsc/oracle.h"

typedef struct BenchFrame {
    guint64 t_ns;
    guint8 *bytes;
    gsize len;
} BenchFrame;

static void bench_frame_clear(gpointer p)
{
    g_free(((BenchFrame *)p)->bytes);
}

static GArray *bench_make_input(guint n, guint flows, guint payload,
                                guint64 gap_ns)
{
    GArray *in = g_array_sized_new(FALSE, TRUE, sizeof(BenchFrame), n);
    g_autofree guint32 *seq = g_new0(guint32, flows);
    g_autofree guint8 *buf = g_malloc(RIG_NET_FRAME_MAX);

    g_array_set_clear_func(in, bench_frame_clear);
    for (guint i = 0; i < n; i++) {
        guint f = i % flows;
        RigNetFrameDesc d = {
            .family = (uint8_t)(f % 2 ? 6 : 4),
            .protocol = RIG_IPPROTO_TCP,
            .df = true,
            .src_port = (uint16_t)(10000 + f),
            .dst_port = 5001,
            .seq = seq[f],
            .ack = 1,
            .window = 502,
            .tcp_flags = RIG_TCP_ACK | (i % 64 == 63 ? RIG_TCP_PSH : 0),
            .payload_len = payload,
            .pattern = RIG_NET_PATTERN_ZERO,
        };
        BenchFrame fr;
        ssize_t len;

        d.src_ip[0] = d.dst_ip[0] = d.family == 4 ? 10 : 0xfd;
        d.dst_ip[d.family == 4 ? 3 : 15] = 2;
        len = rig_net_build_frame(&d, buf, RIG_NET_FRAME_MAX);
        if (len < 0) {
            g_printerr("bench-rsc: cannot build frame %u: %s\n", i,
                       g_strerror((int)-len));
            exit(2);
        }
        seq[f] += payload;
        fr.t_ns = i * gap_ns;
        fr.bytes = g_memdup2(buf, (gsize)len);
        fr.len = (gsize)len;
        g_array_append_val(in, fr);
    }
    return in;
}

/* Pops everything delivered so far, as a harness comparing would. */
static void bench_drain(RscOracle *o, guint64 *frames, guint64 *bytes)
{
    RscDelivered *d;

    while ((d = rsc_oracle_pop_delivered(o))) {
        (*frames)++;
        *bytes += d->len;
        rsc_delivered_free(d);
    }
}

int main(int argc, char **argv)
{
    gint segments = 1000000, flows = 8, payload = 1448, gap_ns = 1000;
    gint rounds = 3;
    g_autofree char *mode_name = NULL;
    GOptionEntry entries[] = {
        {"segments", 'n', 0, G_OPTION_ARG_INT, &segments,
         "segments per round (default 1000000)", "N"},
        {"flows", 'f', 0, G_OPTION_ARG_INT, &flows,
         "interleaved flows, alternating IPv4/IPv6 (default 8)", "N"},
        {"payload", 'p', 0, G_OPTION_ARG_INT, &payload,
         "TCP payload bytes per segment (default 1448)", "BYTES"},
        {"gap", 'g', 0, G_OPTION_ARG_INT, &gap_ns,
         "virtual ns between segments (default 1000)", "NS"},
        {"rounds", 'r', 0, G_OPTION_ARG_INT, &rounds,
         "timed rounds, the best is reported (default 3)", "N"},
        {"mode", 'm', 0, G_OPTION_ARG_STRING, &mode_name,
         "oracle mode: qemu (default) or spec", "MODE"},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- RSC oracle throughput");
    g_autoptr(GError) error = NULL;
    g_autoptr(GArray) in = NULL;
    RscOracleConfig cfg = {
        .interval_ns = RSC_DEFAULT_INTERVAL_NS,
        .ipv4_enabled = TRUE,
        .ipv6_enabled = TRUE,
    };
    double best = 0;

    g_option_context_set_summary(
        ctx, "Feeds prebuilt TCP segments to the RSC oracle and prints "
             "segments/s (best of the rounds).");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        g_printerr("bench-rsc: %s (see --help)\n", error->message);
        return 2;
    }
    if (mode_name && !rsc_mode_from_name(mode_name, &cfg.mode)) {
        g_printerr("bench-rsc: --mode must be qemu or spec, not '%s'\n",
                   mode_name);
        return 2;
    }
    if (segments < 1 || flows < 1 || payload < 0 || payload > 65000 ||
        gap_ns < 0 || rounds < 1) {
        g_printerr("bench-rsc: --segments, --flows and --rounds must be "
                   ">= 1, --payload 0..65000, --gap >= 0\n");
        return 2;
    }

    fprintf(stderr, "bench-rsc: building %d segments...\n", segments);
    in = bench_make_input((guint)segments, (guint)flows, (guint)payload,
                          (guint64)gap_ns);
    for (gint r = 0; r < rounds; r++) {
        g_autoptr(RscOracle) o = rsc_oracle_new(&cfg);
        guint64 frames = 0, bytes = 0;
        gint64 start = g_get_monotonic_time();
        double secs, rate;

        for (guint i = 0; i < in->len; i++) {
            BenchFrame *fr = &g_array_index(in, BenchFrame, i);

            rsc_oracle_receive(o, fr->t_ns, NULL, fr->bytes, fr->len);
            bench_drain(o, &frames, &bytes);
        }
        rsc_oracle_flush(o);
        bench_drain(o, &frames, &bytes);
        secs = (double)(g_get_monotonic_time() - start) / 1e6;
        rate = secs > 0 ? (double)segments / secs : 0;
        best = MAX(best, rate);
        printf("round %d: %d segments in %.3f s: %.0f segments/s, "
               "%" G_GUINT64_FORMAT " frames out (%.1f segments each), "
               "%.1f MB out\n",
               r + 1, segments, secs, rate, frames,
               frames ? (double)segments / (double)frames : 0.0,
               (double)bytes / 1e6);
        fflush(stdout);
    }
    printf("bench-rsc: mode %s, %d flows, %d-byte payload, gap %d ns: "
           "best %.0f segments/s\n",
           rsc_mode_name(cfg.mode), flows, payload, gap_ns, best);
    return 0;
}
