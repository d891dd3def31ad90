/*
 * Parser: takes any byte buffer and returns a validated view of it (offset
 * and decoded fields of each layer, payload, flow key) or a negative errno
 * plus a precise reason code.  It never reads outside [buf, buf + len),
 * whatever the input, allocates nothing and logs nothing.
 *
 * What is an error: a header that the frame announces but that does not fit
 * (SHORT_*), or fields that contradict each other (BAD_*).  What is not: an
 * ethertype other than IPv4/IPv6 (the view stops at L2), a transport other
 * than TCP/UDP or a non-first fragment (the view stops at L3, the IP payload
 * is the payload), Ethernet padding after the IP packet (trailer_len).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/flow.h"
#include "net/wire.h"

/* rig_net_parse() flags. */
#define RIG_NET_PARSE_VNET_HDR    0x01u /* starts with a virtio_net_hdr_v1 */
#define RIG_NET_PARSE_VERIFY_CSUM 0x02u /* check IPv4/TCP/UDP checksums */
#define RIG_NET_PARSE_L3          0x04u /* no Ethernet: starts at IPv4/IPv6 */

/* Why a buffer was rejected: stable numbers, names via rig_net_error_name(). */
typedef enum RigNetError {
    RIG_NET_ERR_NONE = 0,
    RIG_NET_ERR_SHORT_VNET_HDR,
    RIG_NET_ERR_SHORT_ETH_HDR,
    RIG_NET_ERR_SHORT_VLAN_TAG,
    RIG_NET_ERR_SHORT_IPV4_HDR,
    RIG_NET_ERR_BAD_IPV4_VERSION,
    RIG_NET_ERR_BAD_IPV4_IHL,       /* IHL < 5 */
    RIG_NET_ERR_SHORT_IPV4_OPTIONS, /* IHL * 4 beyond the buffer */
    RIG_NET_ERR_BAD_IPV4_OPTION,    /* option length < 2 or overrunning */
    RIG_NET_ERR_BAD_IPV4_TOTAL_LEN, /* total length < IHL * 4 */
    RIG_NET_ERR_SHORT_IPV4_PAYLOAD, /* total length beyond the buffer */
    RIG_NET_ERR_SHORT_IPV6_HDR,
    RIG_NET_ERR_BAD_IPV6_VERSION,
    RIG_NET_ERR_SHORT_IPV6_PAYLOAD, /* payload length beyond the buffer */
    RIG_NET_ERR_SHORT_IPV6_EXT_HDR, /* extension header beyond payload */
    RIG_NET_ERR_BAD_IPV6_EXT_ORDER, /* hop-by-hop not first */
    RIG_NET_ERR_TOO_MANY_IPV6_EXT,  /* more than RIG_IPV6_MAX_EXT */
    RIG_NET_ERR_SHORT_TCP_HDR,
    RIG_NET_ERR_BAD_TCP_DOFF,      /* data offset < 5 */
    RIG_NET_ERR_SHORT_TCP_OPTIONS, /* data offset * 4 beyond the packet */
    RIG_NET_ERR_BAD_TCP_OPTION,    /* length < 2, overrun, wrong size */
    RIG_NET_ERR_SHORT_UDP_HDR,
    RIG_NET_ERR_BAD_UDP_LEN, /* < 8 or beyond the IP payload */
    RIG_NET_ERR_COUNT
} RigNetError;

typedef enum RigNetCsum {
    RIG_NET_CSUM_UNCHECKED = 0, /* not asked, or not applicable */
    RIG_NET_CSUM_OK,
    RIG_NET_CSUM_BAD,
    RIG_NET_CSUM_ZERO, /* UDP over IPv4 without checksum (allowed) */
} RigNetCsum;

/* RigNetView.tcp_opt_present bits: which TCP options were seen. */
#define RIG_NET_TCPOPT_HAS_MSS       0x01u
#define RIG_NET_TCPOPT_HAS_WSCALE    0x02u
#define RIG_NET_TCPOPT_HAS_SACK_PERM 0x04u
#define RIG_NET_TCPOPT_HAS_SACK      0x08u
#define RIG_NET_TCPOPT_HAS_TIMESTAMP 0x10u
#define RIG_NET_TCPOPT_HAS_OTHER     0x20u /* unknown kind, skipped */

typedef struct RigNetView {
    size_t len; /* the whole buffer */

    /* virtio_net_hdr_v1, with RIG_NET_PARSE_VNET_HDR: fields decoded */
    bool has_vnet_hdr;
    uint8_t vnet_flags;
    uint8_t vnet_gso_type;
    uint16_t vnet_hdr_len;
    uint16_t vnet_gso_size;
    uint16_t vnet_csum_start;  /* RSC_INFO: segments */
    uint16_t vnet_csum_offset; /* RSC_INFO: duplicate ACKs */
    uint16_t vnet_num_buffers;

    /* L2 (absent with RIG_NET_PARSE_L3) */
    bool has_eth;
    size_t eth_off;
    uint8_t dst_mac[RIG_ETH_ALEN];
    uint8_t src_mac[RIG_ETH_ALEN];
    bool has_vlan;
    uint16_t vlan_tci;
    uint16_t ethertype; /* inner, after any VLAN tag */

    /* L3: family 0 when the ethertype is neither IPv4 nor IPv6 */
    uint8_t family;
    size_t l3_off;
    size_t l3_hdr_len;  /* IPv4 IHL*4; IPv6 40 + extension headers */
    size_t l3_len;      /* from the IP length field (IPv6: 40 + payload) */
    size_t trailer_len; /* bytes after the IP packet (Ethernet padding) */
    uint8_t src_ip[16];
    uint8_t dst_ip[16];
    uint8_t tos;      /* IPv4 TOS / IPv6 traffic class */
    uint8_t ttl;      /* TTL / hop limit */
    uint8_t protocol; /* transport: after all extension headers */
    bool is_fragment; /* MF set or offset != 0 (IPv4 or IPv6 fragment hdr) */
    bool df;
    bool mf;
    uint16_t frag_offset; /* 8-byte units */
    uint32_t frag_id;     /* IPv4 ID, or IPv6 fragment header ID */
    uint16_t ipv4_check;
    size_t ipv4_options_len;
    uint32_t flow_label;
    size_t ipv6_ext_count;
    uint8_t ipv6_ext_type[RIG_IPV6_MAX_EXT];
    size_t ipv6_ext_off[RIG_IPV6_MAX_EXT];
    size_t ipv6_ext_len[RIG_IPV6_MAX_EXT];

    /* L4: l4_off 0 when there is no TCP/UDP header */
    size_t l4_off;
    size_t l4_hdr_len;
    uint16_t src_port;
    uint16_t dst_port;
    uint32_t seq;
    uint32_t ack;
    uint16_t tcp_flags; /* RIG_TCP_* */
    uint16_t window;
    uint16_t urg_ptr;
    uint16_t l4_check;
    uint16_t udp_len;
    size_t tcp_opt_off;
    size_t tcp_opt_len;
    unsigned tcp_opt_present; /* RIG_NET_TCPOPT_HAS_* */
    uint16_t mss;
    uint8_t wscale;
    uint32_t ts_val;
    uint32_t ts_ecr;
    uint8_t sack_count;
    uint32_t sack[RIG_TCP_MAX_SACK_BLOCKS][2];

    /* Payload: after the deepest header parsed (L4, else L3, else L2) and
     * up to the end of the IP packet (trailer excluded). */
    size_t payload_off;
    size_t payload_len;

    /* Flow key: set when family != 0 (ports 0 without TCP/UDP). */
    RigFlowKey flow;

    /* With RIG_NET_PARSE_VERIFY_CSUM. */
    RigNetCsum ipv4_csum;
    RigNetCsum l4_csum;
} RigNetView;

/**
 * rig_net_parse:
 * @buf: the bytes (borrowed; may be NULL when @len is 0)
 * @len: their number
 * @flags: RIG_NET_PARSE_* bits
 * @ret_view: (out): the decoded view, written only on success
 * @reterr_reason: (out) (optional): why it failed, written only on failure
 *
 * Returns: 0, or -ENODATA when the buffer ends inside a header or before
 * the length a header announces (RIG_NET_ERR_SHORT_*), -EBADMSG for
 * contradicting fields (RIG_NET_ERR_BAD_*), -E2BIG for too many IPv6
 * extension headers, -EINVAL for unknown @flags or a NULL @ret_view.
 */
int rig_net_parse(const uint8_t *buf, size_t len, unsigned flags,
                  RigNetView *ret_view, RigNetError *reterr_reason);

/**
 * rig_net_error_name:
 * Returns: (transfer none): the reason as a static string such as
 * "SHORT_IPV4_HDR", or "UNKNOWN" for an out-of-range value.
 */
const char *rig_net_error_name(RigNetError reason);

/**
 * rig_net_error_describe:
 * Returns: (transfer none): a static one-line explanation of @reason.
 */
const char *rig_net_error_describe(RigNetError reason);

/**
 * rig_net_csum_name:
 * Returns: (transfer none): "unchecked", "ok", "bad" or "zero".
 */
const char *rig_net_csum_name(RigNetCsum csum);
