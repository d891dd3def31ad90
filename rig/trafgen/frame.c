/*
 * frame.c - pattern segments to frames through rig/net's builder
 */
#include "trafgen/frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net/build.h"

/* RFC 826 request for IPv4 over Ethernet */
#define ARP_LEN          28
#define ARP_HTYPE_ETHER  1
#define ARP_OPER_REQUEST 1
#define ARP_DEFAULT_SRC4 ((const uint8_t[4]){192, 0, 2, 1})
#define ARP_DEFAULT_DST4 ((const uint8_t[4]){192, 0, 2, 2})

/* An ARP request from the flow's source asking for its destination: a
 * frame that is not IPv4/IPv6 at all.  IPv6 flows have no IPv4 addresses,
 * so theirs ask with the IPv4 defaults. */
static ssize_t arp_frame_build(const TrafgenEndpoints *endpoints, uint8_t *buf,
                               size_t size)
{
    uint8_t arp[ARP_LEN] = {0};
    RigNetFrameDesc d = {
        .ethertype = RIG_ETHERTYPE_ARP,
        .pad_to_min = true,
        .payload = arp,
        .payload_len = sizeof(arp),
    };

    /* unicast to the flow's peer (an RFC 1122 ARP poll): it passes the same
     * MAC filters as the flow's TCP frames */
    memcpy(d.dst_mac, endpoints->dst_mac, RIG_ETH_ALEN);
    memcpy(d.src_mac, endpoints->src_mac, RIG_ETH_ALEN);
    rig_be16_put(arp + 0, ARP_HTYPE_ETHER);
    rig_be16_put(arp + 2, RIG_ETHERTYPE_IPV4);
    arp[4] = RIG_ETH_ALEN;
    arp[5] = RIG_IPV4_ALEN;
    rig_be16_put(arp + 6, ARP_OPER_REQUEST);
    memcpy(arp + 8, endpoints->src_mac, RIG_ETH_ALEN);
    memcpy(arp + 14, endpoints->ipv6 ? ARP_DEFAULT_SRC4 : endpoints->src_ip,
           RIG_IPV4_ALEN);
    /* target hardware address unknown: zero */
    memcpy(arp + 24, endpoints->ipv6 ? ARP_DEFAULT_DST4 : endpoints->dst_ip,
           RIG_IPV4_ALEN);
    return rig_net_build_frame(&d, buf, size);
}

void trafgen_endpoints_init_default(TrafgenEndpoints *endpoints, gboolean ipv6)
{
    static const uint8_t v4_src[4] = {192, 0, 2, 1};
    static const uint8_t v4_dst[4] = {192, 0, 2, 2};
    static const uint8_t v6_src[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    static const uint8_t v6_dst[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
    static const uint8_t src_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
    static const uint8_t dst_mac[6] = {0x02, 0, 0, 0, 0, 0x02};

    memset(endpoints, 0, sizeof(*endpoints));
    endpoints->ipv6 = ipv6;
    memcpy(endpoints->src_mac, src_mac, 6);
    memcpy(endpoints->dst_mac, dst_mac, 6);
    if (ipv6) {
        memcpy(endpoints->src_ip, v6_src, 16);
        memcpy(endpoints->dst_ip, v6_dst, 16);
    } else {
        memcpy(endpoints->src_ip, v4_src, 4);
        memcpy(endpoints->dst_ip, v4_dst, 4);
    }
    endpoints->src_port = 40000;
    endpoints->dst_port = 5001;
}

ssize_t trafgen_frame_build(const TrafgenEndpoints *endpoints,
                            const TrafgenSegment *segment, uint8_t *buf,
                            size_t size)
{
    /* router alert: a harmless, well-known 4-byte option */
    static const uint8_t ipv4_option[4] = {RIG_IPOPT_RA, 4, 0, 0};
    static __thread uint8_t payload[65536];
    const TrafgenKnobs *knobs = &segment->knobs;
    RigNetFrameDesc d = {0};
    RigNetIpv6Ext ext[2];
    RigNetTcpOption ts = {0};
    size_t n_ext = 0;
    size_t l4_hdr;

    if (segment->kind == TRAFGEN_STEP_IDLE) {
        return 0;
    }
    if (segment->kind == TRAFGEN_STEP_ARP) {
        return arp_frame_build(endpoints, buf, size);
    }
    memcpy(d.dst_mac, endpoints->dst_mac, 6);
    memcpy(d.src_mac, endpoints->src_mac, 6);
    d.family = endpoints->ipv6 ? 6 : 4;
    memcpy(d.src_ip, endpoints->src_ip, 16);
    memcpy(d.dst_ip, endpoints->dst_ip, 16);
    d.ttl = 64;
    d.tos = knobs->ecn ? RIG_ECN_CE : 0;
    d.src_port = (uint16_t)(endpoints->src_port + segment->flow);
    d.dst_port = endpoints->dst_port;
    d.payload_len = segment->payload_len;
    if (d.payload_len > sizeof(payload)) {
        return -EINVAL;
    }

    if (!endpoints->ipv6) {
        /* like Linux: ids advance per datagram; derived from seq so that a
         * retransmission is recognisable */
        d.ip_id = (uint16_t)(segment->seq ^ (segment->seq >> 16));
        d.df = !knobs->nodf && !knobs->frag;
        d.mf = knobs->frag || knobs->dfmf;
        if (knobs->ipopt) {
            d.ipv4_options = ipv4_option;
            d.ipv4_options_len = sizeof(ipv4_option);
        }
    } else {
        memset(ext, 0, sizeof(ext));
        if (knobs->exthdr) {
            ext[n_ext++].type = RIG_IPPROTO_HOPOPTS;
        }
        if (knobs->frag) {
            ext[n_ext].type = RIG_IPPROTO_FRAGMENT;
            ext[n_ext].frag_more = true;
            ext[n_ext].frag_id = segment->seq;
            n_ext++;
        }
        d.ipv6_ext = ext;
        d.ipv6_ext_count = n_ext;
    }

    if (segment->kind == TRAFGEN_STEP_UDP) {
        d.protocol = RIG_IPPROTO_UDP;
        rig_net_pattern_fill(payload, d.payload_len, segment->flow);
        l4_hdr = RIG_UDP_HLEN;
    } else {
        d.protocol = RIG_IPPROTO_TCP;
        d.seq = segment->seq;
        d.ack = segment->ack;
        d.window = segment->window;
        d.tcp_flags = segment->flags;
        d.urg_ptr = segment->urg_ptr;
        rig_net_pattern_fill(payload, d.payload_len, segment->seq);
        l4_hdr = RIG_TCP_HLEN;
        if (knobs->ts) {
            ts.kind = RIG_TCPOPT_TIMESTAMP;
            ts.ts_val = segment->tsval;
            ts.ts_ecr = 0;
            d.tcp_options = &ts;
            d.tcp_option_count = 1;
            l4_hdr += 12;
        }
    }

    d.payload = payload;
    if (knobs->badipcsum) {
        d.corrupt |= RIG_NET_CORRUPT_IPV4_CSUM;
    }
    if (knobs->badcsum) {
        d.corrupt |= RIG_NET_CORRUPT_L4_CSUM;
    }
    if (knobs->iplen != TRAFGEN_IPLEN_OK) {
        size_t ip_hdr =
            endpoints->ipv6 ? 0 : RIG_IPV4_HLEN + (knobs->ipopt ? 4 : 0);
        size_t ext_len = n_ext * 8;
        size_t real = ip_hdr + ext_len + l4_hdr + segment->payload_len;

        d.corrupt |= RIG_NET_CORRUPT_IP_LEN;
        if (knobs->iplen == TRAFGEN_IPLEN_SHORT) {
            /* shorter than the IP + L4 headers */
            d.ip_len_value = (uint16_t)(ip_hdr + ext_len + l4_hdr / 2);
        } else {
            d.ip_len_value = (uint16_t)MIN(real + 100, 65535u);
        }
    }
    if (knobs->has_doff && d.protocol == RIG_IPPROTO_TCP) {
        d.corrupt |= RIG_NET_CORRUPT_TCP_DOFF;
        d.tcp_doff_value = knobs->doff;
    }
    if (knobs->trunc >= 0) {
        d.corrupt |= RIG_NET_CORRUPT_TRUNCATE;
        d.truncate_len = (size_t)knobs->trunc;
    }
    return rig_net_build_frame(&d, buf, size);
}

gboolean trafgen_parse_mac(const char *text, uint8_t ret_mac[6])
{
    unsigned int b[6];
    char tail;

    if (text == NULL || sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1],
                               &b[2], &b[3], &b[4], &b[5], &tail) != 6) {
        return FALSE;
    }
    for (int i = 0; i < 6; i++) {
        ret_mac[i] = (uint8_t)b[i];
    }
    return TRUE;
}

gboolean trafgen_parse_ip(const char *text, gboolean ipv6, uint8_t ret_ip[16])
{
    uint8_t addr[16] = {0};

    if (text == NULL || inet_pton(ipv6 ? AF_INET6 : AF_INET, text, addr) != 1) {
        return FALSE;
    }
    memcpy(ret_ip, addr, 16);
    return TRUE;
}
