/*
 * The case catalogue.  Each setup function starts from base_tcp4/6 (a
 * 1000-byte in-order data segment, as RSC scenarios send) and changes the
 * knob its name says.  Addresses are documentation/ULA ranges only.
 */
#include "net/frame-cases.h"

#include <string.h>

static const uint8_t mac_a[RIG_ETH_ALEN] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t mac_b[RIG_ETH_ALEN] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
static const uint8_t ip4_a[4] = {10, 0, 0, 1};
static const uint8_t ip4_b[4] = {10, 0, 0, 2};
static const uint8_t ip6_a[16] = {0xfd, 0x00, 0, 0, 0, 0, 0, 0,
                                  0,    0,    0, 0, 0, 0, 0, 1};
static const uint8_t ip6_b[16] = {0xfd, 0x00, 0, 0, 0, 0, 0, 0,
                                  0,    0,    0, 0, 0, 0, 0, 2};

static void base_l2(RigNetFrameDesc *d)
{
    memset(d, 0, sizeof(*d));
    memcpy(d->src_mac, mac_a, RIG_ETH_ALEN);
    memcpy(d->dst_mac, mac_b, RIG_ETH_ALEN);
    d->ttl = 64;
}

static void base_tcp(RigNetFrameDesc *d)
{
    d->protocol = RIG_IPPROTO_TCP;
    d->src_port = 40000;
    d->dst_port = 5001;
    d->seq = 0x10000000;
    d->ack = 0x20000000;
    d->window = 502;
    d->tcp_flags = RIG_TCP_ACK;
    d->payload_len = 1000;
    d->pattern = RIG_NET_PATTERN_SEQ;
}

static void base_tcp4(RigNetFrameDesc *d)
{
    base_l2(d);
    d->family = 4;
    memcpy(d->src_ip, ip4_a, 4);
    memcpy(d->dst_ip, ip4_b, 4);
    d->df = true;
    d->ip_id = 0x1234;
    base_tcp(d);
}

static void base_tcp6(RigNetFrameDesc *d)
{
    base_l2(d);
    d->family = 6;
    memcpy(d->src_ip, ip6_a, 16);
    memcpy(d->dst_ip, ip6_b, 16);
    base_tcp(d);
}

static void to_udp(RigNetFrameDesc *d)
{
    d->protocol = RIG_IPPROTO_UDP;
    d->seq = 0;
    d->ack = 0;
    d->window = 0;
    d->tcp_flags = 0;
    d->payload_len = 200;
    d->pattern_seed = 7;
}

/* ---- TCP/IPv4 ---------------------------------------------------------- */

static void tcp4_data(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->tcp_flags = RIG_TCP_ACK | RIG_TCP_PSH;
}

static void tcp4_vlan(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->vlan = true;
    d->vlan_tci = rig_vlan_tci_make(5, false, 100);
}

static void tcp4_no_df(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->df = false;
}

static const uint8_t ipopt_ra[] = {RIG_IPOPT_RA, 4, 0, 0};

static void tcp4_ipopt_ra(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->ipv4_options = ipopt_ra;
    d->ipv4_options_len = sizeof(ipopt_ra);
}

/* Record route with room for two addresses, then NOP: padded to 12. */
static const uint8_t ipopt_rr_nop[] = {
    RIG_IPOPT_RR, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, RIG_IPOPT_NOP};

static void tcp4_ipopt_rr(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->ipv4_options = ipopt_rr_nop;
    d->ipv4_options_len = sizeof(ipopt_rr_nop);
}

static void tcp4_frag_first(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->df = false;
    d->mf = true;
    d->ip_id = 0x4321;
}

static void tcp4_frag_last(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->df = false;
    d->frag_offset = 185; /* 1480 bytes */
    d->ip_id = 0x4322;
}

static void tcp4_ecn_ect0(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->tos = RIG_ECN_ECT0;
}

static void tcp4_ecn_ce(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->tos = (46 << 2) | RIG_ECN_CE; /* DSCP EF + CE */
}

static void tcp4_ttl(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->ttl = 255;
}

static void tcp4_pure_ack(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->payload_len = 0;
}

static void tcp4_tiny(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->payload_len = 1;
    d->pad_to_min = true;
}

static const RigNetTcpOption syn_opts[] = {
    {.kind = RIG_TCPOPT_MSS, .mss = 1460},
    {.kind = RIG_TCPOPT_SACK_PERM},
    {.kind = RIG_TCPOPT_TIMESTAMP, .ts_val = 123456, .ts_ecr = 0},
    {.kind = RIG_TCPOPT_NOP},
    {.kind = RIG_TCPOPT_WSCALE, .wscale = 7},
};

static void tcp4_syn(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->tcp_flags = RIG_TCP_SYN;
    d->ack = 0;
    d->window = 64240;
    d->payload_len = 0;
    d->tcp_options = syn_opts;
    d->tcp_option_count = G_N_ELEMENTS(syn_opts);
}

static void tcp4_synack_ecn(RigNetFrameDesc *d)
{
    tcp4_syn(d);
    d->tcp_flags = RIG_TCP_SYN | RIG_TCP_ACK | RIG_TCP_ECE;
    d->ack = 0x20000000;
}

static void tcp4_fin(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->tcp_flags = RIG_TCP_FIN | RIG_TCP_ACK;
}

static void tcp4_rst(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->tcp_flags = RIG_TCP_RST;
    d->ack = 0;
    d->window = 0;
    d->payload_len = 0;
}

static void tcp4_urg(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->tcp_flags = RIG_TCP_ACK | RIG_TCP_URG;
    d->urg_ptr = 10;
}

static void tcp4_ece(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->tcp_flags = RIG_TCP_ACK | RIG_TCP_ECE;
}

static void tcp4_cwr(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->tcp_flags = RIG_TCP_ACK | RIG_TCP_CWR | RIG_TCP_PSH;
    d->tos = RIG_ECN_ECT0;
}

static void tcp4_ns(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->tcp_flags = RIG_TCP_ACK | RIG_TCP_NS;
}

static const RigNetTcpOption ts_opts[] = {
    {.kind = RIG_TCPOPT_NOP},
    {.kind = RIG_TCPOPT_NOP},
    {.kind = RIG_TCPOPT_TIMESTAMP, .ts_val = 0xdeadbeef, .ts_ecr = 0x01020304},
};

static void tcp4_opt_ts(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->tcp_options = ts_opts;
    d->tcp_option_count = G_N_ELEMENTS(ts_opts);
}

static const RigNetTcpOption mss_opts[] = {
    {.kind = RIG_TCPOPT_MSS, .mss = 8960},
};

static void tcp4_opt_mss(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->tcp_flags = RIG_TCP_SYN;
    d->ack = 0;
    d->payload_len = 0;
    d->tcp_options = mss_opts;
    d->tcp_option_count = G_N_ELEMENTS(mss_opts);
}

static const RigNetTcpOption ws_opts[] = {
    {.kind = RIG_TCPOPT_WSCALE, .wscale = 14},
    {.kind = RIG_TCPOPT_EOL},
};

static void tcp4_opt_wscale(RigNetFrameDesc *d)
{
    tcp4_opt_mss(d);
    d->tcp_options = ws_opts;
    d->tcp_option_count = G_N_ELEMENTS(ws_opts);
}

static const RigNetTcpOption sackperm_opts[] = {
    {.kind = RIG_TCPOPT_NOP},
    {.kind = RIG_TCPOPT_NOP},
    {.kind = RIG_TCPOPT_SACK_PERM},
};

static void tcp4_opt_sack_perm(RigNetFrameDesc *d)
{
    tcp4_opt_mss(d);
    d->tcp_options = sackperm_opts;
    d->tcp_option_count = G_N_ELEMENTS(sackperm_opts);
}

static const RigNetTcpOption sack_opts[] = {
    {.kind = RIG_TCPOPT_NOP},
    {.kind = RIG_TCPOPT_NOP},
    {.kind = RIG_TCPOPT_SACK,
     .sack_count = 2,
     .sack = {{0x20000100, 0x20000200}, {0x20000400, 0x20000800}}},
};

static void tcp4_opt_sack(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->payload_len = 0; /* a duplicate ACK carrying SACK */
    d->tcp_options = sack_opts;
    d->tcp_option_count = G_N_ELEMENTS(sack_opts);
}

static const RigNetTcpOption sack4_opts[] = {
    {.kind = RIG_TCPOPT_NOP},
    {.kind = RIG_TCPOPT_NOP},
    {.kind = RIG_TCPOPT_SACK,
     .sack_count = 4,
     .sack = {{0x20000100, 0x20000200},
              {0x20000300, 0x20000400},
              {0x20000500, 0x20000600},
              {0x20000700, 0x20000800}}},
};

static void tcp4_opt_sack4(RigNetFrameDesc *d)
{
    tcp4_opt_sack(d);
    d->tcp_options = sack4_opts;
    d->tcp_option_count = G_N_ELEMENTS(sack4_opts);
}

/* RFC 6994 experimental option with experiment ID 0x1234 + 2 data bytes. */
static const uint8_t exp_raw[] = {0x12, 0x34, 0xab, 0xcd};
static const RigNetTcpOption raw_opts[] = {
    {.kind = 254, .raw = exp_raw, .raw_len = sizeof(exp_raw)},
    {.kind = RIG_TCPOPT_NOP},
    {.kind = RIG_TCPOPT_NOP},
};

static void tcp4_opt_experimental(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->tcp_options = raw_opts;
    d->tcp_option_count = G_N_ELEMENTS(raw_opts);
}

/* ---- TCP/IPv6 ---------------------------------------------------------- */

static void tcp6_data(RigNetFrameDesc *d)
{
    base_tcp6(d);
    d->tcp_flags = RIG_TCP_ACK | RIG_TCP_PSH;
    d->flow_label = 0x12345;
}

static void tcp6_vlan(RigNetFrameDesc *d)
{
    base_tcp6(d);
    d->vlan = true;
    d->vlan_tci = rig_vlan_tci_make(0, true, 4000);
}

static void tcp6_ecn_ce(RigNetFrameDesc *d)
{
    base_tcp6(d);
    d->tos = (10 << 2) | RIG_ECN_CE;
}

static void tcp6_syn_opts(RigNetFrameDesc *d)
{
    tcp4_syn(d);
    d->family = 6;
    memcpy(d->src_ip, ip6_a, 16);
    memcpy(d->dst_ip, ip6_b, 16);
    d->df = false;
    d->ip_id = 0;
}

/* Router alert (MLD) TLV: padded by the builder with PadN. */
static const uint8_t hbh_ra[] = {RIG_IPV6_OPT_RA, 2, 0, 0};
static const RigNetIpv6Ext ext_hbh[] = {
    {.type = RIG_IPPROTO_HOPOPTS, .data = hbh_ra, .data_len = sizeof(hbh_ra)},
};

static void tcp6_ext_hbh(RigNetFrameDesc *d)
{
    base_tcp6(d);
    d->ipv6_ext = ext_hbh;
    d->ipv6_ext_count = G_N_ELEMENTS(ext_hbh);
}

static const RigNetIpv6Ext ext_dst[] = {
    {.type = RIG_IPPROTO_DSTOPTS}, /* only padding: PadN of 6 */
};

static void tcp6_ext_dst(RigNetFrameDesc *d)
{
    base_tcp6(d);
    d->ipv6_ext = ext_dst;
    d->ipv6_ext_count = G_N_ELEMENTS(ext_dst);
}

/* Segment routing header (type 4) with one segment, the final destination,
 * segments left 0: the packet is already there, so dst_ip is final. */
static const uint8_t srh_data[] = {
    0,    0,    0, 0, /* last entry, flags, tag */
    0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
};
static const RigNetIpv6Ext ext_routing[] = {
    {.type = RIG_IPPROTO_ROUTING,
     .routing_type = 4,
     .segments_left = 0,
     .data = srh_data,
     .data_len = sizeof(srh_data)},
};

static void tcp6_ext_routing(RigNetFrameDesc *d)
{
    base_tcp6(d);
    d->ipv6_ext = ext_routing;
    d->ipv6_ext_count = G_N_ELEMENTS(ext_routing);
}

static const RigNetIpv6Ext ext_frag_atomic[] = {
    {.type = RIG_IPPROTO_FRAGMENT, .frag_id = 0xcafe0001},
};

static void tcp6_ext_frag_atomic(RigNetFrameDesc *d)
{
    base_tcp6(d);
    d->ipv6_ext = ext_frag_atomic;
    d->ipv6_ext_count = G_N_ELEMENTS(ext_frag_atomic);
}

static const RigNetIpv6Ext ext_frag_first[] = {
    {.type = RIG_IPPROTO_FRAGMENT, .frag_more = true, .frag_id = 0xcafe0002},
};

static void tcp6_ext_frag_first(RigNetFrameDesc *d)
{
    base_tcp6(d);
    d->ipv6_ext = ext_frag_first;
    d->ipv6_ext_count = G_N_ELEMENTS(ext_frag_first);
}

static const uint8_t dst_pad1[] = {RIG_IPV6_OPT_PADN, 3, 0, 0, 0};
static const RigNetIpv6Ext ext_chain[] = {
    {.type = RIG_IPPROTO_HOPOPTS, .data = hbh_ra, .data_len = sizeof(hbh_ra)},
    {.type = RIG_IPPROTO_DSTOPTS, .data = dst_pad1, .data_len = 5},
    {.type = RIG_IPPROTO_ROUTING,
     .routing_type = 4,
     .data = srh_data,
     .data_len = sizeof(srh_data)},
    {.type = RIG_IPPROTO_FRAGMENT, .frag_id = 0xcafe0003},
    {.type = RIG_IPPROTO_DSTOPTS},
};

static void tcp6_ext_chain(RigNetFrameDesc *d)
{
    base_tcp6(d);
    d->ipv6_ext = ext_chain;
    d->ipv6_ext_count = G_N_ELEMENTS(ext_chain);
}

/* ---- UDP and other ----------------------------------------------------- */

static void udp4(RigNetFrameDesc *d)
{
    base_tcp4(d);
    to_udp(d);
}

static void udp4_fill(RigNetFrameDesc *d)
{
    udp4(d);
    d->pattern = RIG_NET_PATTERN_FILL;
    d->fill_byte = 0x5a;
    d->payload_len = 33; /* odd: exercises the checksum pad byte */
}

static void udp6(RigNetFrameDesc *d)
{
    base_tcp6(d);
    to_udp(d);
}

static void ip4_proto_253(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->protocol = 253; /* RFC 3692 experimentation */
    d->src_port = 0;
    d->dst_port = 0;
    d->payload_len = 64;
    d->pattern = RIG_NET_PATTERN_ZERO;
}

static void ip6_proto_253(RigNetFrameDesc *d)
{
    base_tcp6(d);
    d->protocol = 253;
    d->src_port = 0;
    d->dst_port = 0;
    d->payload_len = 64;
    d->pattern = RIG_NET_PATTERN_ZERO;
}

/* ---- Deliberate damage ------------------------------------------------- */

static void bad_ipv4_csum(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->corrupt = RIG_NET_CORRUPT_IPV4_CSUM;
}

static void bad_tcp4_csum(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->corrupt = RIG_NET_CORRUPT_L4_CSUM;
}

static void bad_tcp6_csum(RigNetFrameDesc *d)
{
    base_tcp6(d);
    d->corrupt = RIG_NET_CORRUPT_L4_CSUM;
}

static void bad_udp4_csum(RigNetFrameDesc *d)
{
    udp4(d);
    d->corrupt = RIG_NET_CORRUPT_L4_CSUM;
}

static void bad_udp6_csum(RigNetFrameDesc *d)
{
    udp6(d);
    d->corrupt = RIG_NET_CORRUPT_L4_CSUM;
}

static void bad_ipv4_len_short(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->corrupt = RIG_NET_CORRUPT_IP_LEN;
    d->ip_len_value = 16; /* below the 20-byte header */
}

static void bad_ipv4_len_long(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->corrupt = RIG_NET_CORRUPT_IP_LEN;
    d->ip_len_value = 1500; /* frame carries 1040 */
}

static void bad_ipv6_len_long(RigNetFrameDesc *d)
{
    base_tcp6(d);
    d->corrupt = RIG_NET_CORRUPT_IP_LEN;
    d->ip_len_value = 1460; /* frame carries 1020 */
}

static void bad_udp_len(RigNetFrameDesc *d)
{
    udp4(d);
    d->corrupt = RIG_NET_CORRUPT_UDP_LEN;
    d->udp_len_value = 400; /* IP payload is 208 */
}

static void truncated_tcp4(RigNetFrameDesc *d)
{
    base_tcp4(d);
    d->corrupt = RIG_NET_CORRUPT_TRUNCATE;
    d->truncate_len = RIG_ETH_HLEN + RIG_IPV4_HLEN + 10; /* inside TCP */
}

static const RigNetFrameCase cases[] = {
    {"tcp4-data", "TCP/IPv4 1000-byte data segment, ACK|PSH, DF", NULL,
     tcp4_data},
    {"tcp4-ack-data", "TCP/IPv4 data segment, ACK only (RSC candidate)", NULL,
     base_tcp4},
    {"tcp4-vlan", "802.1Q tag PCP 5 VID 100", NULL, tcp4_vlan},
    {"tcp4-no-df", "IPv4 without DF", NULL, tcp4_no_df},
    {"tcp4-ipopt-ra", "IPv4 router alert option (IHL 6)", NULL, tcp4_ipopt_ra},
    {"tcp4-ipopt-rr", "IPv4 record route + NOP (IHL 8)", NULL, tcp4_ipopt_rr},
    {"tcp4-frag-first", "IPv4 first fragment (MF, offset 0)", NULL,
     tcp4_frag_first},
    {"tcp4-frag-last", "IPv4 last fragment (offset 1480)", NULL,
     tcp4_frag_last},
    {"tcp4-ecn-ect0", "IPv4 ECT(0)", NULL, tcp4_ecn_ect0},
    {"tcp4-ecn-ce", "IPv4 DSCP EF + CE", NULL, tcp4_ecn_ce},
    {"tcp4-ttl-255", "IPv4 TTL 255", NULL, tcp4_ttl},
    {"tcp4-pure-ack", "TCP pure ACK, no payload", NULL, tcp4_pure_ack},
    {"tcp4-tiny-padded", "1-byte payload padded to 60 bytes", NULL, tcp4_tiny},
    {"tcp4-syn", "SYN with MSS, SACK-permitted, timestamps, NOP, wscale", NULL,
     tcp4_syn},
    {"tcp4-synack-ece", "SYN|ACK|ECE (ECN setup)", NULL, tcp4_synack_ecn},
    {"tcp4-fin", "FIN|ACK with data", NULL, tcp4_fin},
    {"tcp4-rst", "RST", NULL, tcp4_rst},
    {"tcp4-urg", "URG with urgent pointer 10", NULL, tcp4_urg},
    {"tcp4-ece", "ACK|ECE", NULL, tcp4_ece},
    {"tcp4-cwr", "ACK|PSH|CWR on ECT(0)", NULL, tcp4_cwr},
    {"tcp4-ns", "ACK|NS (reserved AE bit)", NULL, tcp4_ns},
    {"tcp4-opt-ts", "NOP NOP timestamps", NULL, tcp4_opt_ts},
    {"tcp4-opt-mss", "SYN with MSS 8960", NULL, tcp4_opt_mss},
    {"tcp4-opt-wscale", "SYN with window scale 14 + EOL", NULL,
     tcp4_opt_wscale},
    {"tcp4-opt-sack-perm", "SYN with NOP NOP SACK-permitted", NULL,
     tcp4_opt_sack_perm},
    {"tcp4-opt-sack", "duplicate ACK with 2 SACK blocks", NULL, tcp4_opt_sack},
    {"tcp4-opt-sack4", "duplicate ACK with 4 SACK blocks", NULL,
     tcp4_opt_sack4},
    {"tcp4-opt-experimental", "RFC 6994 experimental option 254", NULL,
     tcp4_opt_experimental},
    {"tcp6-data", "TCP/IPv6 data segment, flow label", NULL, tcp6_data},
    {"tcp6-ack-data", "TCP/IPv6 data segment, ACK only", NULL, base_tcp6},
    {"tcp6-vlan", "802.1Q tag DEI, VID 4000", NULL, tcp6_vlan},
    {"tcp6-ecn-ce", "IPv6 traffic class AF11 + CE", NULL, tcp6_ecn_ce},
    {"tcp6-syn", "TCP/IPv6 SYN with options", NULL, tcp6_syn_opts},
    {"tcp6-ext-hbh", "IPv6 hop-by-hop (router alert)", NULL, tcp6_ext_hbh},
    {"tcp6-ext-dst", "IPv6 destination options (PadN)", NULL, tcp6_ext_dst},
    {"tcp6-ext-routing", "IPv6 segment routing header, segments left 0", NULL,
     tcp6_ext_routing},
    {"tcp6-ext-frag-atomic", "IPv6 atomic fragment header", NULL,
     tcp6_ext_frag_atomic},
    {"tcp6-ext-frag-first", "IPv6 first fragment (M set)", NULL,
     tcp6_ext_frag_first},
    {"tcp6-ext-chain", "IPv6 HBH, DST, routing, fragment, DST", NULL,
     tcp6_ext_chain},
    {"udp4", "UDP/IPv4 200 bytes", NULL, udp4},
    {"udp4-odd-fill", "UDP/IPv4 33 bytes of 0x5a", NULL, udp4_fill},
    {"udp6", "UDP/IPv6 200 bytes", NULL, udp6},
    {"ip4-proto-253", "IPv4 experimental protocol 253", NULL, ip4_proto_253},
    {"ip6-proto-253", "IPv6 experimental protocol 253", NULL, ip6_proto_253},
    {"bad-ipv4-csum", "IPv4 header checksum off by one",
     "ip.checksum_bad.expert", bad_ipv4_csum},
    {"bad-tcp4-csum", "TCP/IPv4 checksum off by one", "tcp.checksum_bad.expert",
     bad_tcp4_csum},
    {"bad-tcp6-csum", "TCP/IPv6 checksum off by one", "tcp.checksum_bad.expert",
     bad_tcp6_csum},
    {"bad-udp4-csum", "UDP/IPv4 checksum off by one", "udp.checksum.bad",
     bad_udp4_csum},
    {"bad-udp6-csum", "UDP/IPv6 checksum off by one", "udp.checksum.bad",
     bad_udp6_csum},
    {"bad-ipv4-len-short", "IPv4 total length 16 (< header)",
     "ip.bogus_ip_length", bad_ipv4_len_short},
    {"bad-ipv4-len-long", "IPv4 total length 1500 > frame",
     "ip.bogus_ip_length", bad_ipv4_len_long},
    {"bad-ipv6-len-long", "IPv6 payload length 1460 > frame",
     "ipv6.plen_exceeds_framing", bad_ipv6_len_long},
    {"bad-udp-len", "UDP length 400 > IP payload", "udp.length.bad",
     bad_udp_len},
    {"truncated-tcp4", "frame cut 10 bytes into the TCP header",
     "ip.bogus_ip_length,_ws.malformed.expert", truncated_tcp4},
};

size_t rig_net_frame_cases_count(void)
{
    return G_N_ELEMENTS(cases);
}

const RigNetFrameCase *rig_net_frame_cases_get(size_t index)
{
    if (index >= G_N_ELEMENTS(cases)) {
        return NULL;
    }
    return &cases[index];
}

const RigNetFrameCase *rig_net_frame_cases_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        if (strcmp(cases[i].name, name) == 0) {
            return &cases[i];
        }
    }
    return NULL;
}

void rig_net_frame_case_desc(const RigNetFrameCase *fc,
                             RigNetFrameDesc *ret_desc)
{
    RigNetFrameDesc d;

    fc->setup(&d);
    *ret_desc = d;
}
