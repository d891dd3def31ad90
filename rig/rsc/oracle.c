/*
 * RSC oracle: chains, cached segments, drain timers, guest RX buffers and
 * the output queue.  The decisions themselves live in rules.c.
 */
#include "rsc/oracle.h"

#include <string.h>

#include "net/checksum.h"
#include "net/wire.h"
#include "rsc/rules.h"

/* One cached segment (QEMU's VirtioNetRscSeg). */
typedef struct RscSeg {
    GByteArray *frame;     /* first frame, then appended payload */
    RigVirtioNetHdrV1 hdr; /* the first frame's tap header */
    RscFamily family;
    RscUnit unit;          /* the first frame's; TSval of the newest */
    guint16 payload;       /* TCP payload bytes held (unit.payload) */
    guint16 packets;       /* uint16_t in QEMU: wraps the same way */
    guint16 max_payload;   /* spec mode: gso_size, largest data segment */
    gboolean coalesced;    /* is_coalesced: delivered with RSC_INFO */
    gboolean waiting;      /* spec mode: undeliverable, kept for the guest */
} RscSeg;

/* One family (QEMU's VirtioNetRscChain). */
typedef struct RscChain {
    GQueue segs; /* RscSeg *, cache order */
    gboolean timer_armed;
    guint64 deadline;
    guint64 armed_order; /* ties between chains fire in arming order */
    RscStats stats;
} RscChain;

/* A frame QEMU's net queue / the tap holds while the guest has no buffer. */
typedef struct RscHeld {
    RigVirtioNetHdrV1 hdr;
    guint8 *frame;
    gsize len;
} RscHeld;

struct RscOracle {
    RscOracleConfig cfg;
    guint fixes; /* RscFix bits in effect: 0 in qemu mode */
    guint64 now;
    guint64 rx_free;
    guint64 arm_counter;
    RscChain chains[RSC_FAMILY_COUNT];
    GQueue out;     /* RscDelivered * */
    GQueue backlog; /* RscHeld * */
    GQueue waiting; /* spec mode: RscSeg * (still in their chains) that the
                     * guest had no buffer for, oldest first */
    guint64 lost_segments;
    guint64 lost_bytes;
};

static gboolean has_fix(const RscOracle *o, RscFix fix)
{
    return (o->fixes & fix) != 0;
}

static void rsc_seg_free(RscSeg *seg)
{
    if (seg) {
        g_byte_array_unref(seg->frame);
        g_free(seg);
    }
}

static void rsc_held_free(RscHeld *held)
{
    if (held) {
        g_free(held->frame);
        g_free(held);
    }
}

void rsc_delivered_free(RscDelivered *d)
{
    if (d) {
        g_free(d->frame);
        g_free(d);
    }
}

RscOracle *rsc_oracle_new(const RscOracleConfig *cfg)
{
    RscOracle *o;

    g_return_val_if_fail(cfg != NULL, NULL);

    o = g_new0(RscOracle, 1);
    o->cfg = *cfg;
    if (o->cfg.interval_ns == 0) {
        o->cfg.interval_ns = RSC_DEFAULT_INTERVAL_NS;
    }
    o->rx_free = RSC_RX_BUFFERS_UNLIMITED;
    if (o->cfg.mode == RSC_MODE_SPEC) {
        o->fixes = o->cfg.fixes ? (o->cfg.fixes & RSC_FIX_ALL) : RSC_FIX_ALL;
    }
    for (int f = 0; f < RSC_FAMILY_COUNT; f++) {
        g_queue_init(&o->chains[f].segs);
    }
    g_queue_init(&o->out);
    g_queue_init(&o->backlog);
    g_queue_init(&o->waiting);
    return o;
}

void rsc_oracle_free(RscOracle *o)
{
    if (!o) {
        return;
    }
    for (int f = 0; f < RSC_FAMILY_COUNT; f++) {
        g_queue_clear_full(&o->chains[f].segs, (GDestroyNotify)rsc_seg_free);
    }
    g_queue_clear_full(&o->out, (GDestroyNotify)rsc_delivered_free);
    g_queue_clear_full(&o->backlog, (GDestroyNotify)rsc_held_free);
    g_queue_clear(&o->waiting); /* the segments belong to the chains */
    g_free(o);
}

/*
 * virtio_net_do_receive: one guest buffer per frame.  Takes @frame (owned)
 * and returns FALSE, like QEMU's 0, when no buffer is free; @frame is then
 * freed.
 */
static gboolean rsc_deliver_owned(RscOracle *o, const RigVirtioNetHdrV1 *hdr,
                                  guint8 *frame, gsize len, RscCause cause,
                                  int family)
{
    RscDelivered *d;

    if (o->rx_free == 0) {
        g_free(frame);
        return FALSE;
    }
    if (o->rx_free != RSC_RX_BUFFERS_UNLIMITED) {
        o->rx_free--;
    }
    d = g_new0(RscDelivered, 1);
    d->t_ns = o->now;
    d->hdr = *hdr;
    /* Set by QEMU with mergeable buffers; one buffer holds the frame. */
    rig_le16_set(&d->hdr.num_buffers, 1);
    d->frame = frame;
    d->len = len;
    d->cause = cause;
    d->family = family;
    g_queue_push_tail(&o->out, d);
    return TRUE;
}

/* rsc_deliver_owned() for a borrowed frame. */
static gboolean rsc_deliver(RscOracle *o, const RigVirtioNetHdrV1 *hdr,
                            const guint8 *frame, gsize len, RscCause cause,
                            int family)
{
    if (o->rx_free == 0) {
        return FALSE;
    }
    return rsc_deliver_owned(o, hdr, g_memdup2(frame, len), len, cause, family);
}

static gsize rsc_ip_end(RscFamily family, const guint8 *frame)
{
    const RigIpv4Hdr *ip = (const RigIpv4Hdr *)(frame + RIG_ETH_HLEN);
    const RigIpv6Hdr *ip6 = (const RigIpv6Hdr *)(frame + RIG_ETH_HLEN);

    if (family == RSC_FAMILY_IPV4) {
        return RIG_ETH_HLEN + rig_be16(ip->tot_len);
    }
    return RIG_ETH_HLEN + RIG_IPV6_HLEN + rig_be16(ip6->payload_len);
}

/*
 * Spec mode: the header the fixed build gives a coalesced unit (the spec's
 * device requirements for gso_type != NONE, and a valid IPv4 header).
 */
static void rsc_spec_finish_coalesced(RscSeg *seg, RigVirtioNetHdrV1 *hdr)
{
    guint8 *frame = seg->frame->data;
    gsize ip_hlen =
        seg->family == RSC_FAMILY_IPV4 ? RIG_IPV4_HLEN : RIG_IPV6_HLEN;
    guint8 *tcp = frame + RIG_ETH_HLEN + ip_hlen;
    guint l4_len = seg->unit.tcp_hdr_len + seg->payload;
    uint32_t pseudo;

    hdr->flags |= RIG_VIRTIO_NET_HDR_F_NEEDS_CSUM;
    rig_le16_set(&hdr->hdr_len,
                 (guint16)(RIG_ETH_HLEN + ip_hlen + seg->unit.tcp_hdr_len));
    rig_le16_set(&hdr->gso_size, seg->max_payload);
    /* The flags byte: ACK, and PSH as the unit has it (ORed with the PSH
     * fix, else the newest segment's). */
    tcp[13] = (guint8)(RIG_TCP_ACK | (tcp[13] & RIG_TCP_PSH));
    if (seg->family == RSC_FAMILY_IPV4) {
        RigIpv4Hdr *ip = (RigIpv4Hdr *)(frame + RIG_ETH_HLEN);

        rig_be16_set(&ip->check, 0);
        rig_be16_set(&ip->check,
                     rig_csum_ipv4_header((const uint8_t *)ip, RIG_IPV4_HLEN));
        pseudo = rig_csum_ipv4_pseudo(ip->saddr, ip->daddr, RIG_IPPROTO_TCP,
                                      (uint16_t)l4_len);
    } else {
        RigIpv6Hdr *ip6 = (RigIpv6Hdr *)(frame + RIG_ETH_HLEN);

        pseudo = rig_csum_ipv6_pseudo(ip6->saddr, ip6->daddr, RIG_IPPROTO_TCP,
                                      l4_len);
    }
    /* NEEDS_CSUM: the field holds the pseudo-header sum, not complemented. */
    rig_be16_put(tcp + offsetof(RigTcpHdr, check),
                 (guint16)~rig_csum_finish(pseudo));
}

/*
 * virtio_net_rsc_drain_seg: the segment leaves the chain whether or not
 * the guest takes it (QEMU frees it either way).  Spec mode keeps a
 * segment the guest has no buffer for: it waits, in order, for the next
 * buffers (the fixed build's answer to the data loss).
 */
static gboolean rsc_drain_seg(RscOracle *o, RscFamily family, RscSeg *seg,
                              RscCause cause)
{
    RscChain *chain = &o->chains[family];
    RigVirtioNetHdrV1 hdr = seg->hdr;
    gsize len;
    gboolean ok;

    if (has_fix(o, RSC_FIX_RING_FULL) && o->rx_free == 0) {
        if (!seg->waiting) {
            seg->waiting = TRUE;
            g_queue_push_tail(&o->waiting, seg);
        }
        return FALSE;
    }
    if (seg->coalesced) {
        hdr.flags = RIG_VIRTIO_NET_HDR_F_RSC_INFO;
        hdr.gso_type = family == RSC_FAMILY_IPV4 ? RIG_VIRTIO_NET_HDR_GSO_TCPV4
                                                 : RIG_VIRTIO_NET_HDR_GSO_TCPV6;
        rig_vnet_hdr_set_rsc(&hdr, seg->packets, 0);
        if (has_fix(o, RSC_FIX_HEADER)) {
            rsc_spec_finish_coalesced(seg, &hdr);
        }
    } else if (!has_fix(o, RSC_FIX_HEADER)) {
        /* Spec mode delivers a lone segment with the header it came with. */
        hdr.flags = 0;
        hdr.gso_type = RIG_VIRTIO_NET_HDR_GSO_NONE;
    }
    if (seg->waiting) {
        g_queue_remove(&o->waiting, seg);
    }
    g_queue_remove(&chain->segs, seg);
    len = seg->frame->len;
    ok = rsc_deliver_owned(o, &hdr, g_byte_array_free(seg->frame, FALSE), len,
                           cause, (int)family);
    if (!ok) {
        o->lost_segments++;
        o->lost_bytes += len;
    }
    g_free(seg);
    return ok;
}

static void rsc_arm_timer(RscOracle *o, RscChain *chain)
{
    chain->timer_armed = TRUE;
    chain->deadline = o->now + o->cfg.interval_ns;
    chain->armed_order = ++o->arm_counter;
}

/* virtio_net_rsc_purge: the drain timer's callback. */
static void rsc_purge(RscOracle *o, RscFamily family)
{
    RscChain *chain = &o->chains[family];

    chain->timer_armed = FALSE;
    if (has_fix(o, RSC_FIX_RING_FULL)) {
        /* Segments the guest can not take stay, waiting (rsc_drain_seg). */
        for (GList *l = chain->segs.head, *next; l; l = next) {
            next = l->next;
            rsc_drain_seg(o, family, l->data, RSC_CAUSE_TIMER);
        }
    }
    while (!has_fix(o, RSC_FIX_RING_FULL) && !g_queue_is_empty(&chain->segs)) {
        if (!rsc_drain_seg(o, family, g_queue_peek_head(&chain->segs),
                           RSC_CAUSE_TIMER)) {
            chain->stats.purge_failed++;
        }
    }
    chain->stats.timer++;
}

/* virtio_net_rsc_cache_buf */
static void rsc_cache(RscOracle *o, RscFamily family,
                      const RigVirtioNetHdrV1 *hdr, const guint8 *frame,
                      gsize len, const RscUnit *unit)
{
    RscChain *chain = &o->chains[family];
    RscSeg *seg = g_new0(RscSeg, 1);

    /* Spec mode: Ethernet padding after the IP datagram is not kept. */
    if (has_fix(o, RSC_FIX_PADDING)) {
        len = MIN(len, rsc_ip_end(family, frame));
    }
    /*
     * Room for the most a segment can grow (64 KiB of payload) from the
     * start, as QEMU does: no regrowth, and below malloc's mmap threshold.
     */
    seg->frame = g_byte_array_sized_new((guint)(len + RSC_MAX_TCP_PAYLOAD));
    g_byte_array_append(seg->frame, frame, (guint)len);
    seg->hdr = *hdr;
    seg->family = family;
    seg->unit = *unit;
    seg->payload = unit->payload;
    seg->packets = 1;
    seg->max_payload = unit->payload;
    g_queue_push_tail(&chain->segs, seg);
    chain->stats.cache++;
}

/* The data part of virtio_net_rsc_coalesce_data. */
static void rsc_append(RscOracle *o, RscFamily family, RscSeg *seg,
                       const guint8 *frame, const RscUnit *unit)
{
    gsize tcp_off = unit->tcp_off;
    guint8 *o_frame;
    guint16 ip_len_field;
    gsize len_off = family == RSC_FAMILY_IPV4
                        ? RIG_ETH_HLEN + offsetof(RigIpv4Hdr, tot_len)
                        : RIG_ETH_HLEN + offsetof(RigIpv6Hdr, payload_len);

    /* QEMU appends at the end of the buffer, after any Ethernet padding
     * (spec mode trimmed it when caching). */
    o_frame = seg->frame->data;
    ip_len_field = rig_be16_get(o_frame + len_off);
    rig_be16_put(o_frame + len_off, (guint16)(ip_len_field + unit->payload));
    seg->payload = (guint16)(seg->payload + unit->payload);

    seg->max_payload = MAX(seg->max_payload, unit->payload);
    if (!has_fix(o, RSC_FIX_PSH)) {
        /*
         * The whole data-offset/flags word comes from the new segment: PSH
         * survives only when the newest segment has it, and so would a
         * data offset below 5.
         */
        memcpy(o_frame + tcp_off + offsetof(RigTcpHdr, doff_flags),
               frame + tcp_off + offsetof(RigTcpHdr, doff_flags), 2);
    } else {
        /* PSH is ORed over the unit (Microsoft). */
        o_frame[tcp_off + 13] |= frame[tcp_off + 13] & RIG_TCP_PSH;
    }
    if (has_fix(o, RSC_FIX_TIMESTAMPS) && unit->has_ts) {
        /* The newest TSval and TSecr win (same layout: checked). */
        memcpy(o_frame + tcp_off + unit->ts_off + 2,
               frame + tcp_off + unit->ts_off + 2, 8);
        seg->unit.tsval = unit->tsval;
    }
    /* Ack and window come from the new segment. */
    memcpy(o_frame + tcp_off + offsetof(RigTcpHdr, ack_seq),
           frame + tcp_off + offsetof(RigTcpHdr, ack_seq), 4);
    memcpy(o_frame + tcp_off + offsetof(RigTcpHdr, window),
           frame + tcp_off + offsetof(RigTcpHdr, window), 2);
    g_byte_array_append(seg->frame, frame + tcp_off + unit->tcp_hdr_len,
                        unit->payload);
    seg->packets++;
}

/* virtio_net_rsc_do_coalesce.  Returns FALSE when the frame is held. */
static gboolean rsc_do_coalesce(RscOracle *o, RscFamily family,
                                const RigVirtioNetHdrV1 *hdr,
                                const guint8 *frame, gsize len,
                                const RscUnit *unit)
{
    RscChain *chain = &o->chains[family];

    if (g_queue_is_empty(&chain->segs)) {
        chain->stats.empty_cache++;
        rsc_cache(o, family, hdr, frame, len, unit);
        rsc_arm_timer(o, chain);
        return TRUE;
    }

    for (GList *l = chain->segs.head; l; l = l->next) {
        RscSeg *seg = l->data;
        RscMerge merge =
            rsc_rules_merge(o->fixes, family, seg->frame->data, seg->payload,
                            &seg->unit, frame, unit, &chain->stats);
        RigTcpHdr *o_tcp;

        switch (merge) {
        case RSC_MERGE_NO_MATCH:
            continue;
        case RSC_MERGE_FINAL:
            if (!rsc_drain_seg(o, family, seg, RSC_CAUSE_DRAIN)) {
                /* Spec mode: the unit waits, this frame waits behind it. */
                if (!has_fix(o, RSC_FIX_RING_FULL)) {
                    chain->stats.final_failed++;
                }
                return FALSE;
            }
            return rsc_deliver(o, hdr, frame, len, RSC_CAUSE_FINAL,
                               (int)family);
        case RSC_MERGE_RESUME:
            /* The unit goes to the guest, the frame starts the next one. */
            if (!rsc_drain_seg(o, family, seg, RSC_CAUSE_DRAIN)) {
                return FALSE;
            }
            rsc_cache(o, family, hdr, frame, len, unit);
            return TRUE;
        case RSC_MERGE_APPEND:
            rsc_append(o, family, seg, frame, unit);
            break;
        case RSC_MERGE_WINDOW:
            o_tcp = (RigTcpHdr *)(seg->frame->data + unit->tcp_off);
            rig_be16_set(&o_tcp->window, unit->window);
            break;
        }
        seg->coalesced = TRUE;
        return TRUE;
    }

    chain->stats.no_match_cache++;
    rsc_cache(o, family, hdr, frame, len, unit);
    return TRUE;
}

/* virtio_net_rsc_drain_flow: drain the frame's flow, then deliver it. */
static gboolean rsc_drain_flow(RscOracle *o, RscFamily family,
                               const RigVirtioNetHdrV1 *hdr,
                               const guint8 *frame, gsize len)
{
    RscChain *chain = &o->chains[family];

    for (GList *l = chain->segs.head; l; l = l->next) {
        RscSeg *seg = l->data;

        if (rsc_rules_same_flow(family, seg->frame->data, frame)) {
            if (rsc_drain_seg(o, family, seg, RSC_CAUSE_DRAIN)) {
                break;
            }
            /* Spec mode: the unit waits, this frame waits behind it. */
            if (has_fix(o, RSC_FIX_RING_FULL)) {
                return FALSE;
            }
            chain->stats.drain_failed++;
            break;
        }
    }
    return rsc_deliver(o, hdr, frame, len, RSC_CAUSE_FINAL, (int)family);
}

/*
 * virtio_net_receive -> virtio_net_rsc_receive -> receive4/6.  Returns
 * FALSE when the guest could not take the frame (QEMU returns 0 and its
 * net queue keeps the frame for later).
 */
static gboolean rsc_process(RscOracle *o, const RigVirtioNetHdrV1 *hdr,
                            const guint8 *frame, gsize len)
{
    RscFamily family;
    RscChain *chain;
    RscUnit unit;
    RscStats snapshot;
    gboolean enabled;
    gboolean ok;

    if (!o->cfg.ipv4_enabled && !o->cfg.ipv6_enabled) {
        return rsc_deliver(o, hdr, frame, len, RSC_CAUSE_NORMAL, -1);
    }
    if (len < RIG_ETH_HLEN) {
        return rsc_deliver(o, hdr, frame, len, RSC_CAUSE_NORMAL, -1);
    }
    switch (rig_be16_get(frame + offsetof(RigEthHdr, ethertype))) {
    case RIG_ETHERTYPE_IPV4:
        family = RSC_FAMILY_IPV4;
        enabled = o->cfg.ipv4_enabled;
        break;
    case RIG_ETHERTYPE_IPV6:
        family = RSC_FAMILY_IPV6;
        enabled = o->cfg.ipv6_enabled;
        break;
    default:
        return rsc_deliver(o, hdr, frame, len, RSC_CAUSE_NORMAL, -1);
    }

    chain = &o->chains[family];
    snapshot = chain->stats;
    chain->stats.received++;
    if (!enabled) {
        return rsc_deliver(o, hdr, frame, len, RSC_CAUSE_NORMAL, (int)family);
    }

    switch (rsc_rules_classify(o->fixes, family, hdr, frame, len, &chain->stats,
                               &unit)) {
    case RSC_VERDICT_BYPASS:
        ok = rsc_deliver(o, hdr, frame, len, RSC_CAUSE_BYPASS, (int)family);
        break;
    case RSC_VERDICT_FINAL:
        ok = rsc_drain_flow(o, family, hdr, frame, len);
        break;
    case RSC_VERDICT_CANDIDATE:
    default:
        ok = rsc_do_coalesce(o, family, hdr, frame, len, &unit);
        break;
    }
    /*
     * The fixed build counts a frame once, when it is accepted: a refused
     * one (no RX buffer) leaves the counters as they were.  Stock counts
     * every attempt.
     */
    if (!ok && has_fix(o, RSC_FIX_RING_FULL)) {
        chain->stats = snapshot;
    }
    return ok;
}

/* Returns the chain whose timer fires next at or before @t_ns, or -1. */
static int rsc_next_timer(const RscOracle *o, guint64 t_ns)
{
    int best = -1;

    for (int f = 0; f < RSC_FAMILY_COUNT; f++) {
        const RscChain *c = &o->chains[f];

        if (!c->timer_armed || c->deadline > t_ns) {
            continue;
        }
        if (best < 0 || c->deadline < o->chains[best].deadline ||
            (c->deadline == o->chains[best].deadline &&
             c->armed_order < o->chains[best].armed_order)) {
            best = f;
        }
    }
    return best;
}

void rsc_oracle_advance(RscOracle *o, guint64 t_ns)
{
    int f;

    g_return_if_fail(o != NULL);

    while ((f = rsc_next_timer(o, t_ns)) >= 0) {
        o->now = MAX(o->now, o->chains[f].deadline);
        rsc_purge(o, (RscFamily)f);
    }
    o->now = MAX(o->now, t_ns);
}

void rsc_oracle_flush(RscOracle *o)
{
    int f;

    g_return_if_fail(o != NULL);

    while ((f = rsc_next_timer(o, G_MAXUINT64)) >= 0) {
        o->now = MAX(o->now, o->chains[f].deadline);
        rsc_purge(o, (RscFamily)f);
    }
}

/*
 * QEMU's net queue flush after the guest posts buffers.  In spec mode the
 * waiting units go first, oldest first, and nothing else is read while
 * one still waits.
 */
static void rsc_replay_backlog(RscOracle *o)
{
    RscHeld *held;
    RscSeg *seg;

    while (o->rx_free > 0 && (seg = g_queue_peek_head(&o->waiting))) {
        rsc_drain_seg(o, seg->family, seg, RSC_CAUSE_DEFERRED);
    }
    while (o->rx_free > 0 && g_queue_is_empty(&o->waiting) &&
           (held = g_queue_peek_head(&o->backlog))) {
        if (!rsc_process(o, &held->hdr, held->frame, held->len)) {
            break;
        }
        rsc_held_free(g_queue_pop_head(&o->backlog));
    }
}

gboolean rsc_oracle_receive(RscOracle *o, guint64 t_ns,
                            const RigVirtioNetHdrV1 *vnet_hdr_in,
                            const guint8 *frame, gsize len)
{
    RigVirtioNetHdrV1 hdr = {0};
    RscHeld *held;

    g_return_val_if_fail(o != NULL, FALSE);
    g_return_val_if_fail(frame != NULL || len == 0, FALSE);

    if (t_ns < o->now) {
        return FALSE;
    }
    if (vnet_hdr_in) {
        hdr = *vnet_hdr_in;
    }
    rsc_oracle_advance(o, t_ns);

    /* While a frame is held the tap reads nothing: keep arrival order;
     * in spec mode a waiting unit holds the tap back the same way. */
    if (!g_queue_is_empty(&o->backlog) || !g_queue_is_empty(&o->waiting) ||
        !rsc_process(o, &hdr, frame, len)) {
        held = g_new0(RscHeld, 1);
        held->hdr = hdr;
        held->frame = g_memdup2(frame, len);
        held->len = len;
        g_queue_push_tail(&o->backlog, held);
    }
    return TRUE;
}

void rsc_oracle_set_rx_buffers(RscOracle *o, guint64 t_ns, guint64 count)
{
    g_return_if_fail(o != NULL);

    rsc_oracle_advance(o, t_ns);
    o->rx_free = count;
    rsc_replay_backlog(o);
}

void rsc_oracle_post_rx_buffers(RscOracle *o, guint64 t_ns, guint64 count)
{
    guint64 total;

    g_return_if_fail(o != NULL);

    if (o->rx_free == RSC_RX_BUFFERS_UNLIMITED ||
        count >= RSC_RX_BUFFERS_UNLIMITED - o->rx_free) {
        total = RSC_RX_BUFFERS_UNLIMITED;
    } else {
        total = o->rx_free + count;
    }
    rsc_oracle_set_rx_buffers(o, t_ns, total);
}

void rsc_oracle_set_rsc(RscOracle *o, guint64 t_ns, gboolean ipv4_enabled,
                        gboolean ipv6_enabled)
{
    g_return_if_fail(o != NULL);

    rsc_oracle_advance(o, t_ns);
    if (has_fix(o, RSC_FIX_FLUSH) && (!ipv4_enabled != !o->cfg.ipv4_enabled ||
                                      !ipv6_enabled != !o->cfg.ipv6_enabled)) {
        for (int f = 0; f < RSC_FAMILY_COUNT; f++) {
            RscChain *chain = &o->chains[f];

            /* An undeliverable unit waits for buffers (RSC_FIX_RING_FULL). */
            for (GList *l = chain->segs.head, *next; l; l = next) {
                next = l->next;
                rsc_drain_seg(o, (RscFamily)f, l->data, RSC_CAUSE_DRAIN);
            }
        }
    }
    o->cfg.ipv4_enabled = ipv4_enabled;
    o->cfg.ipv6_enabled = ipv6_enabled;
}

RscDelivered *rsc_oracle_pop_delivered(RscOracle *o)
{
    g_return_val_if_fail(o != NULL, NULL);

    return g_queue_pop_head(&o->out);
}

GPtrArray *rsc_oracle_take_delivered(RscOracle *o)
{
    GPtrArray *all;
    RscDelivered *d;

    g_return_val_if_fail(o != NULL, NULL);

    all = g_ptr_array_new_full(g_queue_get_length(&o->out),
                               (GDestroyNotify)rsc_delivered_free);
    while ((d = g_queue_pop_head(&o->out))) {
        g_ptr_array_add(all, d);
    }
    return all;
}

const RscStats *rsc_oracle_get_stats(const RscOracle *o, RscFamily family)
{
    g_return_val_if_fail(o != NULL, NULL);
    g_return_val_if_fail(family < RSC_FAMILY_COUNT, NULL);

    return &o->chains[family].stats;
}

guint64 rsc_oracle_get_now(const RscOracle *o)
{
    g_return_val_if_fail(o != NULL, 0);

    return o->now;
}

guint rsc_oracle_get_cached(const RscOracle *o, RscFamily family)
{
    g_return_val_if_fail(o != NULL, 0);
    g_return_val_if_fail(family < RSC_FAMILY_COUNT, 0);

    return g_queue_get_length((GQueue *)&o->chains[family].segs);
}

guint rsc_oracle_get_backlog(const RscOracle *o)
{
    g_return_val_if_fail(o != NULL, 0);

    return g_queue_get_length((GQueue *)&o->backlog);
}

void rsc_oracle_get_lost(const RscOracle *o, guint64 *ret_segments,
                         guint64 *ret_bytes)
{
    g_return_if_fail(o != NULL);

    if (ret_segments) {
        *ret_segments = o->lost_segments;
    }
    if (ret_bytes) {
        *ret_bytes = o->lost_bytes;
    }
}

const char *rsc_mode_name(RscMode mode)
{
    return mode == RSC_MODE_SPEC ? "spec" : "qemu";
}

gboolean rsc_mode_from_name(const char *name, RscMode *ret_mode)
{
    g_return_val_if_fail(name != NULL, FALSE);

    if (g_str_equal(name, "qemu")) {
        *ret_mode = RSC_MODE_QEMU;
        return TRUE;
    }
    if (g_str_equal(name, "spec")) {
        *ret_mode = RSC_MODE_SPEC;
        return TRUE;
    }
    return FALSE;
}

const char *rsc_family_name(RscFamily family)
{
    return family == RSC_FAMILY_IPV6 ? "ipv6" : "ipv4";
}

const char *rsc_cause_name(RscCause cause)
{
    static const char *const names[RSC_CAUSE_COUNT] = {
        "normal", "bypass", "final", "drain", "timer", "deferred",
    };

    if ((guint)cause >= RSC_CAUSE_COUNT) {
        return "unknown";
    }
    return names[cause];
}
