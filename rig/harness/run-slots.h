/*
 * The deterministic slot loop of `rig run` (profile clock = qtest), on the
 * seam of run-world.h: for each slot of the pattern every flow's segment
 * is built and injected, then the virtual clock steps one period; with
 * rx_ring = full-at-drain the guest's ring is filled at the first idle
 * slot after data and given back at the next data; at the end every drain
 * timer is let fire (period by period) and the guest harvests until
 * quiet.  What was sent, and when the guest's RX capacity changed, is
 * reported to an observer (the sent view and the oracles).
 */
#pragma once

#include <glib.h>

#include "harness/run-world.h"
#include "trafgen/frame.h"
#include "trafgen/pattern.h"
#include "trafgen/vnethdr.h"

G_BEGIN_DECLS

/* A guest that re-posts its buffers: no limit (rsc_oracle's value). */
#define RUN_SLOTS_RX_UNLIMITED G_MAXUINT64

typedef struct {
    const TrafgenPattern *pattern;
    guint flows;
    guint payload;
    gboolean ipv6;
    TrafgenEndpoints ep; /* flow f uses ep.src_port + f */
    guint16 filler_port; /* source port of the ring filler's UDP frames */
    gint64 period_ns;
    gint64 interval_ns; /* rsc_interval: the drain waits 2 x it, twice */
    gboolean fill_at_drain;
    TrafgenVnetMode vnet;
    gboolean pad_to_min;   /* frames below 60 bytes padded, as a NIC does */
    guint rsc_off_at_slot; /* 1-based slot before which the guest turns RSC
                            * off (on again after the drain); 0 = never */
} RunSlotsConfig;

typedef struct {
    /* Every frame injected, at the device's virtual time, with the header
     * it was injected with (all zero without one). */
    void (*sent)(gpointer user_data, gint64 t_ns, const RigVirtioNetHdrV1 *hdr,
                 const guint8 *frame, gsize len);
    /* The guest's RX capacity changed: @count buffers from now on. */
    void (*rx_buffers)(gpointer user_data, gint64 t_ns, guint64 count);
    /* The guest turned RSC off (rsc_off_at_slot); NULL-able. */
    void (*rsc)(gpointer user_data, gint64 t_ns, gboolean on);
} RunSlotsObserver;

/**
 * run_slots:
 * @config: what to send
 * @ops: the world
 * @world: its state
 * @observer: (nullable): who is told what was sent
 * @user_data: the observer's data
 * @error: return location; the world's error, or a frame the builder
 *     refused (flow, step and kind named)
 *
 * Returns: TRUE when the whole pattern ran and the device drained.
 */
gboolean run_slots(const RunSlotsConfig *config, const RunWorldOps *ops,
                   gpointer world, const RunSlotsObserver *observer,
                   gpointer user_data, GError **error);

/**
 * run_slots_harvest_quiet:
 * @ops: the world
 * @world: its state
 * @quiet_ms: how long nothing must come
 * @error: return location
 *
 * Harvests until no frame arrived for @quiet_ms.
 *
 * Returns: TRUE on success.
 */
gboolean run_slots_harvest_quiet(const RunWorldOps *ops, gpointer world,
                                 guint quiet_ms, GError **error);

G_END_DECLS
