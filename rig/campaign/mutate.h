/*
 * Structure-aware frames for the campaign: a small set of TCP flows (IPv4
 * and IPv6) whose state (seq, ack, window) advances like a sender's, and
 * for each frame one shape, from a plain in-order segment to a frame cut
 * at a header boundary.  Valid shapes (padding, options, control flags,
 * ECN, wrap-around, 64 KiB accumulation, ...) move the flow on; malformed
 * ones (truncation, lying lengths, IHL and data-offset extremes) are noise
 * inside the flow and leave it where it was.  Everything comes from one
 * FuzzPrng, so the same seed and round give the same frames.
 */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <sys/types.h>

#include "campaign/prng.h"
#include "net/build.h"

/* The tap's MTU during a campaign: frames up to 64 KiB of IP. */
#define FUZZ_TAP_MTU 65521 /* a tap's largest: 65535 - Ethernet header */
/* Largest frame fuzz_gen_next() writes (Ethernet + 802.1Q + IP packet). */
#define FUZZ_FRAME_MAX (RIG_ETH_HLEN + RIG_VLAN_HLEN + FUZZ_TAP_MTU)
#define FUZZ_MAX_FLOWS 64

#define FUZZ_KINDS(X)                                                          \
    X(DATA, "data", 300)                                                       \
    X(TINY_PADDED, "tiny-padded", 30)                                          \
    X(PAD, "trailer", 40)                                                      \
    X(PURE_ACK, "pure-ack", 25)                                                \
    X(DUP_ACK, "dup-ack", 25)                                                  \
    X(WIN_UPDATE, "window-update", 25)                                         \
    X(WIN_EDGE, "window-edge", 20)                                             \
    X(ACK_EDGE, "ack-edge", 20)                                                \
    X(SEQ_EDGE, "seq-edge", 25)                                                \
    X(WRAP, "seq-wrap", 15)                                                    \
    X(FLAGS, "tcp-flags", 30)                                                  \
    X(TCP_OPTIONS, "tcp-options", 30)                                          \
    X(IP_OPTIONS, "ipv4-options", 15)                                          \
    X(ECN, "ecn", 15)                                                          \
    X(FRAGMENT, "ip-fragment", 15)                                             \
    X(IPV6_EXT, "ipv6-ext-chain", 20)                                          \
    X(IPV6_PLEN0, "ipv6-plen-0", 10)                                           \
    X(IP_LEN, "ip-length-lie", 35)                                             \
    X(IHL, "ihl-extreme", 20)                                                  \
    X(DOFF, "doff-extreme", 25)                                                \
    X(TRUNCATE, "truncated", 50)                                               \
    X(NOT_TCP, "not-tcp", 15)                                                  \
    X(NOT_IP, "not-ip", 10)                                                    \
    X(VLAN, "vlan", 10)                                                        \
    X(BIG, "64k-boundary", 60)

typedef enum {
#define FUZZ_KIND_ENUM(id, name, weight) FUZZ_KIND_##id,
    FUZZ_KINDS(FUZZ_KIND_ENUM)
#undef FUZZ_KIND_ENUM
        FUZZ_KIND_COUNT
} FuzzKind;

typedef struct {
    uint8_t family; /* 4 or 6 */
    uint8_t src_ip[16];
    uint8_t dst_ip[16];
    uint16_t src_port;
    uint16_t dst_port;
    uint32_t seq;
    uint32_t ack;
    uint16_t window;
    uint32_t run; /* in-order payload since the last segment that ends
                   * coalescing: steers the 64 KiB boundary shape */
} FuzzFlow;

typedef struct {
    FuzzPrng prng;
    uint8_t guest_mac[6];
    guint nflows;
    FuzzFlow flows[FUZZ_MAX_FLOWS];
    guint64 made[FUZZ_KIND_COUNT];
    guint32 skip; /* 1 << FuzzKind of shapes never drawn */
} FuzzGen;

G_STATIC_ASSERT(FUZZ_KIND_COUNT <= 32);

/* What fuzz_gen_next() made. */
typedef struct {
    FuzzKind kind;
    guint flow;     /* index into FuzzGen.flows */
    gboolean moved; /* the flow's seq moved past this frame's payload */
} FuzzFrameInfo;

/**
 * fuzz_kind_name:
 * Returns: (transfer none): e.g. "truncated", or "?" out of range.
 */
const char *fuzz_kind_name(FuzzKind kind);

/**
 * fuzz_gen_init:
 * @gen: (out caller-allocates): the generator
 * @seed: campaign seed
 * @round: round number (an independent stream per round)
 * @guest_mac: destination MAC of every frame
 * @nflows: 1..FUZZ_MAX_FLOWS interleaved flows (clamped)
 *
 * Flows get random families, addresses, ports, and a seq/ack that is near
 * 2^32 one time in four, so that wrap-around happens inside the round.
 */
void fuzz_gen_init(FuzzGen *gen, uint64_t seed, uint64_t round,
                   const uint8_t guest_mac[6], guint nflows);

/**
 * fuzz_gen_set_skip:
 * @gen: generator
 * @skip: 1 << FuzzKind for each shape fuzz_gen_next() must not draw.
 *   Skipping FUZZ_KIND_PAD ("trailer") removes every trailer: no frame is
 *   then longer than its IP packet (no tiny-padded frames, no trailer on a
 *   64 KiB run, no IP length shorter than the frame).
 */
void fuzz_gen_set_skip(FuzzGen *gen, guint32 skip);

/**
 * fuzz_kind_parse_list:
 * @list: comma-separated shape names (fuzz_kind_name())
 * @ret_mask: (out): 1 << FuzzKind of each; set only on success
 * @error: names the unknown shape and lists the known ones
 *
 * Returns: TRUE when every name is a shape.
 */
gboolean fuzz_kind_parse_list(const char *list, guint32 *ret_mask,
                              GError **error);

/**
 * fuzz_gen_next:
 * @gen: generator
 * @buf: (out): at least FUZZ_FRAME_MAX bytes
 * @size: size of @buf
 * @ret_info: (out) (optional): what was made
 *
 * Returns: the frame length (>= 14), or a negative errno (a builder bug).
 */
ssize_t fuzz_gen_next(FuzzGen *gen, uint8_t *buf, size_t size,
                      FuzzFrameInfo *ret_info);

/**
 * fuzz_gen_make:
 * @gen: generator
 * @kind: the shape to make (instead of a random one)
 * @flow: flow index (< nflows)
 * @buf: (out): at least FUZZ_FRAME_MAX bytes
 * @size: size of @buf
 * @ret_info: (out) (optional): what was made
 *
 * As fuzz_gen_next() for a chosen shape and flow (the unit tests use it).
 *
 * Returns: the frame length, or a negative errno.
 */
ssize_t fuzz_gen_make(FuzzGen *gen, FuzzKind kind, guint flow, uint8_t *buf,
                      size_t size, FuzzFrameInfo *ret_info);
