/*
 * Flow key: the 5-tuple of a TCP/UDP packet, directional, with no implicit
 * padding, so that two keys compare and hash by their bytes.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

typedef struct RigFlowKey {
    uint8_t family;    /* 4 or 6; 0 when unset */
    uint8_t protocol;  /* RIG_IPPROTO_* of the transport */
    uint16_t src_port; /* host order; 0 for non-TCP/UDP */
    uint16_t dst_port;
    uint16_t reserved; /* always 0: keeps memcmp()/hash well defined */
    uint8_t src[16];   /* IPv4 uses the first 4 bytes, the rest is 0 */
    uint8_t dst[16];
} RigFlowKey;
G_STATIC_ASSERT(sizeof(RigFlowKey) == 40);

/* Long enough for "[v6addr]:port > [v6addr]:port proto 255". */
#define RIG_FLOW_KEY_STR_MAX 112

/**
 * rig_flow_key_init:
 * @key: (out): the key to fill (entirely, padding included)
 * @family: 4 or 6
 * @protocol: transport protocol number
 * @src: source address, 4 or 16 bytes by @family
 * @dst: destination address
 * @src_port: source port, host order
 * @dst_port: destination port, host order
 *
 * Returns: 0, or -EINVAL when @family is neither 4 nor 6.
 */
int rig_flow_key_init(RigFlowKey *key, uint8_t family, uint8_t protocol,
                      const uint8_t *src, const uint8_t *dst, uint16_t src_port,
                      uint16_t dst_port);

/**
 * rig_flow_key_reverse:
 * @key: a key
 * @ret_reversed: (out): the key of the opposite direction
 */
void rig_flow_key_reverse(const RigFlowKey *key, RigFlowKey *ret_reversed);

/**
 * rig_flow_key_equal:
 * Returns: whether @a and @b name the same directional flow.
 */
bool rig_flow_key_equal(const RigFlowKey *a, const RigFlowKey *b);

/**
 * rig_flow_key_compare:
 * Returns: <0, 0 or >0: a total order (bytewise), for sorting.
 */
int rig_flow_key_compare(const RigFlowKey *a, const RigFlowKey *b);

/**
 * rig_flow_key_hash:
 * Returns: a 32-bit FNV-1a hash of the key bytes (stable across runs).
 */
uint32_t rig_flow_key_hash(const RigFlowKey *key);

/**
 * rig_flow_key_format:
 * @key: a key
 * @buf: (out): caller buffer, RIG_FLOW_KEY_STR_MAX bytes is always enough
 * @size: size of @buf
 *
 * Writes e.g. "10.0.0.1:1000 > 10.0.0.2:2000 tcp" (NUL-terminated).
 *
 * Returns: the string length, or -ENOSPC when @buf is too small (then
 * @buf holds a truncated, still terminated string).
 */
int rig_flow_key_format(const RigFlowKey *key, char *buf, size_t size);
