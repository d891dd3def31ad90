#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "guest/rig-guest-cli.h"
#include "net/build.h"

/*
 * rig-guest --bench: how fast the guest harvests, and what QEMU's receive
 * path costs.  UDP frames (default) bypass the coalescer, so each is one
 * used-ring entry: the figure is the guest's harvest rate.  --bench-tcp
 * sends TCP segments round-robin over --bench-flows flows through QEMU's
 * RSC path (or around it with an RSC-less profile) and adds QEMU's CPU
 * time per segment.  A window of segments in flight keeps the tap queue
 * from overflowing: the rate is what the slowest of injector, QEMU and
 * guest sustains.
 */

#define BATCH       64
#define MAX_WINDOW  256
#define TCP_PAYLOAD 1448
#define UDP_PAYLOAD 1000
#define DRAIN_US    (1000 * 1000)

typedef struct {
    RigNetFrameDesc desc;
    uint32_t seq;
} Flow;

typedef struct {
    Session *s;
    gboolean tcp;
    guint nflows;
    Flow *flows;
    guint next_flow;
    uint8_t (*frames)[2048];
    struct iovec iov[BATCH];
    guint64 sent;
} Bench;

/* QEMU's user + system time so far, from /proc (ns). */
static gboolean qemu_cpu_ns(Session *s, guint64 *ret_ns)
{
    g_autofree char *path =
        g_strdup_printf("/proc/%d/stat", (int)rig_vm_get_pid(s->vm));
    g_autofree char *text = NULL;
    g_auto(GStrv) fields = NULL;
    const char *after;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return FALSE;
    }
    /* Fields after the command name, which may hold spaces: "(...)". */
    after = strrchr(text, ')');
    if (!after) {
        return FALSE;
    }
    fields = g_strsplit(after + 2, " ", 0);
    if (g_strv_length(fields) < 13) {
        return FALSE;
    }
    /* utime and stime are fields 14 and 15 of stat(5): 11, 12 here. */
    *ret_ns = (g_ascii_strtoull(fields[11], NULL, 10) +
               g_ascii_strtoull(fields[12], NULL, 10)) *
              (1000000000ull / (guint64)sysconf(_SC_CLK_TCK));
    return TRUE;
}

static guint64 self_cpu_ns(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ((guint64)ru.ru_utime.tv_sec + (guint64)ru.ru_stime.tv_sec) *
               1000000000ull +
           ((guint64)ru.ru_utime.tv_usec + (guint64)ru.ru_stime.tv_usec) *
               1000ull;
}

static void flows_init(Bench *b, const uint8_t mac[6])
{
    static const uint8_t
        payload[TCP_PAYLOAD > UDP_PAYLOAD ? TCP_PAYLOAD : UDP_PAYLOAD];

    b->flows = g_new0(Flow, b->nflows);
    for (guint i = 0; i < b->nflows; i++) {
        RigNetFrameDesc *d = &b->flows[i].desc;

        *d = (RigNetFrameDesc){
            .family = 4,
            .protocol = b->tcp ? RIG_IPPROTO_TCP : RIG_IPPROTO_UDP,
            .ttl = 64,
            .df = true,
            .src_ip = {10, 99, 0, 1},
            .dst_ip = {10, 99, 0, 2},
            .src_port = (uint16_t)(40000 + i),
            .dst_port = b->tcp ? 5001 : 9,
            .tcp_flags = RIG_TCP_ACK,
            .ack = 1,
            .window = 1024,
            .payload_len = b->tcp ? TCP_PAYLOAD : UDP_PAYLOAD,
            .payload = payload,
            .src_mac = {0x02, 0, 0, 0, 0, 1},
        };
        memcpy(d->dst_mac, mac, 6);
        b->flows[i].seq = 1;
    }
}

/* Builds and sends up to @want frames (the next segment of each flow). */
static gboolean send_some(Bench *b, guint want, GError **error)
{
    guint n = MIN(want, BATCH);
    int r;

    for (guint k = 0; k < n; k++) {
        Flow *f = &b->flows[b->next_flow];
        ssize_t len;

        b->next_flow = (b->next_flow + 1) % b->nflows;
        f->desc.seq = f->seq;
        len = rig_net_build_frame(&f->desc, b->frames[k], sizeof(b->frames[k]));
        if (len < 0) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                        "building a bench frame: %s", g_strerror((int)-len));
            return FALSE;
        }
        if (b->tcp) {
            f->seq += TCP_PAYLOAD;
        }
        b->iov[k] =
            (struct iovec){.iov_base = b->frames[k], .iov_len = (size_t)len};
    }
    r = trafgen_transport_send_batch(b->s->injector, b->iov, n);
    if (r < 0 && r != -ENOBUFS && r != -EAGAIN) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r),
                    "injecting on the tap: %s", g_strerror(-r));
        return FALSE;
    }
    if (r > 0) {
        b->sent += (guint64)r;
    }
    return TRUE;
}

/* Segments delivered: RSC segments of coalesced frames, 1 for the others. */
static guint64 harvested_segments(Session *s)
{
    const RigGuestCounters *c = rig_guest_net_get_counters(s->net);

    return c->segments + (c->frames - c->coalesced_frames);
}

int rig_guest_cli_run_bench(Session *s)
{
    Options *o = s->opt;
    Bench b = {
        .s = s,
        .tcp = o->bench_tcp,
        .nflows = o->bench_tcp ? (guint)o->bench_flows : 1,
    };
    const RigGuestCounters *c = rig_guest_net_get_counters(s->net);
    /* UDP: one ring entry each; TCP: most wait in QEMU's RSC cache. */
    guint window =
        o->bench_tcp ? MAX_WINDOW
                     : MIN(MAX_WINDOW, rig_guest_net_get_rx_count(s->net) / 2);
    uint8_t mac[6];
    guint64 qemu0 = 0;
    guint64 qemu1 = 0;
    guint64 self0;
    guint64 cmds0;
    gboolean have_cpu;
    gint64 start;
    gint64 end;
    gint64 stop;
    guint64 segs_at_stop;
    guint64 frames_at_stop;
    g_autoptr(GError) error = NULL;

    if (s->injector == NULL) {
        fprintf(stderr, "rig-guest: --bench needs rig-guest to start QEMU "
                        "(it injects frames on the tap)\n");
        return EXIT_CANNOT_RUN;
    }
    rig_guest_net_get_mac(s->net, mac);
    flows_init(&b, mac);
    b.frames = g_malloc(sizeof(*b.frames) * BATCH);
    have_cpu = qemu_cpu_ns(s, &qemu0);
    self0 = self_cpu_ns();
    cmds0 = rig_qtest_command_count(s->qtest);
    start = g_get_monotonic_time();
    end = start + (gint64)(o->bench_s * 1e6);
    while (g_get_monotonic_time() < end) {
        guint64 in_flight = b.sent - harvested_segments(s);
        guint64 before = c->frames;

        if (in_flight < window &&
            !send_some(&b, (guint)(window - in_flight), &error)) {
            break;
        }
        /* One pass over the used ring, no waiting. */
        if (!rig_guest_net_receive(s->net, 1, 0, NULL, &error)) {
            break;
        }
        if (c->frames == before && b.sent - harvested_segments(s) >= window) {
            g_usleep(20);
        }
    }
    /* What is still cached or queued: wait for it, not counted as rate. */
    stop = g_get_monotonic_time();
    segs_at_stop = harvested_segments(s);
    frames_at_stop = c->frames;
    if (!error) {
        gint64 deadline = stop + DRAIN_US;

        while (harvested_segments(s) < b.sent &&
               g_get_monotonic_time() < deadline &&
               rig_guest_net_receive(s->net, 1, 10, NULL, &error)) {
        }
    }
    have_cpu = have_cpu && qemu_cpu_ns(s, &qemu1);
    if (error) {
        fprintf(stderr, "rig-guest: %s\n", error->message);
        g_free(b.flows);
        g_free(b.frames);
        return EXIT_CANNOT_RUN;
    }
    {
        double secs = (double)(stop - start) / 1e6;
        guint64 segs = harvested_segments(s);
        guint64 cmds = rig_qtest_command_count(s->qtest) - cmds0;
        double self_cpu = (double)(self_cpu_ns() - self0) / 1e9;

        printf("bench: profile=%s clock=%s ram_access=%s traffic=%s "
               "flows=%u frames_sent=%" G_GUINT64_FORMAT
               " frames_harvested=%" G_GUINT64_FORMAT
               " segments_harvested=%" G_GUINT64_FORMAT
               " lost=%" G_GINT64_FORMAT " seconds=%.2f harvest_fps=%.0f "
               "segments_per_s=%.0f frames_per_coalesced=%.2f "
               "qtest_cmds_per_s=%.0f cmds_per_frame=%.2f "
               "rig_guest_cpu=%.2f",
               o->profile, rig_guest_clock_mode_name(s->clock),
               s->shared_ram ? "shared" : "qtest", b.tcp ? "tcp" : "udp",
               b.nflows, b.sent, c->frames, segs, (gint64)(b.sent - segs), secs,
               (double)frames_at_stop / secs, (double)segs_at_stop / secs,
               c->frames ? (double)segs / (double)c->frames : 0.0,
               (double)cmds / secs,
               c->frames ? (double)cmds / (double)c->frames : 0.0,
               self_cpu / secs);
        if (have_cpu) {
            printf(" qemu_cpu=%.2f qemu_ns_per_segment=%.0f",
                   (double)(qemu1 - qemu0) / 1e9 / secs,
                   segs ? (double)(qemu1 - qemu0) / (double)segs : 0.0);
        }
        printf("\n");
    }
    g_free(b.flows);
    g_free(b.frames);
    return 0;
}
