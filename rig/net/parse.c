/*
 * Parser.  Each layer first proves that its bytes are inside the buffer
 * (and inside the length the enclosing layer announces), then reads them.
 * All offsets are size_t and every comparison is written as "need <= have"
 * on remaining lengths, so no addition can wrap.
 */
#include "net/parse.h"

#include <errno.h>
#include <string.h>

#include "net/checksum.h"

#define PARSE_FLAGS_ALL                                                        \
    (RIG_NET_PARSE_VNET_HDR | RIG_NET_PARSE_VERIFY_CSUM | RIG_NET_PARSE_L3)
#define VLAN_MAX_TAGS 2 /* 802.1ad outer + 802.1Q inner */

typedef struct Parser {
    const uint8_t *buf;
    size_t len;
    unsigned flags;
    RigNetView *v;
    size_t end; /* end of the IP packet (its length field), <= len */
} Parser;

static const struct {
    const char *name;
    const char *text;
} error_table[RIG_NET_ERR_COUNT] = {
    [RIG_NET_ERR_NONE] = {"NONE", "no error"},
    [RIG_NET_ERR_SHORT_VNET_HDR] = {"SHORT_VNET_HDR",
                                    "buffer shorter than virtio_net_hdr_v1"},
    [RIG_NET_ERR_SHORT_ETH_HDR] = {"SHORT_ETH_HDR",
                                   "buffer shorter than an Ethernet header"},
    [RIG_NET_ERR_SHORT_VLAN_TAG] = {"SHORT_VLAN_TAG",
                                    "buffer ends inside an 802.1Q tag"},
    [RIG_NET_ERR_SHORT_IPV4_HDR] = {"SHORT_IPV4_HDR",
                                    "buffer ends inside the IPv4 header"},
    [RIG_NET_ERR_BAD_IPV4_VERSION] = {"BAD_IPV4_VERSION",
                                      "IPv4 ethertype but version is not 4"},
    [RIG_NET_ERR_BAD_IPV4_IHL] = {"BAD_IPV4_IHL", "IPv4 IHL below 5"},
    [RIG_NET_ERR_SHORT_IPV4_OPTIONS] = {"SHORT_IPV4_OPTIONS",
                                        "buffer ends inside the IPv4 options"},
    [RIG_NET_ERR_BAD_IPV4_OPTION] = {"BAD_IPV4_OPTION",
                                     "IPv4 option length invalid"},
    [RIG_NET_ERR_BAD_IPV4_TOTAL_LEN] = {"BAD_IPV4_TOTAL_LEN",
                                        "IPv4 total length below IHL * 4"},
    [RIG_NET_ERR_SHORT_IPV4_PAYLOAD] = {"SHORT_IPV4_PAYLOAD",
                                        "IPv4 total length beyond the buffer"},
    [RIG_NET_ERR_SHORT_IPV6_HDR] = {"SHORT_IPV6_HDR",
                                    "buffer ends inside the IPv6 header"},
    [RIG_NET_ERR_BAD_IPV6_VERSION] = {"BAD_IPV6_VERSION",
                                      "IPv6 ethertype but version is not 6"},
    [RIG_NET_ERR_SHORT_IPV6_PAYLOAD] = {"SHORT_IPV6_PAYLOAD",
                                        "IPv6 payload length beyond the "
                                        "buffer"},
    [RIG_NET_ERR_SHORT_IPV6_EXT_HDR] = {"SHORT_IPV6_EXT_HDR",
                                        "IPv6 extension header beyond the "
                                        "payload"},
    [RIG_NET_ERR_BAD_IPV6_EXT_ORDER] = {"BAD_IPV6_EXT_ORDER",
                                        "IPv6 hop-by-hop header not first"},
    [RIG_NET_ERR_TOO_MANY_IPV6_EXT] = {"TOO_MANY_IPV6_EXT",
                                       "more IPv6 extension headers than "
                                       "RIG_IPV6_MAX_EXT"},
    [RIG_NET_ERR_SHORT_TCP_HDR] = {"SHORT_TCP_HDR",
                                   "IP payload shorter than a TCP header"},
    [RIG_NET_ERR_BAD_TCP_DOFF] = {"BAD_TCP_DOFF", "TCP data offset below 5"},
    [RIG_NET_ERR_SHORT_TCP_OPTIONS] = {"SHORT_TCP_OPTIONS",
                                       "TCP data offset beyond the IP "
                                       "payload"},
    [RIG_NET_ERR_BAD_TCP_OPTION] = {"BAD_TCP_OPTION",
                                    "TCP option length invalid"},
    [RIG_NET_ERR_SHORT_UDP_HDR] = {"SHORT_UDP_HDR",
                                   "IP payload shorter than a UDP header"},
    [RIG_NET_ERR_BAD_UDP_LEN] = {"BAD_UDP_LEN",
                                 "UDP length below 8 or beyond the IP "
                                 "payload"},
};

const char *rig_net_error_name(RigNetError reason)
{
    if ((unsigned)reason >= RIG_NET_ERR_COUNT) {
        return "UNKNOWN";
    }
    return error_table[reason].name;
}

const char *rig_net_error_describe(RigNetError reason)
{
    if ((unsigned)reason >= RIG_NET_ERR_COUNT) {
        return "unknown parse error";
    }
    return error_table[reason].text;
}

const char *rig_net_csum_name(RigNetCsum csum)
{
    switch (csum) {
    case RIG_NET_CSUM_OK:
        return "ok";
    case RIG_NET_CSUM_BAD:
        return "bad";
    case RIG_NET_CSUM_ZERO:
        return "zero";
    case RIG_NET_CSUM_UNCHECKED:
    default:
        return "unchecked";
    }
}

static int error_errno(RigNetError e)
{
    switch (e) {
    case RIG_NET_ERR_TOO_MANY_IPV6_EXT:
        return -E2BIG;
    case RIG_NET_ERR_SHORT_VNET_HDR:
    case RIG_NET_ERR_SHORT_ETH_HDR:
    case RIG_NET_ERR_SHORT_VLAN_TAG:
    case RIG_NET_ERR_SHORT_IPV4_HDR:
    case RIG_NET_ERR_SHORT_IPV4_OPTIONS:
    case RIG_NET_ERR_SHORT_IPV4_PAYLOAD:
    case RIG_NET_ERR_SHORT_IPV6_HDR:
    case RIG_NET_ERR_SHORT_IPV6_PAYLOAD:
    case RIG_NET_ERR_SHORT_IPV6_EXT_HDR:
    case RIG_NET_ERR_SHORT_TCP_HDR:
    case RIG_NET_ERR_SHORT_TCP_OPTIONS:
    case RIG_NET_ERR_SHORT_UDP_HDR:
        return -ENODATA;
    default:
        return -EBADMSG;
    }
}

static RigNetError parse_vnet(Parser *p, size_t *off)
{
    const RigVirtioNetHdrV1 *h;

    if (p->len < RIG_VIRTIO_NET_HDR_V1_LEN) {
        return RIG_NET_ERR_SHORT_VNET_HDR;
    }
    h = (const RigVirtioNetHdrV1 *)p->buf;
    p->v->has_vnet_hdr = true;
    p->v->vnet_flags = h->flags;
    p->v->vnet_gso_type = h->gso_type;
    p->v->vnet_hdr_len = rig_le16(h->hdr_len);
    p->v->vnet_gso_size = rig_le16(h->gso_size);
    p->v->vnet_csum_start = rig_le16(h->csum_start);
    p->v->vnet_csum_offset = rig_le16(h->csum_offset);
    p->v->vnet_num_buffers = rig_le16(h->num_buffers);
    *off = RIG_VIRTIO_NET_HDR_V1_LEN;
    return RIG_NET_ERR_NONE;
}

static RigNetError parse_eth(Parser *p, size_t *off)
{
    const RigEthHdr *eth;
    uint16_t type;

    if (p->len - *off < RIG_ETH_HLEN) {
        return RIG_NET_ERR_SHORT_ETH_HDR;
    }
    eth = (const RigEthHdr *)(p->buf + *off);
    p->v->has_eth = true;
    p->v->eth_off = *off;
    memcpy(p->v->dst_mac, eth->dst, RIG_ETH_ALEN);
    memcpy(p->v->src_mac, eth->src, RIG_ETH_ALEN);
    type = rig_be16(eth->ethertype);
    *off += RIG_ETH_HLEN;
    for (int tags = 0; tags < VLAN_MAX_TAGS && (type == RIG_ETHERTYPE_VLAN ||
                                                type == RIG_ETHERTYPE_QINQ);
         tags++) {
        const RigVlanTag *tag;

        if (p->len - *off < RIG_VLAN_HLEN) {
            return RIG_NET_ERR_SHORT_VLAN_TAG;
        }
        tag = (const RigVlanTag *)(p->buf + *off);
        if (!p->v->has_vlan) {
            p->v->has_vlan = true;
            p->v->vlan_tci = rig_be16(tag->tci);
        }
        type = rig_be16(tag->ethertype);
        *off += RIG_VLAN_HLEN;
    }
    p->v->ethertype = type;
    return RIG_NET_ERR_NONE;
}

static RigNetError check_ipv4_options(const uint8_t *o, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t olen;

        if (o[i] == RIG_IPOPT_EOL) {
            break;
        }
        if (o[i] == RIG_IPOPT_NOP) {
            i++;
            continue;
        }
        if (len - i < 2) {
            return RIG_NET_ERR_BAD_IPV4_OPTION;
        }
        olen = o[i + 1];
        if (olen < 2 || olen > len - i) {
            return RIG_NET_ERR_BAD_IPV4_OPTION;
        }
        i += olen;
    }
    return RIG_NET_ERR_NONE;
}

static RigNetError parse_ipv4(Parser *p, size_t off, size_t *ret_l4_off)
{
    RigNetView *v = p->v;
    size_t have = p->len - off;
    const RigIpv4Hdr *ip;
    size_t hlen, tot;
    uint16_t frag;
    RigNetError e;

    if (have < RIG_IPV4_HLEN) {
        return RIG_NET_ERR_SHORT_IPV4_HDR;
    }
    ip = (const RigIpv4Hdr *)(p->buf + off);
    if (rig_ipv4_version(ip) != 4) {
        return RIG_NET_ERR_BAD_IPV4_VERSION;
    }
    hlen = rig_ipv4_hdr_len(ip);
    if (hlen < RIG_IPV4_HLEN) {
        return RIG_NET_ERR_BAD_IPV4_IHL;
    }
    if (hlen > have) {
        return RIG_NET_ERR_SHORT_IPV4_OPTIONS;
    }
    e = check_ipv4_options(p->buf + off + RIG_IPV4_HLEN, hlen - RIG_IPV4_HLEN);
    if (e) {
        return e;
    }
    tot = rig_be16(ip->tot_len);
    if (tot < hlen) {
        return RIG_NET_ERR_BAD_IPV4_TOTAL_LEN;
    }
    if (tot > have) {
        return RIG_NET_ERR_SHORT_IPV4_PAYLOAD;
    }
    v->family = 4;
    v->l3_off = off;
    v->l3_hdr_len = hlen;
    v->l3_len = tot;
    v->ipv4_options_len = hlen - RIG_IPV4_HLEN;
    v->trailer_len = have - tot;
    memcpy(v->src_ip, ip->saddr, RIG_IPV4_ALEN);
    memcpy(v->dst_ip, ip->daddr, RIG_IPV4_ALEN);
    v->tos = ip->tos;
    v->ttl = ip->ttl;
    v->protocol = ip->protocol;
    frag = rig_be16(ip->frag_off);
    v->df = (frag & RIG_IPV4_FLAG_DF) != 0;
    v->mf = (frag & RIG_IPV4_FLAG_MF) != 0;
    v->frag_offset = frag & RIG_IPV4_FRAG_MASK;
    v->is_fragment = v->mf || v->frag_offset != 0;
    v->frag_id = rig_be16(ip->id);
    v->ipv4_check = rig_be16(ip->check);
    if (p->flags & RIG_NET_PARSE_VERIFY_CSUM) {
        v->ipv4_csum = rig_csum_ipv4_header(p->buf + off, hlen) == 0
                           ? RIG_NET_CSUM_OK
                           : RIG_NET_CSUM_BAD;
    }
    p->end = off + tot;
    *ret_l4_off = off + hlen;
    return RIG_NET_ERR_NONE;
}

static bool is_ipv6_ext(uint8_t nh)
{
    return nh == RIG_IPPROTO_HOPOPTS || nh == RIG_IPPROTO_ROUTING ||
           nh == RIG_IPPROTO_FRAGMENT || nh == RIG_IPPROTO_DSTOPTS;
}

static RigNetError parse_ipv6(Parser *p, size_t off, size_t *ret_l4_off)
{
    RigNetView *v = p->v;
    size_t have = p->len - off;
    const RigIpv6Hdr *ip;
    size_t plen, pos;
    uint8_t nh;

    if (have < RIG_IPV6_HLEN) {
        return RIG_NET_ERR_SHORT_IPV6_HDR;
    }
    ip = (const RigIpv6Hdr *)(p->buf + off);
    if (rig_ipv6_version(ip) != 6) {
        return RIG_NET_ERR_BAD_IPV6_VERSION;
    }
    plen = rig_be16(ip->payload_len);
    if (plen > have - RIG_IPV6_HLEN) {
        return RIG_NET_ERR_SHORT_IPV6_PAYLOAD;
    }
    p->end = off + RIG_IPV6_HLEN + plen;
    pos = off + RIG_IPV6_HLEN;
    nh = ip->nexthdr;
    while (is_ipv6_ext(nh)) {
        size_t elen;

        if (v->ipv6_ext_count >= RIG_IPV6_MAX_EXT) {
            return RIG_NET_ERR_TOO_MANY_IPV6_EXT;
        }
        if (nh == RIG_IPPROTO_HOPOPTS && v->ipv6_ext_count != 0) {
            return RIG_NET_ERR_BAD_IPV6_EXT_ORDER;
        }
        if (p->end - pos < 8) {
            /* every extension header is at least 8 bytes */
            return RIG_NET_ERR_SHORT_IPV6_EXT_HDR;
        }
        if (nh == RIG_IPPROTO_FRAGMENT) {
            const RigIpv6FragHdr *f = (const RigIpv6FragHdr *)(p->buf + pos);

            elen = RIG_IPV6_FRAG_HLEN;
            v->frag_offset = rig_ipv6_frag_offset(f);
            v->mf = rig_ipv6_frag_more(f);
            v->frag_id = rig_be32(f->id);
            v->is_fragment = v->mf || v->frag_offset != 0;
        } else {
            elen = rig_ipv6_ext_len((const RigIpv6ExtHdr *)(p->buf + pos));
            if (elen > p->end - pos) {
                return RIG_NET_ERR_SHORT_IPV6_EXT_HDR;
            }
        }
        v->ipv6_ext_type[v->ipv6_ext_count] = nh;
        v->ipv6_ext_off[v->ipv6_ext_count] = pos;
        v->ipv6_ext_len[v->ipv6_ext_count] = elen;
        v->ipv6_ext_count++;
        nh = p->buf[pos];
        pos += elen;
    }
    v->family = 6;
    v->l3_off = off;
    v->l3_hdr_len = pos - off;
    v->l3_len = RIG_IPV6_HLEN + plen;
    v->trailer_len = have - RIG_IPV6_HLEN - plen;
    memcpy(v->src_ip, ip->saddr, RIG_IPV6_ALEN);
    memcpy(v->dst_ip, ip->daddr, RIG_IPV6_ALEN);
    v->tos = rig_ipv6_traffic_class(ip);
    v->flow_label = rig_ipv6_flow_label(ip);
    v->ttl = ip->hop_limit;
    v->protocol = nh;
    *ret_l4_off = pos;
    return RIG_NET_ERR_NONE;
}

static uint32_t l4_pseudo_sum(const RigNetView *v, size_t seg_len)
{
    if (v->family == 4) {
        return rig_csum_ipv4_pseudo(v->src_ip, v->dst_ip, v->protocol,
                                    (uint16_t)seg_len);
    }
    return rig_csum_ipv6_pseudo(v->src_ip, v->dst_ip, v->protocol,
                                (uint32_t)seg_len);
}

static RigNetError parse_tcp_options(RigNetView *v, const uint8_t *o,
                                     size_t len)
{
    size_t i = 0;

    while (i < len) {
        uint8_t kind = o[i];
        size_t olen;

        if (kind == RIG_TCPOPT_EOL) {
            break;
        }
        if (kind == RIG_TCPOPT_NOP) {
            i++;
            continue;
        }
        if (len - i < 2) {
            return RIG_NET_ERR_BAD_TCP_OPTION;
        }
        olen = o[i + 1];
        if (olen < 2 || olen > len - i) {
            return RIG_NET_ERR_BAD_TCP_OPTION;
        }
        switch (kind) {
        case RIG_TCPOPT_MSS:
            if (olen != RIG_TCPOLEN_MSS) {
                return RIG_NET_ERR_BAD_TCP_OPTION;
            }
            v->mss = rig_be16_get(o + i + 2);
            v->tcp_opt_present |= RIG_NET_TCPOPT_HAS_MSS;
            break;
        case RIG_TCPOPT_WSCALE:
            if (olen != RIG_TCPOLEN_WSCALE) {
                return RIG_NET_ERR_BAD_TCP_OPTION;
            }
            v->wscale = o[i + 2];
            v->tcp_opt_present |= RIG_NET_TCPOPT_HAS_WSCALE;
            break;
        case RIG_TCPOPT_SACK_PERM:
            if (olen != RIG_TCPOLEN_SACK_PERM) {
                return RIG_NET_ERR_BAD_TCP_OPTION;
            }
            v->tcp_opt_present |= RIG_NET_TCPOPT_HAS_SACK_PERM;
            break;
        case RIG_TCPOPT_TIMESTAMP:
            if (olen != RIG_TCPOLEN_TIMESTAMP) {
                return RIG_NET_ERR_BAD_TCP_OPTION;
            }
            v->ts_val = rig_be32_get(o + i + 2);
            v->ts_ecr = rig_be32_get(o + i + 6);
            v->tcp_opt_present |= RIG_NET_TCPOPT_HAS_TIMESTAMP;
            break;
        case RIG_TCPOPT_SACK: {
            size_t blocks = (olen - 2) / RIG_TCPOLEN_SACK_BLOCK;

            if ((olen - 2) % RIG_TCPOLEN_SACK_BLOCK || blocks < 1 ||
                blocks > RIG_TCP_MAX_SACK_BLOCKS) {
                return RIG_NET_ERR_BAD_TCP_OPTION;
            }
            v->sack_count = (uint8_t)blocks;
            for (size_t b = 0; b < blocks; b++) {
                v->sack[b][0] = rig_be32_get(o + i + 2 + 8 * b);
                v->sack[b][1] = rig_be32_get(o + i + 6 + 8 * b);
            }
            v->tcp_opt_present |= RIG_NET_TCPOPT_HAS_SACK;
            break;
        }
        default:
            v->tcp_opt_present |= RIG_NET_TCPOPT_HAS_OTHER;
            break;
        }
        i += olen;
    }
    return RIG_NET_ERR_NONE;
}

static RigNetError parse_tcp(Parser *p, size_t off)
{
    RigNetView *v = p->v;
    size_t seg = p->end - off;
    const RigTcpHdr *tcp;
    size_t hlen;
    RigNetError e;

    if (seg < RIG_TCP_HLEN) {
        return RIG_NET_ERR_SHORT_TCP_HDR;
    }
    tcp = (const RigTcpHdr *)(p->buf + off);
    hlen = rig_tcp_hdr_len(tcp);
    if (hlen < RIG_TCP_HLEN) {
        return RIG_NET_ERR_BAD_TCP_DOFF;
    }
    if (hlen > seg) {
        return RIG_NET_ERR_SHORT_TCP_OPTIONS;
    }
    e = parse_tcp_options(v, p->buf + off + RIG_TCP_HLEN, hlen - RIG_TCP_HLEN);
    if (e) {
        return e;
    }
    v->l4_off = off;
    v->l4_hdr_len = hlen;
    v->src_port = rig_be16(tcp->source);
    v->dst_port = rig_be16(tcp->dest);
    v->seq = rig_be32(tcp->seq);
    v->ack = rig_be32(tcp->ack_seq);
    v->tcp_flags = rig_tcp_flags(tcp);
    v->window = rig_be16(tcp->window);
    v->urg_ptr = rig_be16(tcp->urg_ptr);
    v->l4_check = rig_be16(tcp->check);
    v->tcp_opt_off = off + RIG_TCP_HLEN;
    v->tcp_opt_len = hlen - RIG_TCP_HLEN;
    v->payload_off = off + hlen;
    v->payload_len = seg - hlen;
    if (p->flags & RIG_NET_PARSE_VERIFY_CSUM) {
        uint32_t sum = rig_csum_add(l4_pseudo_sum(v, seg), p->buf + off, seg);

        v->l4_csum =
            rig_csum_finish(sum) == 0 ? RIG_NET_CSUM_OK : RIG_NET_CSUM_BAD;
    }
    return RIG_NET_ERR_NONE;
}

static RigNetError parse_udp(Parser *p, size_t off)
{
    RigNetView *v = p->v;
    size_t seg = p->end - off;
    const RigUdpHdr *udp;
    size_t ulen;

    if (seg < RIG_UDP_HLEN) {
        return RIG_NET_ERR_SHORT_UDP_HDR;
    }
    udp = (const RigUdpHdr *)(p->buf + off);
    ulen = rig_be16(udp->len);
    if (ulen < RIG_UDP_HLEN || ulen > seg) {
        return RIG_NET_ERR_BAD_UDP_LEN;
    }
    v->l4_off = off;
    v->l4_hdr_len = RIG_UDP_HLEN;
    v->src_port = rig_be16(udp->source);
    v->dst_port = rig_be16(udp->dest);
    v->udp_len = (uint16_t)ulen;
    v->l4_check = rig_be16(udp->check);
    v->payload_off = off + RIG_UDP_HLEN;
    v->payload_len = ulen - RIG_UDP_HLEN;
    if (p->flags & RIG_NET_PARSE_VERIFY_CSUM) {
        if (v->l4_check == 0) {
            /* optional over IPv4, mandatory over IPv6 (RFC 8200 8.1) */
            v->l4_csum = v->family == 4 ? RIG_NET_CSUM_ZERO : RIG_NET_CSUM_BAD;
        } else {
            uint32_t sum =
                rig_csum_add(l4_pseudo_sum(v, ulen), p->buf + off, ulen);

            v->l4_csum =
                rig_csum_finish(sum) == 0 ? RIG_NET_CSUM_OK : RIG_NET_CSUM_BAD;
        }
    }
    return RIG_NET_ERR_NONE;
}

static RigNetError parse_frame(Parser *p)
{
    RigNetView *v = p->v;
    size_t off = 0;
    size_t l4_off = 0;
    RigNetError e;

    if (p->flags & RIG_NET_PARSE_VNET_HDR) {
        e = parse_vnet(p, &off);
        if (e) {
            return e;
        }
    }
    if (!(p->flags & RIG_NET_PARSE_L3)) {
        e = parse_eth(p, &off);
        if (e) {
            return e;
        }
    } else if (off < p->len && (p->buf[off] >> 4) == 6) {
        v->ethertype = RIG_ETHERTYPE_IPV6;
    } else {
        v->ethertype = RIG_ETHERTYPE_IPV4;
    }

    if (v->ethertype == RIG_ETHERTYPE_IPV4) {
        e = parse_ipv4(p, off, &l4_off);
    } else if (v->ethertype == RIG_ETHERTYPE_IPV6) {
        e = parse_ipv6(p, off, &l4_off);
    } else {
        /* Not IP: everything after L2 is payload. */
        v->payload_off = off;
        v->payload_len = p->len - off;
        return RIG_NET_ERR_NONE;
    }
    if (e) {
        return e;
    }

    e = RIG_NET_ERR_NONE;
    if (!v->is_fragment && v->protocol == RIG_IPPROTO_TCP) {
        e = parse_tcp(p, l4_off);
    } else if (!v->is_fragment && v->protocol == RIG_IPPROTO_UDP) {
        e = parse_udp(p, l4_off);
    } else {
        v->payload_off = l4_off;
        v->payload_len = p->end - l4_off;
    }
    if (e) {
        return e;
    }
    rig_flow_key_init(&v->flow, v->family, v->protocol, v->src_ip, v->dst_ip,
                      v->src_port, v->dst_port);
    return RIG_NET_ERR_NONE;
}

int rig_net_parse(const uint8_t *buf, size_t len, unsigned flags,
                  RigNetView *ret_view, RigNetError *reterr_reason)
{
    RigNetView v;
    Parser p = {
        .buf = buf,
        .len = len,
        .flags = flags,
        .v = &v,
    };
    RigNetError e;

    if (!ret_view || (flags & ~PARSE_FLAGS_ALL) || (!buf && len)) {
        return -EINVAL;
    }
    memset(&v, 0, sizeof(v));
    v.len = len;
    e = parse_frame(&p);
    if (e) {
        if (reterr_reason) {
            *reterr_reason = e;
        }
        return error_errno(e);
    }
    *ret_view = v;
    return 0;
}
