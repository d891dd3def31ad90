/*
 * Frame builder: writes one complete Ethernet frame (optionally 802.1Q
 * tagged) into a caller buffer from a RigNetFrameDesc.  Lengths and
 * checksums are right unless a RIG_NET_CORRUPT_* knob asks otherwise, so a
 * scenario can send a bad checksum, a lying length or a short frame on
 * purpose.  No allocation, no logging.
 *
 * Typical use (designated initializers leave every other knob at its
 * neutral zero value):
 *
 *     RigNetFrameDesc d = {
 *         .family = 4, .protocol = RIG_IPPROTO_TCP, .ttl = 64, .df = true,
 *         .src_port = 40000, .dst_port = 5001, .seq = 1000, .ack = 1,
 *         .window = 502, .tcp_flags = RIG_TCP_ACK | RIG_TCP_PSH,
 *         .payload_len = 1000, .pattern = RIG_NET_PATTERN_SEQ,
 *     };
 *     memcpy(d.src_ip, (uint8_t[]){10, 0, 0, 1}, 4); ...
 *     ssize_t n = rig_net_build_frame(&d, buf, sizeof(buf));
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/wire.h"

/* Largest frame the builder writes: 64 KiB of IP plus L2 headers. */
#define RIG_NET_FRAME_MAX (RIG_ETH_HLEN + RIG_VLAN_HLEN + 65535 + 40)

/* How payload bytes are generated (see rig_net_pattern_byte()). */
typedef enum RigNetPattern {
    /* byte = f(sequence number of that byte): for TCP the seed is the
     * segment's seq, so a receiver can check any (coalesced) segment from
     * its own seq alone, and a gap, overlap or shift shows up. */
    RIG_NET_PATTERN_SEQ = 0,
    RIG_NET_PATTERN_ZERO, /* all zero */
    RIG_NET_PATTERN_FILL, /* every byte = fill_byte */
} RigNetPattern;

/* TCP option as described to the builder; see RIG_TCPOPT_* in wire.h. */
typedef struct RigNetTcpOption {
    uint8_t kind; /* EOL, NOP, MSS, WSCALE, SACK_PERM, SACK, TIMESTAMP, or
                     any other kind written as kind, 2 + raw_len, raw */
    uint16_t mss;
    uint8_t wscale;
    uint32_t ts_val;
    uint32_t ts_ecr;
    uint8_t sack_count;                        /* 1..RIG_TCP_MAX_SACK_BLOCKS */
    uint32_t sack[RIG_TCP_MAX_SACK_BLOCKS][2]; /* left, right edge */
    const uint8_t *raw;
    uint8_t raw_len;
} RigNetTcpOption;

/* One IPv6 extension header, in the order they appear on the wire. */
typedef struct RigNetIpv6Ext {
    uint8_t type; /* RIG_IPPROTO_HOPOPTS, _ROUTING, _FRAGMENT, _DSTOPTS */
    /* HOPOPTS/DSTOPTS: option TLVs, padded by the builder with Pad1/PadN to
     * a multiple of 8 (NULL/0: only padding).  ROUTING: the type-specific
     * data after the 4 fixed bytes, zero-padded to a multiple of 8. */
    const uint8_t *data;
    size_t data_len;
    uint8_t routing_type;  /* ROUTING */
    uint8_t segments_left; /* ROUTING; the pseudo-header still uses dst_ip */
    uint16_t frag_offset;  /* FRAGMENT: in 8-byte units */
    bool frag_more;        /* FRAGMENT: M flag */
    uint32_t frag_id;      /* FRAGMENT */
} RigNetIpv6Ext;

/* Corruption knobs (RigNetFrameDesc.corrupt bit set). */
#define RIG_NET_CORRUPT_IPV4_CSUM 0x01u /* header checksum off by one */
#define RIG_NET_CORRUPT_L4_CSUM   0x02u /* TCP/UDP checksum off by one */
/*
 * IPv4 total / IPv6 payload length := ip_len_value; the IPv4 header
 * checksum covers the lie, the TCP/UDP one the real segment.
 */
#define RIG_NET_CORRUPT_IP_LEN   0x04u
#define RIG_NET_CORRUPT_TRUNCATE 0x08u /* cut the frame to truncate_len */
#define RIG_NET_CORRUPT_UDP_LEN  0x10u /* UDP length := udp_len_value */
/*
 * TCP data offset := tcp_doff_value (0..15 words) with the bytes laid out
 * as without it (the payload stays after the real header); the TCP
 * checksum covers the lie, so only the header length is wrong.
 */
#define RIG_NET_CORRUPT_TCP_DOFF 0x20u

typedef struct RigNetFrameDesc {
    /* L2 */
    uint8_t dst_mac[RIG_ETH_ALEN];
    uint8_t src_mac[RIG_ETH_ALEN];
    bool vlan;         /* insert an 802.1Q tag */
    uint16_t vlan_tci; /* rig_vlan_tci_make(pcp, dei, vid) */
    bool pad_to_min;   /* pad short frames to 60 bytes like a NIC would */

    /* L3: family 4 or 6; 0 builds a frame that is not IP: L2 with
     * @ethertype, then the payload right after the L2 header (every L3/L4
     * field below must stay zero) */
    uint8_t family;
    uint16_t ethertype; /* family 0 only: e.g. RIG_ETHERTYPE_ARP */
    uint8_t src_ip[16]; /* IPv4 uses the first 4 bytes */
    uint8_t dst_ip[16];
    uint8_t ttl;          /* TTL / hop limit; 0 means the default 64 */
    uint8_t tos;          /* IPv4 TOS / IPv6 traffic class, ECN included */
    uint32_t flow_label;  /* IPv6 */
    uint16_t ip_id;       /* IPv4 */
    bool df;              /* IPv4 don't fragment */
    bool mf;              /* IPv4 more fragments */
    uint16_t frag_offset; /* IPv4 fragment offset, 8-byte units */
    const uint8_t *ipv4_options; /* raw option bytes, padded with EOL to 4 */
    size_t ipv4_options_len;     /* <= 40 after padding */
    const RigNetIpv6Ext *ipv6_ext;
    size_t ipv6_ext_count; /* <= RIG_IPV6_MAX_EXT */

    /* L4: RIG_IPPROTO_TCP, RIG_IPPROTO_UDP, or any other number (then the
     * payload follows the IP headers directly, no L4 header) */
    uint8_t protocol;
    uint16_t src_port;
    uint16_t dst_port;
    uint32_t seq;
    uint32_t ack;
    uint16_t window;
    uint16_t tcp_flags; /* RIG_TCP_* */
    uint16_t urg_ptr;
    const RigNetTcpOption *tcp_options; /* padded with EOL to 4 bytes */
    size_t tcp_option_count;

    /* Payload: @payload copied when non-NULL, else generated by @pattern
     * from seed = seq (TCP) or pattern_seed (UDP/other). */
    size_t payload_len;
    const uint8_t *payload;
    RigNetPattern pattern;
    uint8_t fill_byte;
    uint32_t pattern_seed;

    /* Deliberate damage: RIG_NET_CORRUPT_* bits and their values. */
    unsigned corrupt;
    uint16_t ip_len_value;
    uint16_t udp_len_value;
    uint8_t tcp_doff_value;
    size_t truncate_len;
} RigNetFrameDesc;

/**
 * rig_net_build_frame:
 * @desc: what to build (borrowed)
 * @buf: (out): caller buffer receiving the frame
 * @size: size of @buf
 *
 * Writes Ethernet [+ 802.1Q] + IPv4/IPv6 [+ options / extension headers]
 * [+ TCP/UDP] + payload, with correct lengths and checksums unless
 * @desc->corrupt says otherwise.  With family 0: Ethernet [+ 802.1Q] with
 * @desc->ethertype + payload (only the TRUNCATE knob applies).  On failure
 * @buf may hold garbage.
 *
 * Returns: the frame length, or -EINVAL for an impossible description
 * (unknown family, family 0 without an ethertype or with an IP ethertype or
 * with L3/L4 fields, options over 40 bytes, bad option, IP length over
 * 65535, too many extension headers, a TCP data offset lie above 15 or
 * without TCP), -ENOSPC when @size is too small.
 */
ssize_t rig_net_build_frame(const RigNetFrameDesc *desc, uint8_t *buf,
                            size_t size);

/**
 * rig_net_build_vnet_hdr:
 * @buf: (out): at least RIG_VIRTIO_NET_HDR_V1_LEN bytes
 * @size: size of @buf
 * @flags: RIG_VIRTIO_NET_HDR_F_*
 * @gso_type: RIG_VIRTIO_NET_HDR_GSO_*
 * @hdr_len: header length hint
 * @gso_size: segment size
 * @csum_start: checksum start, or (RSC_INFO) segment count
 * @csum_offset: checksum offset, or (RSC_INFO) duplicate ACK count
 *
 * Writes a little-endian struct virtio_net_hdr_v1 (num_buffers 0).
 *
 * Returns: RIG_VIRTIO_NET_HDR_V1_LEN, or -ENOSPC.
 */
ssize_t rig_net_build_vnet_hdr(uint8_t *buf, size_t size, uint8_t flags,
                               uint8_t gso_type, uint16_t hdr_len,
                               uint16_t gso_size, uint16_t csum_start,
                               uint16_t csum_offset);

/**
 * rig_net_pattern_byte:
 * @seq: sequence number (or offset from pattern_seed) of the byte
 *
 * Returns: the RIG_NET_PATTERN_SEQ byte for @seq: a hash, not seq & 0xff,
 * so that a shift by any multiple of 256 is still caught.
 */
uint8_t rig_net_pattern_byte(uint32_t seq);

/**
 * rig_net_pattern_fill:
 * @buf: (out): @len bytes to fill
 * @len: number of bytes
 * @seed: sequence number of @buf[0]
 */
void rig_net_pattern_fill(uint8_t *buf, size_t len, uint32_t seed);

/**
 * rig_net_pattern_check:
 * @buf: received payload
 * @len: its length
 * @seed: sequence number of @buf[0]
 *
 * Returns: -1 when every byte matches RIG_NET_PATTERN_SEQ, else the index
 * of the first wrong byte.
 */
ssize_t rig_net_pattern_check(const uint8_t *buf, size_t len, uint32_t seed);
