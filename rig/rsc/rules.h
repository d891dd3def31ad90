/*
 * The coalescing rules as pure decisions (internal to rig/rsc): which path
 * a frame takes, and what a candidate does to a cached segment of its
 * chain.  Each decision increments the counter QEMU increments for it; the
 * caller (oracle.c) moves the bytes.
 */
#pragma once

#include <glib.h>

#include "net/wire.h"
#include "rsc/family.h"
#include "rsc/stats.h"

/* The most TCP option bytes a segment can carry. */
#define RSC_TCP_MAX_OPTIONS 40

/* Offsets and TCP fields of a frame that passed the sanity checks. */
typedef struct RscUnit {
    gsize tcp_off;
    guint tcp_hdr_len; /* data offset * 4 as written (may be < 20) */
    guint16 ip_len;    /* IPv4 total length / IPv6 payload length field */
    guint16 payload;   /* QEMU's unit->payload: ip_len minus headers */
    guint32 seq;
    guint32 ack;
    guint16 window;
    /* Spec mode only (zero in qemu mode): */
    guint8 ecn;      /* ECN codepoint (RIG_ECN_*) of the IP header */
    gboolean has_ts; /* the only option is one timestamp (padding aside) */
    guint32 tsval;
    guint ts_off; /* of the timestamp option in the TCP header */
    /* The option bytes with TSval/TSecr zeroed (tcp_hdr_len - 20 of them):
     * the layout that must match for two segments to coalesce. */
    guint8 ts_layout[RSC_TCP_MAX_OPTIONS];
} RscUnit;

typedef enum RscVerdict {
    RSC_VERDICT_BYPASS = 0, /* deliver now on the normal path */
    RSC_VERDICT_FINAL,      /* drain the flow's segment, then deliver */
    RSC_VERDICT_CANDIDATE,  /* try to coalesce */
} RscVerdict;

typedef enum RscMerge {
    RSC_MERGE_NO_MATCH = 0, /* another flow */
    RSC_MERGE_FINAL,        /* drain the segment, deliver the frame */
    RSC_MERGE_APPEND,       /* append the payload, take flags/ack/window */
    RSC_MERGE_WINDOW,       /* window update: take the window only */
    RSC_MERGE_RESUME,       /* spec mode: drain, cache the frame instead */
} RscMerge;

/* Ethernet + IP + TCP without options: the shortest frame RSC looks at. */
#define RSC_MIN_FRAME_IPV4 (RIG_ETH_HLEN + RIG_IPV4_HLEN + RIG_TCP_HLEN)
#define RSC_MIN_FRAME_IPV6 (RIG_ETH_HLEN + RIG_IPV6_HLEN + RIG_TCP_HLEN)
/* Largest IP length field after a merge (VIRTIO_NET_MAX_IP4/6_PAYLOAD). */
#define RSC_MAX_IP_LEN_IPV4 (65535 - RIG_IPV4_HLEN)
#define RSC_MAX_IP_LEN_IPV6 65535
/* Sequence/ack distance beyond which a segment is out of window. */
#define RSC_MAX_TCP_PAYLOAD 65535u

/**
 * rsc_rules_classify:
 * @fixes: the RscFix bits modelled (0: stock QEMU)
 * @family: the chain the ethertype selected
 * @hdr: the frame's vnet header from the tap (spec mode looks at its
 *   GSO type and checksum flags)
 * @frame: Ethernet frame (borrowed)
 * @len: its length
 * @stats: (inout): the family's counters
 * @ret_unit: (out): the frame's unit, set when the verdict is not BYPASS
 *
 * The checks of virtio_net_rsc_receive4/6, sanity_check4/6 and
 * tcp_ctrl_check, in QEMU's order (received is counted by the caller).
 * Spec mode follows the fixed build's order instead (rig/rsc/README.md):
 * sanity without the ECN bypass plus the TCP header length, control
 * flags (ECE/CWR included) and options (timestamps may coalesce), ECN CE,
 * an offloaded vnet header, then the IPv4 and TCP checksums.
 *
 * Returns: what to do with the frame.
 */
RscVerdict rsc_rules_classify(guint fixes, RscFamily family,
                              const RigVirtioNetHdrV1 *hdr, const guint8 *frame,
                              gsize len, RscStats *stats, RscUnit *ret_unit);

/**
 * rsc_rules_same_flow:
 * @family: chain family
 * @a: one frame, at least RSC_MIN_FRAME_* bytes with a 20-byte IPv4 header
 * @b: another
 *
 * Returns: whether both have the same addresses and ports.
 */
gboolean rsc_rules_same_flow(RscFamily family, const guint8 *a,
                             const guint8 *b);

/**
 * rsc_rules_merge:
 * @fixes: the RscFix bits modelled (0: stock QEMU)
 * @family: chain family
 * @seg_frame: the cached segment's frame (borrowed)
 * @seg_payload: payload bytes the cached segment holds
 * @seg_unit: the cached segment's unit (spec mode: its ECN codepoint,
 *   timestamp layout and newest TSval)
 * @frame: the candidate frame (borrowed)
 * @unit: its unit
 * @stats: (inout): the family's counters
 *
 * virtio_net_rsc_coalesce4/6, coalesce_data and handle_ack as a decision.
 *
 * Returns: the outcome; the caller applies it.
 */
RscMerge rsc_rules_merge(guint fixes, RscFamily family, const guint8 *seg_frame,
                         guint16 seg_payload, const RscUnit *seg_unit,
                         const guint8 *frame, const RscUnit *unit,
                         RscStats *stats);
