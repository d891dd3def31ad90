/*
 * Internet checksum (RFC 1071) and the TCP/UDP pseudo-headers of IPv4
 * (RFC 793) and IPv6 (RFC 8200 section 8.1).
 *
 * Sums are accumulated in 32 bits over big-endian 16-bit words, so values
 * are host integers: store a final checksum with rig_be16_put().  To verify,
 * sum the covered bytes with the stored checksum in place: a correct packet
 * folds to 0xffff, i.e. rig_csum_finish() returns 0.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/**
 * rig_csum_add:
 * @sum: running sum (start with 0)
 * @data: bytes to add; may be NULL when @len is 0
 * @len: number of bytes; an odd length is padded with a zero byte, so
 *   only the last chunk of a sum may have an odd length
 *
 * Returns: the new running (unfolded) sum.
 */
uint32_t rig_csum_add(uint32_t sum, const void *data, size_t len);

/**
 * rig_csum_finish:
 * @sum: running sum
 *
 * Returns: the one's complement of the folded sum: the value to store in a
 * checksum field, or 0 when verifying a correct packet.
 */
uint16_t rig_csum_finish(uint32_t sum);

/**
 * rig_csum_ipv4_pseudo:
 * @saddr: 4-byte source address
 * @daddr: 4-byte destination address
 * @protocol: IP protocol number (6 TCP, 17 UDP)
 * @l4_len: TCP/UDP header + payload length in bytes
 *
 * Returns: the running sum of the IPv4 pseudo-header.
 */
uint32_t rig_csum_ipv4_pseudo(const uint8_t *saddr, const uint8_t *daddr,
                              uint8_t protocol, uint16_t l4_len);

/**
 * rig_csum_ipv6_pseudo:
 * @saddr: 16-byte source address
 * @daddr: 16-byte (final) destination address
 * @nexthdr: upper-layer protocol number
 * @l4_len: upper-layer packet length in bytes
 *
 * Returns: the running sum of the IPv6 pseudo-header.
 */
uint32_t rig_csum_ipv6_pseudo(const uint8_t *saddr, const uint8_t *daddr,
                              uint8_t nexthdr, uint32_t l4_len);

/**
 * rig_csum_ipv4_header:
 * @hdr: an IPv4 header of @hdr_len bytes whose checksum field is zero
 * @hdr_len: header length including options
 *
 * Returns: the header checksum to store.
 */
uint16_t rig_csum_ipv4_header(const uint8_t *hdr, size_t hdr_len);
