/*
 * Frame builder.  Layers are written outside-in into the caller buffer
 * after all sizes are known, then checksums are computed inside-out (L4
 * first: it does not cover the IP header), then the corruption knobs are
 * applied last so that they damage exactly one thing each.
 */
#include "net/build.h"

#include <errno.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "net/checksum.h"

#define IPV6_EXT_MAX_LEN   2048        /* hdrlen is 8 bits of 8-byte units */
#define PATTERN_MULTIPLIER 2654435761u /* Knuth's multiplicative hash */

static size_t pad_to(size_t n, size_t unit)
{
    return (n + unit - 1) / unit * unit;
}

/* Returns: the encoded length of one TCP option, or -EINVAL. */
static int tcp_option_len(const RigNetTcpOption *o)
{
    switch (o->kind) {
    case RIG_TCPOPT_EOL:
    case RIG_TCPOPT_NOP:
        return 1;
    case RIG_TCPOPT_MSS:
        return RIG_TCPOLEN_MSS;
    case RIG_TCPOPT_WSCALE:
        return RIG_TCPOLEN_WSCALE;
    case RIG_TCPOPT_SACK_PERM:
        return RIG_TCPOLEN_SACK_PERM;
    case RIG_TCPOPT_TIMESTAMP:
        return RIG_TCPOLEN_TIMESTAMP;
    case RIG_TCPOPT_SACK:
        if (o->sack_count < 1 || o->sack_count > RIG_TCP_MAX_SACK_BLOCKS) {
            return -EINVAL;
        }
        return 2 + RIG_TCPOLEN_SACK_BLOCK * o->sack_count;
    default:
        if (o->raw_len > RIG_TCP_MAX_OPTLEN - 2 || (o->raw_len && !o->raw)) {
            return -EINVAL;
        }
        return 2 + o->raw_len;
    }
}

static void tcp_option_write(const RigNetTcpOption *o, uint8_t *p, int len)
{
    p[0] = o->kind;
    if (len == 1) {
        return;
    }
    p[1] = (uint8_t)len;
    switch (o->kind) {
    case RIG_TCPOPT_MSS:
        rig_be16_put(p + 2, o->mss);
        break;
    case RIG_TCPOPT_WSCALE:
        p[2] = o->wscale;
        break;
    case RIG_TCPOPT_SACK_PERM:
        break;
    case RIG_TCPOPT_TIMESTAMP:
        rig_be32_put(p + 2, o->ts_val);
        rig_be32_put(p + 6, o->ts_ecr);
        break;
    case RIG_TCPOPT_SACK:
        for (unsigned i = 0; i < o->sack_count; i++) {
            rig_be32_put(p + 2 + 8 * i, o->sack[i][0]);
            rig_be32_put(p + 6 + 8 * i, o->sack[i][1]);
        }
        break;
    default:
        if (o->raw_len) {
            memcpy(p + 2, o->raw, o->raw_len);
        }
        break;
    }
}

/* Returns: the padded length of all TCP options, or -EINVAL. */
static int tcp_options_len(const RigNetFrameDesc *d)
{
    size_t total = 0;

    if (d->tcp_option_count && !d->tcp_options) {
        return -EINVAL;
    }
    for (size_t i = 0; i < d->tcp_option_count; i++) {
        int n = tcp_option_len(&d->tcp_options[i]);

        if (n < 0) {
            return n;
        }
        total += (size_t)n;
        if (total > RIG_TCP_MAX_OPTLEN) {
            return -EINVAL;
        }
    }
    return (int)pad_to(total, 4);
}

/* Returns: the on-wire length of one IPv6 extension header, or -EINVAL. */
static ssize_t ipv6_ext_len(const RigNetIpv6Ext *e)
{
    size_t n;

    if (e->data_len && !e->data) {
        return -EINVAL;
    }
    switch (e->type) {
    case RIG_IPPROTO_HOPOPTS:
    case RIG_IPPROTO_DSTOPTS:
        n = pad_to(2 + e->data_len, 8);
        break;
    case RIG_IPPROTO_ROUTING:
        n = pad_to(4 + e->data_len, 8);
        break;
    case RIG_IPPROTO_FRAGMENT:
        if (e->data_len || e->frag_offset > 0x1fff) {
            return -EINVAL;
        }
        n = RIG_IPV6_FRAG_HLEN;
        break;
    default:
        return -EINVAL;
    }
    if (n > IPV6_EXT_MAX_LEN) {
        return -EINVAL;
    }
    return (ssize_t)n;
}

static void ipv6_ext_write(const RigNetIpv6Ext *e, uint8_t nexthdr, uint8_t *p,
                           size_t len)
{
    memset(p, 0, len);
    p[0] = nexthdr;
    switch (e->type) {
    case RIG_IPPROTO_HOPOPTS:
    case RIG_IPPROTO_DSTOPTS: {
        size_t pad = len - 2 - e->data_len;

        p[1] = (uint8_t)(len / 8 - 1);
        if (e->data_len) {
            memcpy(p + 2, e->data, e->data_len);
        }
        /* RFC 8200 4.2: one Pad1 for a single byte, else one PadN. */
        if (pad == 1) {
            p[2 + e->data_len] = RIG_IPV6_OPT_PAD1;
        } else if (pad >= 2) {
            p[2 + e->data_len] = RIG_IPV6_OPT_PADN;
            p[3 + e->data_len] = (uint8_t)(pad - 2);
        }
        break;
    }
    case RIG_IPPROTO_ROUTING:
        p[1] = (uint8_t)(len / 8 - 1);
        p[2] = e->routing_type;
        p[3] = e->segments_left;
        if (e->data_len) {
            memcpy(p + 4, e->data, e->data_len);
        }
        break;
    case RIG_IPPROTO_FRAGMENT: {
        RigIpv6FragHdr *f = (RigIpv6FragHdr *)p;

        rig_be16_set(&f->frag_off, (uint16_t)((e->frag_offset << 3) |
                                              (e->frag_more ? 1u : 0u)));
        rig_be32_set(&f->id, e->frag_id);
        break;
    }
    default:
        break;
    }
}

/* Off by one, but never 0 (UDP "no checksum") nor its twin 0xffff. */
static uint16_t csum_damage(uint16_t good)
{
    uint16_t bad = (uint16_t)(good + 1);

    if (bad == 0 || bad == 0xffff) {
        bad = 1;
    }
    return bad;
}

static void payload_write(const RigNetFrameDesc *d, uint8_t *p)
{
    if (!d->payload_len) {
        return;
    }
    if (d->payload) {
        memcpy(p, d->payload, d->payload_len);
        return;
    }
    switch (d->pattern) {
    case RIG_NET_PATTERN_ZERO:
        memset(p, 0, d->payload_len);
        break;
    case RIG_NET_PATTERN_FILL:
        memset(p, d->fill_byte, d->payload_len);
        break;
    case RIG_NET_PATTERN_SEQ:
    default:
        rig_net_pattern_fill(p, d->payload_len,
                             d->protocol == RIG_IPPROTO_TCP ? d->seq
                                                            : d->pattern_seed);
        break;
    }
}

/* Sizes of each layer, validated before anything is written. */
typedef struct Layout {
    size_t l2;
    size_t ipv4_opt;
    size_t ipv6_ext[RIG_IPV6_MAX_EXT];
    size_t l3;
    size_t tcp_opt;
    size_t l4;
    size_t ip_len; /* L3 header + L4 header + payload */
    size_t frame;  /* L2 + ip_len + padding */
} Layout;

static int layout_compute(const RigNetFrameDesc *d, Layout *ret)
{
    Layout l = {0};

    l.l2 = RIG_ETH_HLEN + (d->vlan ? RIG_VLAN_HLEN : 0);
    if (d->family == 4) {
        if (d->ipv4_options_len && !d->ipv4_options) {
            return -EINVAL;
        }
        l.ipv4_opt = pad_to(d->ipv4_options_len, 4);
        if (l.ipv4_opt > RIG_IPV4_MAX_HLEN - RIG_IPV4_HLEN ||
            d->ipv6_ext_count || d->frag_offset > RIG_IPV4_FRAG_MASK) {
            return -EINVAL;
        }
        l.l3 = RIG_IPV4_HLEN + l.ipv4_opt;
    } else if (d->family == 6) {
        if (d->ipv4_options_len || d->ipv6_ext_count > RIG_IPV6_MAX_EXT ||
            (d->ipv6_ext_count && !d->ipv6_ext)) {
            return -EINVAL;
        }
        l.l3 = RIG_IPV6_HLEN;
        for (size_t i = 0; i < d->ipv6_ext_count; i++) {
            ssize_t n = ipv6_ext_len(&d->ipv6_ext[i]);

            if (n < 0) {
                return (int)n;
            }
            l.ipv6_ext[i] = (size_t)n;
            l.l3 += (size_t)n;
        }
    } else if (d->family == 0) {
        /* Not IP: nothing above L2 may be asked for, and an IP ethertype
         * would make a frame that claims to be IP without a header. */
        if (d->ethertype == 0 || d->ethertype == RIG_ETHERTYPE_IPV4 ||
            d->ethertype == RIG_ETHERTYPE_IPV6 || d->protocol ||
            d->ipv4_options_len || d->ipv6_ext_count || d->tcp_option_count ||
            (d->corrupt & ~RIG_NET_CORRUPT_TRUNCATE)) {
            return -EINVAL;
        }
    } else {
        return -EINVAL;
    }

    if (d->protocol == RIG_IPPROTO_TCP) {
        int n = tcp_options_len(d);

        if (n < 0) {
            return n;
        }
        l.tcp_opt = (size_t)n;
        l.l4 = RIG_TCP_HLEN + l.tcp_opt;
    } else if (d->protocol == RIG_IPPROTO_UDP) {
        l.l4 = RIG_UDP_HLEN;
    }
    if (d->payload_len > 65535) {
        return -EINVAL;
    }
    l.ip_len = l.l3 + l.l4 + d->payload_len;
    /* IPv4 total length covers the header, IPv6 payload length does not. */
    if ((d->family == 4 && l.ip_len > 65535) ||
        (d->family == 6 && l.ip_len - RIG_IPV6_HLEN > 65535)) {
        return -EINVAL;
    }
    l.frame = l.l2 + l.ip_len;
    if (d->pad_to_min && l.frame < RIG_ETH_MIN_FRAME) {
        l.frame = RIG_ETH_MIN_FRAME;
    }
    if ((d->corrupt & RIG_NET_CORRUPT_TRUNCATE) && d->truncate_len > l.frame) {
        return -EINVAL;
    }
    if ((d->corrupt & RIG_NET_CORRUPT_TCP_DOFF) &&
        (d->protocol != RIG_IPPROTO_TCP || d->tcp_doff_value > 15)) {
        return -EINVAL;
    }
    *ret = l;
    return 0;
}

static size_t l2_write(const RigNetFrameDesc *d, uint8_t *p)
{
    RigEthHdr *eth = (RigEthHdr *)p;
    uint16_t ethertype = d->family == 4   ? RIG_ETHERTYPE_IPV4
                         : d->family == 6 ? RIG_ETHERTYPE_IPV6
                                          : d->ethertype;

    memcpy(eth->dst, d->dst_mac, RIG_ETH_ALEN);
    memcpy(eth->src, d->src_mac, RIG_ETH_ALEN);
    if (!d->vlan) {
        rig_be16_set(&eth->ethertype, ethertype);
        return RIG_ETH_HLEN;
    }
    rig_be16_set(&eth->ethertype, RIG_ETHERTYPE_VLAN);
    RigVlanTag *tag = (RigVlanTag *)(p + RIG_ETH_HLEN);
    rig_be16_set(&tag->tci, d->vlan_tci);
    rig_be16_set(&tag->ethertype, ethertype);
    return RIG_ETH_HLEN + RIG_VLAN_HLEN;
}

static void ipv4_write(const RigNetFrameDesc *d, const Layout *l, uint8_t *p)
{
    RigIpv4Hdr *ip = (RigIpv4Hdr *)p;
    uint16_t frag = d->frag_offset & RIG_IPV4_FRAG_MASK;

    ip->ver_ihl = (uint8_t)(0x40 | (l->l3 / 4));
    ip->tos = d->tos;
    rig_be16_set(&ip->tot_len, (uint16_t)l->ip_len);
    rig_be16_set(&ip->id, d->ip_id);
    if (d->df) {
        frag |= RIG_IPV4_FLAG_DF;
    }
    if (d->mf) {
        frag |= RIG_IPV4_FLAG_MF;
    }
    rig_be16_set(&ip->frag_off, frag);
    ip->ttl = d->ttl ? d->ttl : 64;
    ip->protocol = d->protocol;
    rig_be16_set(&ip->check, 0);
    memcpy(ip->saddr, d->src_ip, RIG_IPV4_ALEN);
    memcpy(ip->daddr, d->dst_ip, RIG_IPV4_ALEN);
    memset(p + RIG_IPV4_HLEN, 0, l->ipv4_opt); /* EOL padding */
    if (d->ipv4_options_len) {
        memcpy(p + RIG_IPV4_HLEN, d->ipv4_options, d->ipv4_options_len);
    }
}

static void ipv6_write(const RigNetFrameDesc *d, const Layout *l, uint8_t *p)
{
    RigIpv6Hdr *ip = (RigIpv6Hdr *)p;
    size_t off = RIG_IPV6_HLEN;

    rig_ipv6_set_ver_tc_flow(ip, d->tos, d->flow_label);
    rig_be16_set(&ip->payload_len, (uint16_t)(l->ip_len - RIG_IPV6_HLEN));
    ip->nexthdr = d->ipv6_ext_count ? d->ipv6_ext[0].type : d->protocol;
    ip->hop_limit = d->ttl ? d->ttl : 64;
    memcpy(ip->saddr, d->src_ip, RIG_IPV6_ALEN);
    memcpy(ip->daddr, d->dst_ip, RIG_IPV6_ALEN);
    for (size_t i = 0; i < d->ipv6_ext_count; i++) {
        uint8_t next =
            i + 1 < d->ipv6_ext_count ? d->ipv6_ext[i + 1].type : d->protocol;

        ipv6_ext_write(&d->ipv6_ext[i], next, p + off, l->ipv6_ext[i]);
        off += l->ipv6_ext[i];
    }
}

static void tcp_write(const RigNetFrameDesc *d, const Layout *l, uint8_t *p)
{
    RigTcpHdr *tcp = (RigTcpHdr *)p;
    uint8_t *opt = p + RIG_TCP_HLEN;

    rig_be16_set(&tcp->source, d->src_port);
    rig_be16_set(&tcp->dest, d->dst_port);
    rig_be32_set(&tcp->seq, d->seq);
    rig_be32_set(&tcp->ack_seq, d->ack);
    rig_tcp_set_doff_flags(tcp, (unsigned)l->l4, d->tcp_flags);
    rig_be16_set(&tcp->window, d->window);
    rig_be16_set(&tcp->check, 0);
    rig_be16_set(&tcp->urg_ptr, d->urg_ptr);
    memset(opt, 0, l->tcp_opt);
    for (size_t i = 0; i < d->tcp_option_count; i++) {
        int n = tcp_option_len(&d->tcp_options[i]);

        tcp_option_write(&d->tcp_options[i], opt, n);
        opt += n;
    }
}

/* Computes (and maybe damages) the TCP or UDP checksum in place. */
static void l4_checksum(const RigNetFrameDesc *d, const Layout *l, uint8_t *l4)
{
    size_t seg_len = l->l4 + d->payload_len;
    uint32_t sum;
    uint8_t *check;
    uint16_t c;

    if (d->family == 4) {
        sum = rig_csum_ipv4_pseudo(d->src_ip, d->dst_ip, d->protocol,
                                   (uint16_t)seg_len);
    } else {
        sum = rig_csum_ipv6_pseudo(d->src_ip, d->dst_ip, d->protocol,
                                   (uint32_t)seg_len);
    }
    if (d->protocol == RIG_IPPROTO_TCP) {
        check = ((RigTcpHdr *)l4)->check.b;
    } else {
        check = ((RigUdpHdr *)l4)->check.b;
    }
    c = rig_csum_finish(rig_csum_add(sum, l4, seg_len));
    if (d->protocol == RIG_IPPROTO_UDP && c == 0) {
        c = 0xffff; /* RFC 768: 0 would mean "no checksum" */
    }
    if (d->corrupt & RIG_NET_CORRUPT_L4_CSUM) {
        c = csum_damage(c);
    }
    rig_be16_put(check, c);
}

ssize_t rig_net_build_frame(const RigNetFrameDesc *d, uint8_t *buf, size_t size)
{
    Layout l;
    uint8_t *l3;
    uint8_t *l4;
    int r;

    if (!d || (!buf && size)) {
        return -EINVAL;
    }
    r = layout_compute(d, &l);
    if (r < 0) {
        return r;
    }
    if (size < l.frame) {
        return -ENOSPC;
    }

    l3 = buf + l2_write(d, buf);
    l4 = l3 + l.l3;
    if (d->family == 0) {
        payload_write(d, l3);
        memset(l3 + l.ip_len, 0, l.frame - l.l2 - l.ip_len);
        if (d->corrupt & RIG_NET_CORRUPT_TRUNCATE) {
            return (ssize_t)d->truncate_len;
        }
        return (ssize_t)l.frame;
    }
    if (d->family == 4) {
        ipv4_write(d, &l, l3);
    } else {
        ipv6_write(d, &l, l3);
    }
    if (d->protocol == RIG_IPPROTO_TCP) {
        tcp_write(d, &l, l4);
    } else if (d->protocol == RIG_IPPROTO_UDP) {
        RigUdpHdr *udp = (RigUdpHdr *)l4;

        rig_be16_set(&udp->source, d->src_port);
        rig_be16_set(&udp->dest, d->dst_port);
        rig_be16_set(&udp->len, (uint16_t)(RIG_UDP_HLEN + d->payload_len));
        rig_be16_set(&udp->check, 0);
    }
    payload_write(d, l4 + l.l4);
    memset(l3 + l.ip_len, 0, l.frame - l.l2 - l.ip_len);

    /* The UDP length lie is covered by the checksum: only the length is
     * wrong, so a receiver reports the length, not the checksum. */
    if (d->protocol == RIG_IPPROTO_UDP &&
        (d->corrupt & RIG_NET_CORRUPT_UDP_LEN)) {
        rig_be16_set(&((RigUdpHdr *)l4)->len, d->udp_len_value);
    }
    if (d->corrupt & RIG_NET_CORRUPT_TCP_DOFF) {
        RigTcpHdr *tcp = (RigTcpHdr *)l4;

        rig_be16_set(&tcp->doff_flags,
                     (uint16_t)((d->tcp_doff_value << 12) |
                                (rig_be16(tcp->doff_flags) & 0x0fffu)));
    }
    if (d->protocol == RIG_IPPROTO_TCP || d->protocol == RIG_IPPROTO_UDP) {
        l4_checksum(d, &l, l4);
    }
    if (d->corrupt & RIG_NET_CORRUPT_IP_LEN) {
        if (d->family == 4) {
            rig_be16_set(&((RigIpv4Hdr *)l3)->tot_len, d->ip_len_value);
        } else {
            rig_be16_set(&((RigIpv6Hdr *)l3)->payload_len, d->ip_len_value);
        }
    }
    if (d->family == 4) {
        uint16_t c = rig_csum_ipv4_header(l3, l.l3);

        if (d->corrupt & RIG_NET_CORRUPT_IPV4_CSUM) {
            c = csum_damage(c);
        }
        rig_be16_set(&((RigIpv4Hdr *)l3)->check, c);
    }
    if (d->corrupt & RIG_NET_CORRUPT_TRUNCATE) {
        return (ssize_t)d->truncate_len;
    }
    return (ssize_t)l.frame;
}

ssize_t rig_net_build_vnet_hdr(uint8_t *buf, size_t size, uint8_t flags,
                               uint8_t gso_type, uint16_t hdr_len,
                               uint16_t gso_size, uint16_t csum_start,
                               uint16_t csum_offset)
{
    RigVirtioNetHdrV1 *h = (RigVirtioNetHdrV1 *)buf;

    if (!buf || size < sizeof(*h)) {
        return -ENOSPC;
    }
    h->flags = flags;
    h->gso_type = gso_type;
    rig_le16_set(&h->hdr_len, hdr_len);
    rig_le16_set(&h->gso_size, gso_size);
    rig_le16_set(&h->csum_start, csum_start);
    rig_le16_set(&h->csum_offset, csum_offset);
    rig_le16_set(&h->num_buffers, 0);
    return (ssize_t)sizeof(*h);
}

uint8_t rig_net_pattern_byte(uint32_t seq)
{
    /* Knuth's multiplicative hash: neighbouring and 256-apart sequence
     * numbers map to different bytes. */
    return (uint8_t)((seq * PATTERN_MULTIPLIER) >> 24);
}

/*
 * Consecutive pattern bytes differ by one addition of the multiplier, so the
 * fill runs 16 bytes at a time: a call of rig_net_pattern_byte() per byte was
 * half of rsc-trafgen's CPU in its unpaced load mode.
 */
void rig_net_pattern_fill(uint8_t *buf, size_t len, uint32_t seed)
{
    const uint32_t k = PATTERN_MULTIPLIER;
    uint32_t v = seed * k;
    size_t i = 0;

#ifdef __SSE2__
    if (len >= 16) {
        __m128i lane[4];
        const __m128i step = _mm_set1_epi32((int)(16 * k));

        for (int q = 0; q < 4; q++) {
            lane[q] = _mm_setr_epi32(
                (int)(v + (4 * q + 0) * k), (int)(v + (4 * q + 1) * k),
                (int)(v + (4 * q + 2) * k), (int)(v + (4 * q + 3) * k));
        }
        for (; i + 16 <= len; i += 16) {
            /* top bytes are 0..255: the saturating packs are exact */
            __m128i lo = _mm_packs_epi32(_mm_srli_epi32(lane[0], 24),
                                         _mm_srli_epi32(lane[1], 24));
            __m128i hi = _mm_packs_epi32(_mm_srli_epi32(lane[2], 24),
                                         _mm_srli_epi32(lane[3], 24));

            _mm_storeu_si128((__m128i *)(void *)(buf + i),
                             _mm_packus_epi16(lo, hi));
            for (int q = 0; q < 4; q++) {
                lane[q] = _mm_add_epi32(lane[q], step);
            }
        }
        v += (uint32_t)i * k;
    }
#endif
    for (; i < len; i++) {
        buf[i] = (uint8_t)(v >> 24);
        v += k;
    }
}

ssize_t rig_net_pattern_check(const uint8_t *buf, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != rig_net_pattern_byte(seed + (uint32_t)i)) {
            return (ssize_t)i;
        }
    }
    return -1;
}
