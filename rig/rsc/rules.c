/*
 * Coalescing decisions of QEMU 10.0.13's virtio-net RSC, re-derived rule
 * by rule.  Frames here have no vnet header: QEMU's offsets all start
 * after guest_hdr_len, which this file leaves out.
 */
#include "rsc/rules.h"

#include <string.h>

#include "net/checksum.h"
#include "net/wire.h"
#include "rsc/oracle.h" /* RscFix */

#define RSC_IP_OFF RIG_ETH_HLEN

/* The TCP flags QEMU's ctrl check can see: doff_flags & 0x3F. */
#define RSC_QEMU_FLAG_MASK 0x3fu

static const RigIpv4Hdr *rsc_ipv4(const guint8 *frame)
{
    return (const RigIpv4Hdr *)(frame + RSC_IP_OFF);
}

static const RigIpv6Hdr *rsc_ipv6(const guint8 *frame)
{
    return (const RigIpv6Hdr *)(frame + RSC_IP_OFF);
}

static gsize rsc_tcp_off(RscFamily family)
{
    return RSC_IP_OFF +
           (family == RSC_FAMILY_IPV4 ? RIG_IPV4_HLEN : RIG_IPV6_HLEN);
}

/*
 * virtio_net_rsc_sanity_check4.  The version test counts ip_option, and a
 * DF-less frame counts ip_frag even when it is not a fragment (and a DF
 * frame with MF or an offset passes).
 */
static gboolean rsc_sane_ipv4(guint fixes, const guint8 *frame, gsize len,
                              RscStats *stats, gboolean *ret_ce)
{
    const RigIpv4Hdr *ip = rsc_ipv4(frame);
    guint16 ip_len = rig_be16(ip->tot_len);

    if (rig_ipv4_version(ip) != 4 || rig_ipv4_hdr_len(ip) != RIG_IPV4_HLEN) {
        stats->ip_option++;
        return FALSE;
    }
    if (ip->protocol != RIG_IPPROTO_TCP) {
        stats->bypass_not_tcp++;
        return FALSE;
    }
    if (!(rig_be16(ip->frag_off) & RIG_IPV4_FLAG_DF)) {
        stats->ip_frag++;
        return FALSE;
    }
    /* Fixed build: DF with MF or an offset is a fragment all the same. */
    if ((fixes & RSC_FIX_FRAGMENT) &&
        (rig_be16(ip->frag_off) & (RIG_IPV4_FLAG_MF | RIG_IPV4_FRAG_MASK))) {
        stats->ip_frag++;
        return FALSE;
    }
    /* Spec mode: only CE, and it finalizes instead (rsc_rules_classify). */
    if (!(fixes & RSC_FIX_ECN) && (ip->tos & RIG_ECN_MASK)) {
        stats->ip_ecn++;
        return FALSE;
    }
    if ((fixes & RSC_FIX_ECN) && (ip->tos & RIG_ECN_MASK) == RIG_ECN_CE) {
        stats->ip_ecn++;
        *ret_ce = TRUE;
        return TRUE;
    }
    if (ip_len < RIG_IPV4_HLEN + RIG_TCP_HLEN || ip_len > len - RSC_IP_OFF) {
        stats->ip_hacked++;
        return FALSE;
    }
    return TRUE;
}

/*
 * virtio_net_rsc_sanity_check6.  A wrong version is bypassed without a
 * counter; any extension header fails the next-header test (counted as
 * not TCP).  QEMU tests ECN with IP6_ECN(second byte) = byte & 0xC0,
 * which are two DSCP bits: the real ECN bits are (byte >> 4) & 3.
 */
static gboolean rsc_sane_ipv6(guint fixes, const guint8 *frame, gsize len,
                              RscStats *stats, gboolean *ret_ce)
{
    const RigIpv6Hdr *ip6 = rsc_ipv6(frame);
    guint16 plen = rig_be16(ip6->payload_len);
    gboolean ecn;

    if (rig_ipv6_version(ip6) != 6) {
        return FALSE;
    }
    if (ip6->nexthdr != RIG_IPPROTO_TCP) {
        stats->bypass_not_tcp++;
        return FALSE;
    }
    if (plen < RIG_TCP_HLEN || plen > len - RSC_IP_OFF - RIG_IPV6_HLEN) {
        stats->ip_hacked++;
        return FALSE;
    }
    if (fixes & RSC_FIX_ECN) {
        if ((rig_ipv6_traffic_class(ip6) & RIG_ECN_MASK) == RIG_ECN_CE) {
            stats->ip_ecn++;
            *ret_ce = TRUE;
        }
        return TRUE;
    }
    ecn = (frame[RSC_IP_OFF + 1] & 0xc0) != 0;
    if (ecn) {
        stats->ip_ecn++;
        return FALSE;
    }
    return TRUE;
}

/*
 * virtio_net_rsc_tcp_ctrl_check: SYN bypasses, FIN/URG/RST finalize, any
 * header longer than 20 bytes (options) finalizes.  QEMU masks the flags
 * with 0x3F before testing ECE (0x40) and CWR (0x80), so they never match
 * there; spec mode finalizes on them as the seed commit describes.
 */
/*
 * Spec mode: the only option is one timestamp (kind 8, length 10), with
 * NOP padding around it and anything after an EOL ignored
 * (virtio_net_rsc_ts_offset of the fixed build); Linux sends NOP NOP TS.
 * Fills the unit's TSval and layout (option bytes, timestamp values
 * zeroed: two segments coalesce only with the same layout).
 */
static gboolean rsc_ts_only(const guint8 *opt, guint len, RscUnit *unit)
{
    gboolean ts = FALSE;

    if (len > RSC_TCP_MAX_OPTIONS) {
        return FALSE;
    }
    memcpy(unit->ts_layout, opt, len);
    for (guint i = 0; i < len;) {
        if (opt[i] == RIG_TCPOPT_EOL) {
            break;
        } else if (opt[i] == RIG_TCPOPT_NOP) {
            i++;
        } else if (opt[i] == RIG_TCPOPT_TIMESTAMP && !ts && i + 10 <= len &&
                   opt[i + 1] == 10) {
            unit->tsval = rig_be32_get(opt + i + 2);
            unit->ts_off = RIG_TCP_HLEN + i;
            memset(unit->ts_layout + i + 2, 0, 8);
            ts = TRUE;
            i += 10;
        } else {
            return FALSE;
        }
    }
    unit->has_ts = ts;
    return ts;
}

static RscVerdict rsc_ctrl_check(guint fixes, guint16 doff_flags,
                                 RscStats *stats)
{
    guint16 seen = doff_flags & RSC_QEMU_FLAG_MASK;
    guint16 drain = RIG_TCP_FIN | RIG_TCP_URG | RIG_TCP_RST;

    if (fixes & RSC_FIX_ECE_CWR) {
        seen = doff_flags & RIG_TCP_FLAGS_MASK;
        drain |= RIG_TCP_ECE | RIG_TCP_CWR;
    }
    if (seen & RIG_TCP_SYN) {
        stats->tcp_syn++;
        return RSC_VERDICT_BYPASS;
    }
    if (seen & drain) {
        stats->tcp_ctrl_drain++;
        return RSC_VERDICT_FINAL;
    }
    /* Spec mode looks at the options themselves (rsc_spec_checks). */
    if (!(fixes & RSC_FIX_TIMESTAMPS) &&
        (doff_flags >> 12) * 4u > RIG_TCP_HLEN) {
        stats->tcp_all_opt++;
        return RSC_VERDICT_FINAL;
    }
    return RSC_VERDICT_CANDIDATE;
}

/* Spec mode: a data offset below 5 or past the IP payload is malformed. */
static gboolean rsc_spec_tcp_len_ok(RscFamily family, const guint8 *frame,
                                    guint16 ip_len, RscStats *stats)
{
    const RigTcpHdr *tcp = (const RigTcpHdr *)(frame + rsc_tcp_off(family));
    guint hl = rig_tcp_hdr_len(tcp);
    guint l4 =
        family == RSC_FAMILY_IPV4 ? (guint)ip_len - RIG_IPV4_HLEN : ip_len;

    if (hl < RIG_TCP_HLEN || hl > l4) {
        stats->ip_hacked++;
        return FALSE;
    }
    return TRUE;
}

/* The TCP checksum over the pseudo-header and @l4_len bytes is right. */
static gboolean rsc_tcp_csum_ok(RscFamily family, const guint8 *frame,
                                guint l4_len)
{
    const guint8 *l4 = frame + rsc_tcp_off(family);
    uint32_t sum;

    if (family == RSC_FAMILY_IPV4) {
        const RigIpv4Hdr *ip = rsc_ipv4(frame);

        sum = rig_csum_ipv4_pseudo(ip->saddr, ip->daddr, RIG_IPPROTO_TCP,
                                   (uint16_t)l4_len);
    } else {
        const RigIpv6Hdr *ip6 = rsc_ipv6(frame);

        sum = rig_csum_ipv6_pseudo(ip6->saddr, ip6->daddr, RIG_IPPROTO_TCP,
                                   l4_len);
    }
    return rig_csum_finish(rig_csum_add(sum, l4, l4_len)) == 0;
}

/*
 * The fixed build's checks after the control flags: TCP options (only a
 * timestamp may coalesce), a backend header asking for offload
 * (its GSO or partial checksum would be lost in a merge), then the
 * checksums unless the backend vouched for them (DATA_VALID).
 */
static RscVerdict rsc_spec_checks(guint fixes, RscFamily family,
                                  const RigVirtioNetHdrV1 *hdr,
                                  const guint8 *frame, RscUnit *unit,
                                  RscStats *stats)
{
    const guint8 *opt = frame + unit->tcp_off + RIG_TCP_HLEN;
    guint l4_len = unit->tcp_hdr_len + unit->payload;

    if ((fixes & RSC_FIX_TIMESTAMPS) && unit->tcp_hdr_len > RIG_TCP_HLEN) {
        if (!rsc_ts_only(opt, unit->tcp_hdr_len - RIG_TCP_HLEN, unit)) {
            stats->tcp_all_opt++;
            return RSC_VERDICT_FINAL;
        }
        stats->tcp_option++;
    }
    if (fixes & RSC_FIX_ECN) {
        unit->ecn =
            family == RSC_FAMILY_IPV4
                ? (rsc_ipv4(frame)->tos & RIG_ECN_MASK)
                : (rig_ipv6_traffic_class(rsc_ipv6(frame)) & RIG_ECN_MASK);
    }
    if ((fixes & RSC_FIX_VNET_HDR) &&
        (hdr->gso_type != RIG_VIRTIO_NET_HDR_GSO_NONE ||
         (hdr->flags & RIG_VIRTIO_NET_HDR_F_NEEDS_CSUM))) {
        return RSC_VERDICT_FINAL;
    }
    if ((fixes & RSC_FIX_CSUM) &&
        !(hdr->flags & RIG_VIRTIO_NET_HDR_F_DATA_VALID)) {
        if (family == RSC_FAMILY_IPV4 &&
            rig_csum_finish(rig_csum_add(0, rsc_ipv4(frame), RIG_IPV4_HLEN))) {
            return RSC_VERDICT_FINAL;
        }
        if (!rsc_tcp_csum_ok(family, frame, l4_len)) {
            return RSC_VERDICT_FINAL;
        }
    }
    return RSC_VERDICT_CANDIDATE;
}

RscVerdict rsc_rules_classify(guint fixes, RscFamily family,
                              const RigVirtioNetHdrV1 *hdr, const guint8 *frame,
                              gsize len, RscStats *stats, RscUnit *ret_unit)
{
    const RigTcpHdr *tcp;
    RscVerdict verdict;
    RscUnit unit = {0};
    guint16 doff_flags;
    gboolean ce = FALSE;

    if (family == RSC_FAMILY_IPV4) {
        /* virtio_net_rsc_receive4 counts a short frame as not TCP ... */
        if (len < RSC_MIN_FRAME_IPV4) {
            stats->bypass_not_tcp++;
            return RSC_VERDICT_BYPASS;
        }
        if (!rsc_sane_ipv4(fixes, frame, len, stats, &ce)) {
            return RSC_VERDICT_BYPASS;
        }
        unit.ip_len = rig_be16(rsc_ipv4(frame)->tot_len);
    } else {
        /* ... virtio_net_rsc_receive6 counts nothing. */
        if (len < RSC_MIN_FRAME_IPV6) {
            return RSC_VERDICT_BYPASS;
        }
        if (!rsc_sane_ipv6(fixes, frame, len, stats, &ce)) {
            return RSC_VERDICT_BYPASS;
        }
        unit.ip_len = rig_be16(rsc_ipv6(frame)->payload_len);
    }
    /*
     * Spec mode: CE ends coalescing where stock tested ECN (before the IP
     * length on IPv4, after it on IPv6); a CE frame is not inspected
     * further.  Then the TCP header length.
     */
    if (ce) {
        unit.tcp_off = rsc_tcp_off(family);
        *ret_unit = unit;
        return RSC_VERDICT_FINAL;
    }
    if ((fixes & RSC_FIX_TCP_HDRLEN) &&
        !rsc_spec_tcp_len_ok(family, frame, unit.ip_len, stats)) {
        return RSC_VERDICT_BYPASS;
    }

    unit.tcp_off = rsc_tcp_off(family);
    tcp = (const RigTcpHdr *)(frame + unit.tcp_off);
    doff_flags = rig_be16(tcp->doff_flags);
    verdict = rsc_ctrl_check(fixes, doff_flags, stats);
    if (verdict == RSC_VERDICT_BYPASS) {
        return verdict;
    }

    /*
     * virtio_net_rsc_extract_unit4/6.  A candidate's data offset is at
     * most 5 but may be less: QEMU then takes part of the TCP header as
     * payload, and so does this model.  The IPv4 length counts its own
     * header, the IPv6 payload length does not.
     */
    unit.tcp_hdr_len = rig_tcp_hdr_len(tcp);
    if (family == RSC_FAMILY_IPV4) {
        unit.payload =
            (guint16)(unit.ip_len - RIG_IPV4_HLEN - unit.tcp_hdr_len);
    } else {
        unit.payload = (guint16)(unit.ip_len - unit.tcp_hdr_len);
    }
    unit.seq = rig_be32(tcp->seq);
    unit.ack = rig_be32(tcp->ack_seq);
    unit.window = rig_be16(tcp->window);
    if (verdict == RSC_VERDICT_CANDIDATE) {
        verdict = rsc_spec_checks(fixes, family, hdr, frame, &unit, stats);
    }
    *ret_unit = unit;
    return verdict;
}

gboolean rsc_rules_same_flow(RscFamily family, const guint8 *a, const guint8 *b)
{
    gsize tcp_off = rsc_tcp_off(family);
    gsize addr_off;
    gsize addr_len;

    if (family == RSC_FAMILY_IPV4) {
        addr_off = RSC_IP_OFF + offsetof(RigIpv4Hdr, saddr);
        addr_len = 2 * RIG_IPV4_ALEN;
    } else {
        addr_off = RSC_IP_OFF + offsetof(RigIpv6Hdr, saddr);
        addr_len = 2 * RIG_IPV6_ALEN;
    }
    /* Both ports: the first four bytes of TCP. */
    return memcmp(a + addr_off, b + addr_off, addr_len) == 0 &&
           memcmp(a + tcp_off, b + tcp_off, 4) == 0;
}

/* virtio_net_rsc_handle_ack: same sequence number, no new data. */
static RscMerge rsc_merge_ack(const RigTcpHdr *o_tcp, const RscUnit *unit,
                              RscStats *stats)
{
    guint32 o_ack = rig_be32(o_tcp->ack_seq);

    if (unit->ack - o_ack >= RSC_MAX_TCP_PAYLOAD) {
        stats->ack_out_of_win++;
        return RSC_MERGE_FINAL;
    }
    if (unit->ack != o_ack) {
        stats->pure_ack++;
        return RSC_MERGE_FINAL;
    }
    if (unit->window != rig_be16(o_tcp->window)) {
        stats->win_update++;
        return RSC_MERGE_WINDOW;
    }
    stats->dup_ack++;
    return RSC_MERGE_FINAL;
}

/*
 * Spec mode, a segment without payload at the next expected sequence
 * number: a duplicate ACK is never merged into data (Microsoft), a window
 * update is, a new ACK ends the unit.  QEMU merges them all as data.
 */
static RscMerge rsc_spec_merge_next_ack(const RigTcpHdr *o_tcp,
                                        const RscUnit *unit, RscStats *stats)
{
    if (unit->ack != rig_be32(o_tcp->ack_seq)) {
        stats->pure_ack++;
        return RSC_MERGE_FINAL;
    }
    if (unit->window != rig_be16(o_tcp->window)) {
        stats->win_update++;
        return RSC_MERGE_WINDOW;
    }
    stats->dup_ack++;
    return RSC_MERGE_FINAL;
}

RscMerge rsc_rules_merge(guint fixes, RscFamily family, const guint8 *seg_frame,
                         guint16 seg_payload, const RscUnit *seg_unit,
                         const guint8 *frame, const RscUnit *unit,
                         RscStats *stats)
{
    const RigTcpHdr *o_tcp;
    guint32 distance;
    guint o_ip_len;
    guint max_ip_len;

    if (!rsc_rules_same_flow(family, seg_frame, frame)) {
        stats->no_match++;
        return RSC_MERGE_NO_MATCH;
    }

    /* virtio_net_rsc_coalesce_data, all in modulo-2^32 sequence space. */
    o_tcp = (const RigTcpHdr *)(seg_frame + rsc_tcp_off(family));
    distance = unit->seq - rig_be32(o_tcp->seq);
    if (distance > RSC_MAX_TCP_PAYLOAD) {
        stats->data_out_of_win++;
        return RSC_MERGE_FINAL;
    }
    if (distance == 0) {
        /* Fixed build: data at the unit's first byte is not an ACK. */
        if ((fixes & RSC_FIX_RETRANS) && seg_payload != 0 &&
            unit->payload != 0) {
            stats->data_out_of_order++;
            return RSC_MERGE_FINAL;
        }
        if (seg_payload != 0 || unit->payload == 0) {
            return rsc_merge_ack(o_tcp, unit, stats);
        }
        /* A pure ACK followed by data at the same sequence number. */
        stats->data_after_pure_ack++;
    } else if (distance != seg_payload) {
        stats->data_out_of_order++;
        return RSC_MERGE_FINAL;
    } else if ((fixes & RSC_FIX_DUP_ACK) && unit->payload == 0) {
        return rsc_spec_merge_next_ack(o_tcp, unit, stats);
    }
    /*
     * Spec mode, before data is merged: a unit holds one option layout,
     * timestamps that never go backwards and one ECN codepoint.
     */
    if ((fixes & RSC_FIX_TIMESTAMPS) &&
        (unit->tcp_hdr_len != seg_unit->tcp_hdr_len ||
         unit->has_ts != seg_unit->has_ts ||
         memcmp(unit->ts_layout, seg_unit->ts_layout,
                unit->tcp_hdr_len - RIG_TCP_HLEN) != 0)) {
        return RSC_MERGE_RESUME;
    }
    if ((fixes & RSC_FIX_TIMESTAMPS) && unit->has_ts &&
        (gint32)(unit->tsval - seg_unit->tsval) < 0) {
        return RSC_MERGE_FINAL;
    }
    if ((fixes & RSC_FIX_ECN) && unit->ecn != seg_unit->ecn) {
        stats->ip_ecn++;
        return RSC_MERGE_RESUME;
    }

    if (family == RSC_FAMILY_IPV4) {
        o_ip_len = rig_be16(rsc_ipv4(seg_frame)->tot_len);
        max_ip_len = RSC_MAX_IP_LEN_IPV4;
    } else {
        o_ip_len = rig_be16(rsc_ipv6(seg_frame)->payload_len);
        max_ip_len = RSC_MAX_IP_LEN_IPV6;
    }
    if (o_ip_len + unit->payload > max_ip_len) {
        stats->over_size++;
        /* Spec mode: the segment starts the next unit. */
        return (fixes & RSC_FIX_OVERSIZE) ? RSC_MERGE_RESUME : RSC_MERGE_FINAL;
    }
    stats->coalesced++;
    return RSC_MERGE_APPEND;
}
