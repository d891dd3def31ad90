/*
 * frame.h - a pattern segment as an Ethernet frame (through rig/net)
 */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <sys/types.h>

#include "trafgen/pattern.h"

/* Who talks to whom; flow k uses src_port + k. */
typedef struct {
    gboolean ipv6;
    uint8_t src_mac[6];
    uint8_t dst_mac[6];
    uint8_t src_ip[16];
    uint8_t dst_ip[16];
    uint16_t src_port;
    uint16_t dst_port;
} TrafgenEndpoints;

/**
 * trafgen_endpoints_init_default:
 * @endpoints: filled with the documentation defaults: 192.0.2.1 -> .2 or
 *   2001:db8::1 -> ::2, 02:00:00:00:00:01 -> :02, ports 40000 -> 5001
 * @ipv6: family
 */
void trafgen_endpoints_init_default(TrafgenEndpoints *endpoints, gboolean ipv6);

/**
 * trafgen_frame_build:
 * @endpoints: addresses and ports
 * @segment: the segment (an idle segment builds nothing; an arp segment
 *   builds a 60-byte ARP request, knobs ignored)
 * @buf: (out): frame bytes
 * @size: size of @buf (RIG_NET_FRAME_MAX is always enough)
 *
 * Returns: frame length (0 for idle), or a negative errno from the builder.
 */
ssize_t trafgen_frame_build(const TrafgenEndpoints *endpoints,
                            const TrafgenSegment *segment, uint8_t *buf,
                            size_t size);

/**
 * trafgen_parse_mac:
 * @text: "aa:bb:cc:dd:ee:ff"
 * @ret_mac: 6 bytes, set on success
 *
 * Returns: TRUE when @text is a MAC address.
 */
gboolean trafgen_parse_mac(const char *text, uint8_t ret_mac[6]);

/**
 * trafgen_parse_ip:
 * @text: an IPv4 or IPv6 address
 * @ipv6: which family is expected
 * @ret_ip: 16 bytes (IPv4 in the first 4), set on success
 *
 * Returns: TRUE when @text is an address of that family.
 */
gboolean trafgen_parse_ip(const char *text, gboolean ipv6, uint8_t ret_ip[16]);
