/*
 * The seam between `rig run`'s scenario runner and the world it drives:
 * QEMU's tap, QEMU's virtual clock and the reference guest.  The runner
 * (run-scenario.c) implements it on a real QEMU; the unit tests
 * (tests/unit/harness/test-run-slots.c) on a fake, so that the slot loop,
 * the ring starvation and its fill run without root or QEMU.
 */
#pragma once

#include <glib.h>

#include "net/wire.h"
#include "rsc/stats.h"

G_BEGIN_DECLS

typedef struct {
    /*
     * Sends one frame to the device, with @hdr when @with_hdr (a
     * vnet_hdr tap peer), and returns once the device took it (or it
     * stays queued because the guest has no RX buffer).
     */
    gboolean (*inject)(gpointer world, const RigVirtioNetHdrV1 *hdr,
                       gboolean with_hdr, const guint8 *frame, gsize len,
                       GError **error);
    /* The device's virtual clock, ns. */
    gint64 (*vclock)(gpointer world);
    /* Advances it by @ns (> 0): timers that expire fire. */
    gboolean (*step_clock)(gpointer world, gint64 ns, GError **error);
    /* Takes what the device delivered, waiting up to @timeout_ms. */
    gboolean (*harvest)(gpointer world, guint timeout_ms, guint *ret_got,
                        GError **error);
    /* The device's RSC counters (both families). */
    gboolean (*read_stats)(gpointer world, RigRscStats *ret_stats,
                           GError **error);
    /* RX buffers the device can still fill (posted, not yet harvested). */
    guint64 (*free_rx_buffers)(gpointer world);
    /* The guest stops re-posting the buffers it harvests. */
    void (*starve)(gpointer world);
    /* The guest posts every buffer it has again. */
    gboolean (*post_rx)(gpointer world, GError **error);
    /* FALSE (with the reason) when the world is gone or the run is over:
     * QEMU exited, a signal, the scenario's time limit. */
    gboolean (*alive)(gpointer world, GError **error);
    /* The guest turns RSC off (FALSE) or back on (CTRL_GUEST_OFFLOADS_SET);
     * NULL: the world can not (rsc_off_at_slot is then an error). */
    gboolean (*set_rsc)(gpointer world, gboolean on, GError **error);
} RunWorldOps;

G_END_DECLS
