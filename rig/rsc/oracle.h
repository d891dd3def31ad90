/*
 * RSC oracle: an independent model of virtio-net's receive segment
 * coalescing (VIRTIO_NET_F_RSC_EXT) that predicts, frame by frame, what a
 * guest receives from a tap (vnet_hdr=on) backend, and QEMU's per-reason
 * counters.  It was written from QEMU 10.0.13 hw/net/virtio-net.c
 * (virtio_net_rsc_*) and the virtio spec; QEMU function names are cited
 * where a rule or quirk comes from.
 *
 * Input: frames at timestamps (ns of QEMU's virtual clock), each with the
 * virtio-net header the tap carried (from the injector, normally zero),
 * plus optional changes of the number of free guest RX buffers.  Output: a
 * queue of RscDelivered (header + bytes + time) and RscStats per family.
 *
 * Families: IPv4 RSC is on when RSC_EXT and GUEST_TSO4 are negotiated,
 * IPv6 when RSC_EXT and GUEST_TSO6 (virtio_net_set_features).  With both
 * off nothing is counted; with one on, frames of the other family still
 * count `received` on their own chain (virtio_net_rsc_receive), then take
 * the normal path.
 *
 * Timing (virtio_net_rsc_do_coalesce, virtio_net_rsc_purge): each family
 * has one drain timer.  It is (re)armed to now + interval only when a
 * segment is cached into an EMPTY chain (never by caching a second flow,
 * never cancelled when finalize-drains empty the chain).  At expiry it
 * drains every cached segment of that chain in cache order, counts `timer`
 * (even when the chain was already empty) and is not re-armed (the chain
 * is always empty after a purge).  A frame or RX-buffer change at time t
 * is processed AFTER every timer whose deadline is <= t: QEMU's
 * timerlist_run_timers fires a timer when expire_time <= now, and qtest's
 * clock_step to t runs them before the next command.  So with interval I,
 * a segment cached at t0 still merges a segment at t0 + I - 1 and is
 * drained before a segment at t0 + I.  Two timers due at the same instant
 * fire in the order they were armed.
 *
 * Guest RX buffers (virtio_net_do_receive returns 0 when none is free):
 *   - a cached segment that cannot be delivered is freed: its data is
 *     lost, counted as purge_failed (timer), drain_failed (before a
 *     TCP-control frame) or final_failed (before a finalizing frame);
 *   - the current frame that cannot be delivered is NOT lost: QEMU's net
 *     queue keeps it, the tap stops reading, and when buffers are posted
 *     it and every later frame go through the whole receive path again
 *     (counters included), in order.  The oracle keeps them in a backlog.
 * Each delivery takes one buffer (buffers assumed large enough: 64 KiB or
 * mergeable).  The default is an unlimited supply.
 *
 * Normal path (RSC off for the family, bypass, finalize, short frames):
 * the guest gets the frame unchanged and the tap's own vnet header as it
 * came (receive_header), num_buffers set to 1.  Cached segments are
 * delivered with the header of their FIRST frame, flags and gso_type
 * overwritten (virtio_net_rsc_drain_seg); see the table for the rest.
 * Not modelled: receive filtering (MAC/VLAN/promisc), the DHCP checksum
 * workaround (work_around_broken_dhclient), RSS, a stopped VM.
 *
 * Modes: RSC_MODE_QEMU is stock QEMU 10.0.13 with its quirks; RSC_MODE_SPEC
 * is the fixed build (qemu-patches/), one RscFix bit per fix.  The table of
 * every difference, with the QEMU function each quirk comes from, is in
 * rig/rsc/README.md ("qemu and spec modes").  Both modes use the same size
 * limits: an IPv4 total length of at most 65515 (VIRTIO_NET_MAX_IP4_PAYLOAD
 * = 65535 - 20, so 65475 bytes of TCP payload) and an IPv6 payload length of
 * at most 65535 (65515 bytes of TCP payload).
 */
#pragma once

#include <glib.h>

#include "net/wire.h"
#include "rsc/family.h"
#include "rsc/stats.h"

/* QEMU's default rsc_interval (VIRTIO_NET_RSC_DEFAULT_INTERVAL). */
#define RSC_DEFAULT_INTERVAL_NS 300000u
/* rsc_oracle_set_rx_buffers(): no limit. */
#define RSC_RX_BUFFERS_UNLIMITED G_MAXUINT64

/* Why a frame reached the guest when it did. */
typedef enum RscCause {
    RSC_CAUSE_NORMAL = 0, /* RSC not involved: off, not IP, short frame */
    RSC_CAUSE_BYPASS,     /* sanity check or SYN: delivered untouched */
    RSC_CAUSE_FINAL,      /* a finalizing frame itself, after its drain */
    RSC_CAUSE_DRAIN,      /* cached segment drained before a finalizer */
    RSC_CAUSE_TIMER,      /* cached segment drained by the timer */
    RSC_CAUSE_DEFERRED,   /* spec: a waiting unit, once buffers came */
    RSC_CAUSE_COUNT,
} RscCause;

/*
 * The fixes of the fixed QEMU build, one bit each (qemu-patches/; which
 * patch carries which: rig/rsc/fixes.c).  qemu mode models none, spec mode
 * the set in RscOracleConfig.fixes: all of them unless the harness runs a
 * fixed build whose record lists fewer (a series landing patch by patch,
 * or bisected).
 */
typedef enum RscFix {
    RSC_FIX_ECE_CWR = 1u << 0,     /* ECE and CWR end coalescing */
    RSC_FIX_ECN = 1u << 1,         /* IPv6 ECN bits; CE ends, ECT coalesces */
    RSC_FIX_DUP_ACK = 1u << 2,     /* no ACK merged as data at the next seq */
    RSC_FIX_HEADER = 1u << 3,      /* NEEDS_CSUM, gso_size, hdr_len, csums;
                                    * a lone segment keeps its header */
    RSC_FIX_PSH = 1u << 4,         /* PSH ORed */
    RSC_FIX_CSUM = 1u << 5,        /* bad IPv4/TCP checksum finalizes */
    RSC_FIX_VNET_HDR = 1u << 6,    /* an offloaded backend header finalizes */
    RSC_FIX_RING_FULL = 1u << 7,   /* units kept while the ring is full */
    RSC_FIX_TIMESTAMPS = 1u << 8,  /* timestamp-only segments coalesce */
    RSC_FIX_OVERSIZE = 1u << 9,    /* the segment over 64 KiB starts a unit */
    RSC_FIX_PADDING = 1u << 10,    /* Ethernet padding dropped from a unit */
    RSC_FIX_TCP_HDRLEN = 1u << 11, /* TCP data offset checked (ip_hacked) */
    RSC_FIX_FLUSH = 1u << 12,      /* units flushed when RSC is turned off */
    RSC_FIX_FRAGMENT = 1u << 13,   /* IPv4 MF/offset bypasses (ip_frag) */
    RSC_FIX_RETRANS = 1u << 14,    /* data at the unit's seq finalizes */
} RscFix;

#define RSC_FIX_ALL ((1u << 15) - 1)

typedef struct RscOracleConfig {
    RscMode mode;
    guint fixes; /* spec mode: RscFix bits modelled; 0 means RSC_FIX_ALL */
    guint64 interval_ns;   /* rsc_interval; 0 means RSC_DEFAULT_INTERVAL_NS */
    gboolean ipv4_enabled; /* RSC_EXT && GUEST_TSO4 */
    gboolean ipv6_enabled; /* RSC_EXT && GUEST_TSO6 */
} RscOracleConfig;

typedef struct RscDelivered {
    guint64 t_ns;          /* virtual time of delivery */
    RigVirtioNetHdrV1 hdr; /* as the guest reads it (little-endian) */
    guint8 *frame;         /* owned: Ethernet frame, no vnet header */
    gsize len;
    RscCause cause;
    int family; /* RscFamily of the chain, or -1 (not IPv4/IPv6) */
} RscDelivered;

typedef struct RscOracle RscOracle;

/**
 * rsc_delivered_free:
 * @d: (transfer full) (nullable): a delivered frame
 */
void rsc_delivered_free(RscDelivered *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RscDelivered, rsc_delivered_free)

/**
 * rsc_oracle_new:
 * @cfg: configuration (copied)
 *
 * Returns: (transfer full): a new oracle at time 0 with an unlimited RX
 * buffer supply; free with rsc_oracle_free().
 */
RscOracle *rsc_oracle_new(const RscOracleConfig *cfg);

/**
 * rsc_oracle_free:
 * @o: (transfer full) (nullable): the oracle; pending output is freed too
 */
void rsc_oracle_free(RscOracle *o);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RscOracle, rsc_oracle_free)

/**
 * rsc_oracle_receive:
 * @o: the oracle
 * @t_ns: arrival time, >= the oracle's current time
 * @vnet_hdr_in: (nullable): the tap's vnet header of this frame, NULL for
 *   all zero (borrowed)
 * @frame: the Ethernet frame (borrowed, copied as needed)
 * @len: its length
 *
 * Fires the timers due at or before @t_ns, then runs the frame through the
 * coalescer (or into the backlog while the guest has no RX buffer).
 *
 * Returns: FALSE (frame ignored) when @t_ns is before the current time.
 */
gboolean rsc_oracle_receive(RscOracle *o, guint64 t_ns,
                            const RigVirtioNetHdrV1 *vnet_hdr_in,
                            const guint8 *frame, gsize len);

/**
 * rsc_oracle_advance:
 * @o: the oracle
 * @t_ns: new current time (ignored when in the past)
 *
 * Fires every timer with a deadline <= @t_ns, in deadline order.
 */
void rsc_oracle_advance(RscOracle *o, guint64 t_ns);

/**
 * rsc_oracle_flush:
 * @o: the oracle
 *
 * Advances to the last pending timer deadline, so that every cached
 * segment is drained as QEMU's timers would (the backlog stays until RX
 * buffers are posted).
 */
void rsc_oracle_flush(RscOracle *o);

/**
 * rsc_oracle_set_rx_buffers:
 * @o: the oracle
 * @t_ns: when the guest's supply changes (timers up to it fire first)
 * @count: free RX buffers from now on, or RSC_RX_BUFFERS_UNLIMITED
 *
 * With @count > 0 the backlog is replayed, in order, as QEMU's net queue
 * flush does when the guest posts buffers (virtio_net_handle_rx).
 */
void rsc_oracle_set_rx_buffers(RscOracle *o, guint64 t_ns, guint64 count);

/**
 * rsc_oracle_post_rx_buffers:
 * @o: the oracle
 * @t_ns: when the guest posts them
 * @count: buffers added to the free supply (no-op when unlimited)
 *
 * Like rsc_oracle_set_rx_buffers() with the current count + @count.
 */
void rsc_oracle_post_rx_buffers(RscOracle *o, guint64 t_ns, guint64 count);

/**
 * rsc_oracle_set_rsc:
 * @o: the oracle
 * @t_ns: when the guest's CTRL_GUEST_OFFLOADS_SET is accepted
 * @ipv4_enabled: RSC for IPv4 from now on
 * @ipv6_enabled: RSC for IPv6 from now on
 *
 * The guest turns RSC on or off per family.  Stock QEMU leaves the cached
 * units where they are (its drain timer still delivers them, after frames
 * that arrive meanwhile); the fixed build (RSC_FIX_FLUSH) delivers every
 * cached unit before the command completes when the state changes, as
 * Microsoft requires of disabling RSC.
 */
void rsc_oracle_set_rsc(RscOracle *o, guint64 t_ns, gboolean ipv4_enabled,
                        gboolean ipv6_enabled);

/**
 * rsc_oracle_pop_delivered:
 * @o: the oracle
 *
 * Returns: (transfer full) (nullable): the oldest frame not yet popped, or
 * NULL when none is pending.
 */
RscDelivered *rsc_oracle_pop_delivered(RscOracle *o);

/**
 * rsc_oracle_take_delivered:
 * @o: the oracle
 *
 * Returns: (transfer full): every frame not yet popped, oldest first, in
 * an array that frees its RscDelivered elements.
 */
GPtrArray *rsc_oracle_take_delivered(RscOracle *o);

/**
 * rsc_oracle_get_stats:
 * @o: the oracle
 * @family: which chain
 *
 * Returns: (transfer none): the family's counters, valid until the next
 * call that feeds the oracle.
 */
const RscStats *rsc_oracle_get_stats(const RscOracle *o, RscFamily family);

/**
 * rsc_oracle_get_now:
 * Returns: the oracle's current virtual time in ns.
 */
guint64 rsc_oracle_get_now(const RscOracle *o);

/**
 * rsc_oracle_get_cached:
 * Returns: the number of segments cached in @family's chain.
 */
guint rsc_oracle_get_cached(const RscOracle *o, RscFamily family);

/**
 * rsc_oracle_get_backlog:
 * Returns: the number of frames held back for lack of RX buffers.
 */
guint rsc_oracle_get_backlog(const RscOracle *o);

/**
 * rsc_oracle_get_lost:
 * @o: the oracle
 * @ret_segments: (out) (optional): cached segments freed undelivered
 * @ret_bytes: (out) (optional): their frame bytes
 */
void rsc_oracle_get_lost(const RscOracle *o, guint64 *ret_segments,
                         guint64 *ret_bytes);

/**
 * rsc_mode_name:
 * Returns: (transfer none): "qemu" or "spec".
 */
const char *rsc_mode_name(RscMode mode);

/**
 * rsc_mode_from_name:
 * @name: "qemu" or "spec"
 * @ret_mode: (out): the mode, set only on success
 *
 * Returns: TRUE when @name is a mode.
 */
gboolean rsc_mode_from_name(const char *name, RscMode *ret_mode);

/**
 * rsc_family_name:
 * Returns: (transfer none): "ipv4" or "ipv6" (QEMU's rsc-stats keys).
 */
const char *rsc_family_name(RscFamily family);

/**
 * rsc_cause_name:
 * Returns: (transfer none): "normal", "bypass", "final", "drain", "timer".
 */
const char *rsc_cause_name(RscCause cause);
