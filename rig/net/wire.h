/*
 * Wire formats: Ethernet/802.1Q, IPv4, IPv6 (+ extension headers), TCP, UDP
 * and struct virtio_net_hdr_v1.
 *
 * Every multi-byte field is a typed byte array (RigBe16, RigBe32, RigLe16),
 * so a struct has alignment 1, no padding, and can overlay any byte of a
 * frame buffer.  Byte order is handled only by the accessors below: network
 * headers are big-endian, the virtio-net header is little-endian (virtio 1.x),
 * and the type of a field says which accessor applies.
 *
 * Nothing here allocates or logs.  glib.h is included only for
 * G_STATIC_ASSERT.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

/* ---- Typed byte-order wrappers ------------------------------------------ */

typedef struct RigBe16 {
    uint8_t b[2];
} RigBe16;

typedef struct RigBe32 {
    uint8_t b[4];
} RigBe32;

typedef struct RigLe16 {
    uint8_t b[2];
} RigLe16;

typedef struct RigLe32 {
    uint8_t b[4];
} RigLe32;

G_STATIC_ASSERT(sizeof(RigBe16) == 2 && _Alignof(RigBe16) == 1);
G_STATIC_ASSERT(sizeof(RigBe32) == 4 && _Alignof(RigBe32) == 1);
G_STATIC_ASSERT(sizeof(RigLe16) == 2 && _Alignof(RigLe16) == 1);
G_STATIC_ASSERT(sizeof(RigLe32) == 4 && _Alignof(RigLe32) == 1);

/* Raw pointer accessors: @p needs no alignment. */
static inline uint16_t rig_be16_get(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void rig_be16_put(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline uint32_t rig_be32_get(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

static inline void rig_be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint16_t rig_le16_get(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline void rig_le16_put(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline uint32_t rig_le32_get(const uint8_t *p)
{
    return p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline void rig_le32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Typed field accessors: rig_be16(h->tot_len), rig_be16_set(&h->tot_len, n). */
static inline uint16_t rig_be16(RigBe16 v)
{
    return rig_be16_get(v.b);
}

static inline void rig_be16_set(RigBe16 *f, uint16_t v)
{
    rig_be16_put(f->b, v);
}

static inline uint32_t rig_be32(RigBe32 v)
{
    return rig_be32_get(v.b);
}

static inline void rig_be32_set(RigBe32 *f, uint32_t v)
{
    rig_be32_put(f->b, v);
}

static inline uint16_t rig_le16(RigLe16 v)
{
    return rig_le16_get(v.b);
}

static inline void rig_le16_set(RigLe16 *f, uint16_t v)
{
    rig_le16_put(f->b, v);
}

static inline uint32_t rig_le32(RigLe32 v)
{
    return rig_le32_get(v.b);
}

static inline void rig_le32_set(RigLe32 *f, uint32_t v)
{
    rig_le32_put(f->b, v);
}

/* ---- Ethernet / 802.1Q --------------------------------------------------- */

#define RIG_ETH_ALEN       6
#define RIG_ETH_HLEN       14
#define RIG_VLAN_HLEN      4
#define RIG_ETH_MIN_FRAME  60 /* without FCS: shorter frames get padded */
#define RIG_ETHERTYPE_IPV4 0x0800
#define RIG_ETHERTYPE_ARP  0x0806
#define RIG_ETHERTYPE_VLAN 0x8100 /* 802.1Q */
#define RIG_ETHERTYPE_QINQ 0x88a8 /* 802.1ad, parsed like 802.1Q */
#define RIG_ETHERTYPE_IPV6 0x86dd

typedef struct RigEthHdr {
    uint8_t dst[RIG_ETH_ALEN];
    uint8_t src[RIG_ETH_ALEN];
    RigBe16 ethertype;
} RigEthHdr;
G_STATIC_ASSERT(sizeof(RigEthHdr) == RIG_ETH_HLEN);

/* Follows the ethertype 0x8100 of RigEthHdr. */
typedef struct RigVlanTag {
    RigBe16 tci; /* PCP:3 DEI:1 VID:12 */
    RigBe16 ethertype;
} RigVlanTag;
G_STATIC_ASSERT(sizeof(RigVlanTag) == RIG_VLAN_HLEN);

static inline uint16_t rig_vlan_tci_make(uint8_t pcp, bool dei, uint16_t vid)
{
    return (uint16_t)(((pcp & 7u) << 13) | ((dei ? 1u : 0u) << 12) |
                      (vid & 0xfffu));
}

/* ---- IP common ----------------------------------------------------------- */

#define RIG_IPPROTO_HOPOPTS  0
#define RIG_IPPROTO_ICMP     1
#define RIG_IPPROTO_TCP      6
#define RIG_IPPROTO_UDP      17
#define RIG_IPPROTO_ROUTING  43
#define RIG_IPPROTO_FRAGMENT 44
#define RIG_IPPROTO_ESP      50
#define RIG_IPPROTO_AH       51
#define RIG_IPPROTO_ICMPV6   58
#define RIG_IPPROTO_NONE     59
#define RIG_IPPROTO_DSTOPTS  60

/* ECN codepoints: the low two bits of TOS / traffic class. */
#define RIG_ECN_MASK 0x03
#define RIG_ECN_NOT  0x00
#define RIG_ECN_ECT1 0x01
#define RIG_ECN_ECT0 0x02
#define RIG_ECN_CE   0x03

/* ---- IPv4 ---------------------------------------------------------------- */

#define RIG_IPV4_HLEN      20
#define RIG_IPV4_MAX_HLEN  60
#define RIG_IPV4_ALEN      4
#define RIG_IPV4_FLAG_RF   0x8000 /* in frag_off */
#define RIG_IPV4_FLAG_DF   0x4000
#define RIG_IPV4_FLAG_MF   0x2000
#define RIG_IPV4_FRAG_MASK 0x1fff /* offset in 8-byte units */

/* IPv4 option types (RFC 791 and registry). */
#define RIG_IPOPT_EOL 0
#define RIG_IPOPT_NOP 1
#define RIG_IPOPT_RR  7
#define RIG_IPOPT_TS  68
#define RIG_IPOPT_RA  148 /* router alert, 4 bytes */

typedef struct RigIpv4Hdr {
    uint8_t ver_ihl; /* version:4 ihl:4 (32-bit words) */
    uint8_t tos;     /* DSCP:6 ECN:2 */
    RigBe16 tot_len;
    RigBe16 id;
    RigBe16 frag_off; /* RF DF MF offset:13 */
    uint8_t ttl;
    uint8_t protocol;
    RigBe16 check;
    uint8_t saddr[RIG_IPV4_ALEN];
    uint8_t daddr[RIG_IPV4_ALEN];
} RigIpv4Hdr;
G_STATIC_ASSERT(sizeof(RigIpv4Hdr) == RIG_IPV4_HLEN);

static inline unsigned rig_ipv4_version(const RigIpv4Hdr *h)
{
    return h->ver_ihl >> 4;
}

/* Returns: the header length in bytes (IHL * 4), options included. */
static inline unsigned rig_ipv4_hdr_len(const RigIpv4Hdr *h)
{
    return (h->ver_ihl & 0x0fu) * 4u;
}

/* ---- IPv6 ---------------------------------------------------------------- */

#define RIG_IPV6_HLEN      40
#define RIG_IPV6_ALEN      16
#define RIG_IPV6_FRAG_HLEN 8
#define RIG_IPV6_MAX_EXT   8 /* extension headers the parser records */

/* IPv6 options inside hop-by-hop / destination options headers. */
#define RIG_IPV6_OPT_PAD1 0
#define RIG_IPV6_OPT_PADN 1
#define RIG_IPV6_OPT_RA   5 /* router alert (hop-by-hop) */

typedef struct RigIpv6Hdr {
    RigBe32 ver_tc_flow; /* version:4 traffic class:8 flow label:20 */
    RigBe16 payload_len;
    uint8_t nexthdr;
    uint8_t hop_limit;
    uint8_t saddr[RIG_IPV6_ALEN];
    uint8_t daddr[RIG_IPV6_ALEN];
} RigIpv6Hdr;
G_STATIC_ASSERT(sizeof(RigIpv6Hdr) == RIG_IPV6_HLEN);

static inline unsigned rig_ipv6_version(const RigIpv6Hdr *h)
{
    return rig_be32(h->ver_tc_flow) >> 28;
}

static inline uint8_t rig_ipv6_traffic_class(const RigIpv6Hdr *h)
{
    return (uint8_t)(rig_be32(h->ver_tc_flow) >> 20);
}

static inline uint32_t rig_ipv6_flow_label(const RigIpv6Hdr *h)
{
    return rig_be32(h->ver_tc_flow) & 0xfffffu;
}

static inline void rig_ipv6_set_ver_tc_flow(RigIpv6Hdr *h, uint8_t tclass,
                                            uint32_t flow_label)
{
    rig_be32_set(&h->ver_tc_flow, (6u << 28) | ((uint32_t)tclass << 20) |
                                      (flow_label & 0xfffffu));
}

/*
 * Generic layout shared by hop-by-hop, routing and destination options:
 * the length counts 8-byte units beyond the first 8.
 */
typedef struct RigIpv6ExtHdr {
    uint8_t nexthdr;
    uint8_t hdrlen;
} RigIpv6ExtHdr;
G_STATIC_ASSERT(sizeof(RigIpv6ExtHdr) == 2);

static inline size_t rig_ipv6_ext_len(const RigIpv6ExtHdr *h)
{
    return ((size_t)h->hdrlen + 1u) * 8u;
}

typedef struct RigIpv6RoutingHdr {
    uint8_t nexthdr;
    uint8_t hdrlen;
    uint8_t type;
    uint8_t segments_left;
    /* type-specific data follows */
} RigIpv6RoutingHdr;
G_STATIC_ASSERT(sizeof(RigIpv6RoutingHdr) == 4);

typedef struct RigIpv6FragHdr {
    uint8_t nexthdr;
    uint8_t reserved;
    RigBe16 frag_off; /* offset:13 (8-byte units) res:2 M:1 */
    RigBe32 id;
} RigIpv6FragHdr;
G_STATIC_ASSERT(sizeof(RigIpv6FragHdr) == RIG_IPV6_FRAG_HLEN);

static inline uint16_t rig_ipv6_frag_offset(const RigIpv6FragHdr *h)
{
    return rig_be16(h->frag_off) >> 3;
}

static inline bool rig_ipv6_frag_more(const RigIpv6FragHdr *h)
{
    return (rig_be16(h->frag_off) & 1u) != 0;
}

/* ---- TCP ----------------------------------------------------------------- */

#define RIG_TCP_HLEN       20
#define RIG_TCP_MAX_HLEN   60
#define RIG_TCP_MAX_OPTLEN 40

/* Flags as the low 9 bits of the 16-bit doff/flags word. */
#define RIG_TCP_FIN        0x001
#define RIG_TCP_SYN        0x002
#define RIG_TCP_RST        0x004
#define RIG_TCP_PSH        0x008
#define RIG_TCP_ACK        0x010
#define RIG_TCP_URG        0x020
#define RIG_TCP_ECE        0x040
#define RIG_TCP_CWR        0x080
#define RIG_TCP_NS         0x100 /* RFC 3540, historic: now reserved (AE) */
#define RIG_TCP_FLAGS_MASK 0x1ff

/* TCP option kinds and their fixed lengths. */
#define RIG_TCPOPT_EOL          0
#define RIG_TCPOPT_NOP          1
#define RIG_TCPOPT_MSS          2
#define RIG_TCPOPT_WSCALE       3
#define RIG_TCPOPT_SACK_PERM    4
#define RIG_TCPOPT_SACK         5
#define RIG_TCPOPT_TIMESTAMP    8
#define RIG_TCPOLEN_MSS         4
#define RIG_TCPOLEN_WSCALE      3
#define RIG_TCPOLEN_SACK_PERM   2
#define RIG_TCPOLEN_TIMESTAMP   10
#define RIG_TCPOLEN_SACK_BLOCK  8
#define RIG_TCP_MAX_SACK_BLOCKS 4

typedef struct RigTcpHdr {
    RigBe16 source;
    RigBe16 dest;
    RigBe32 seq;
    RigBe32 ack_seq;
    RigBe16 doff_flags; /* data offset:4 reserved:3 flags:9 */
    RigBe16 window;
    RigBe16 check;
    RigBe16 urg_ptr;
} RigTcpHdr;
G_STATIC_ASSERT(sizeof(RigTcpHdr) == RIG_TCP_HLEN);

/* Returns: the header length in bytes (data offset * 4), options included. */
static inline unsigned rig_tcp_hdr_len(const RigTcpHdr *h)
{
    return (rig_be16(h->doff_flags) >> 12) * 4u;
}

/* Returns: the RIG_TCP_* flag bits. */
static inline uint16_t rig_tcp_flags(const RigTcpHdr *h)
{
    return rig_be16(h->doff_flags) & RIG_TCP_FLAGS_MASK;
}

static inline void rig_tcp_set_doff_flags(RigTcpHdr *h, unsigned hdr_len,
                                          uint16_t flags)
{
    rig_be16_set(&h->doff_flags, (uint16_t)(((hdr_len / 4u) << 12) |
                                            (flags & RIG_TCP_FLAGS_MASK)));
}

/* ---- UDP ----------------------------------------------------------------- */

#define RIG_UDP_HLEN 8

typedef struct RigUdpHdr {
    RigBe16 source;
    RigBe16 dest;
    RigBe16 len; /* header + payload */
    RigBe16 check;
} RigUdpHdr;
G_STATIC_ASSERT(sizeof(RigUdpHdr) == RIG_UDP_HLEN);

/* ---- virtio-net header (virtio 1.x: little-endian) ----------------------- */

#define RIG_VIRTIO_NET_F_RSC_EXT        61
#define RIG_VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define RIG_VIRTIO_NET_HDR_F_DATA_VALID 2
#define RIG_VIRTIO_NET_HDR_F_RSC_INFO   4
#define RIG_VIRTIO_NET_HDR_GSO_NONE     0
#define RIG_VIRTIO_NET_HDR_GSO_TCPV4    1
#define RIG_VIRTIO_NET_HDR_GSO_UDP      3
#define RIG_VIRTIO_NET_HDR_GSO_TCPV6    4
#define RIG_VIRTIO_NET_HDR_GSO_ECN      0x80
#define RIG_VIRTIO_NET_HDR_V1_LEN       12

/*
 * struct virtio_net_hdr_v1.  With RSC_INFO set in @flags, csum_start holds
 * the number of coalesced segments and csum_offset the number of duplicate
 * ACKs (virtio spec, VIRTIO_NET_F_RSC_EXT): use the rig_vnet_hdr_rsc_*
 * accessors for that meaning.
 */
typedef struct RigVirtioNetHdrV1 {
    uint8_t flags;
    uint8_t gso_type;
    RigLe16 hdr_len;
    RigLe16 gso_size;
    RigLe16 csum_start;  /* RSC_INFO: rsc.segments */
    RigLe16 csum_offset; /* RSC_INFO: rsc.dup_acks */
    RigLe16 num_buffers;
} RigVirtioNetHdrV1;
G_STATIC_ASSERT(sizeof(RigVirtioNetHdrV1) == RIG_VIRTIO_NET_HDR_V1_LEN);

static inline uint16_t rig_vnet_hdr_rsc_segments(const RigVirtioNetHdrV1 *h)
{
    return rig_le16(h->csum_start);
}

static inline uint16_t rig_vnet_hdr_rsc_dup_acks(const RigVirtioNetHdrV1 *h)
{
    return rig_le16(h->csum_offset);
}

static inline void rig_vnet_hdr_set_rsc(RigVirtioNetHdrV1 *h, uint16_t segments,
                                        uint16_t dup_acks)
{
    rig_le16_set(&h->csum_start, segments);
    rig_le16_set(&h->csum_offset, dup_acks);
}
