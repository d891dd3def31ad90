#include <stdio.h>
#include <sys/socket.h>

#include "guest/rig-guest-cli.h"
#include "net/build.h"

/*
 * rig-guest --bench: how many frames per second the guest harvests.  UDP
 * frames bypass the coalescer, so each one is a used-ring entry.
 */

int rig_guest_cli_run_bench(Session *s)
{
    Options *o = s->opt;
    RigNetFrameDesc d = {
        .family = 4,
        .protocol = RIG_IPPROTO_UDP,
        .ttl = 64,
        .df = true,
        .src_ip = {10, 99, 0, 1},
        .dst_ip = {10, 99, 0, 2},
        .src_port = 40000,
        .dst_port = 9,
        .payload_len = 1000,
        .src_mac = {0x02, 0, 0, 0, 0, 1},
    };
    uint8_t frame[2048];
    ssize_t n;
    guint64 sent = 0;
    guint64 got = 0;
    gint64 start;
    gint64 end;
    guint64 cmds0;
    g_autoptr(GError) error = NULL;

    if (s->injector == NULL) {
        fprintf(stderr, "rig-guest: --bench needs rig-guest to start QEMU "
                        "(it injects frames on the tap)\n");
        return EXIT_CANNOT_RUN;
    }
    rig_guest_net_get_mac(s->net, d.dst_mac);
    n = rig_net_build_frame(&d, frame, sizeof(frame));
    if (n < 0) {
        fprintf(stderr, "rig-guest: building the bench frame: %s\n",
                g_strerror((int)-n));
        return EXIT_CANNOT_RUN;
    }
    start = g_get_monotonic_time();
    end = start + (gint64)(o->bench_s * 1e6);
    cmds0 = rig_qtest_command_count(s->qtest);
    while (g_get_monotonic_time() < end) {
        guint r;

        /* Keep a batch in flight, well below the RX ring size. */
        for (int i = 0; i < 32; i++) {
            if (trafgen_transport_send(s->injector, frame, (size_t)n, 0) == 0) {
                sent++;
            }
        }
        if (!rig_guest_net_receive(s->net, 32, 1000, &r, &error)) {
            fprintf(stderr, "rig-guest: %s\n", error->message);
            return EXIT_CANNOT_RUN;
        }
        got += r;
    }
    {
        double secs = (double)(g_get_monotonic_time() - start) / 1e6;
        guint64 cmds = rig_qtest_command_count(s->qtest) - cmds0;

        printf("bench: profile=%s clock=%s frames_sent=%" G_GUINT64_FORMAT
               " frames_harvested=%" G_GUINT64_FORMAT " seconds=%.2f "
               "harvest_fps=%.0f qtest_cmds_per_s=%.0f cmds_per_frame=%.1f\n",
               o->profile, rig_guest_clock_mode_name(s->clock), sent, got, secs,
               (double)got / secs, (double)cmds / secs,
               got ? (double)cmds / (double)got : 0.0);
    }
    return 0;
}
