/*
 * Helpers for the oracle's unit tests: TCP frames from rig/net's builder
 * and assertions on the geometry of what the oracle delivered.
 */
#pragma once

/* cmocka needs these before its header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>

#include "net/build.h"
#include "net/parse.h"
#include "rsc/oracle.h"

#define TU_MSS 1000u
#define TU_SEQ 1000000u
#define TU_ACK 5000u
#define TU_WIN 502u
#define TU_IV  300000u /* rsc_interval used by most tests */

/**
 * tu_tcp:
 * @family: 4 or 6
 * @flow: flow number: picks the source port (and address for flow >= 100)
 * @seq: sequence number
 * @flags: RIG_TCP_* flags (ACK is not added)
 * @payload: payload length
 *
 * Returns: a description of a plain TCP segment (DF, no options, pattern
 * payload, ack TU_ACK, window TU_WIN) to adjust before tu_feed().
 */
RigNetFrameDesc tu_tcp(int family, guint flow, guint32 seq, guint16 flags,
                       gsize payload);

/**
 * tu_build:
 * @d: description
 * @buf: (out): RIG_NET_FRAME_MAX bytes
 *
 * Returns: the frame length; fails the test when the builder refuses.
 */
gsize tu_build(const RigNetFrameDesc *d, guint8 *buf);

/**
 * tu_feed:
 * @o: oracle
 * @t_ns: arrival time
 * @d: the frame to build and receive (vnet header all zero)
 */
void tu_feed(RscOracle *o, guint64 t_ns, const RigNetFrameDesc *d);

/**
 * tu_oracle:
 * @mode: mode
 * @v4: IPv4 RSC enabled
 * @v6: IPv6 RSC enabled
 *
 * Returns: (transfer full): an oracle with rsc_interval TU_IV.
 */
RscOracle *tu_oracle(RscMode mode, gboolean v4, gboolean v6);

/* What one delivered frame must look like; -1 fields are not checked. */
typedef struct TuExpect {
    RscCause cause;
    gint64 t_ns;
    gint64 seq;
    gint64 payload; /* TCP payload from the IP length field */
    gint tcp_flags; /* RIG_TCP_* */
    gint hdr_flags; /* vnet header flags */
    gint gso_type;
    gint gso_size;
    gint segments; /* csum_start */
    gint dup_acks; /* csum_offset */
    gint64 len;    /* whole frame */
} TuExpect;

/* An expectation with every field unchecked, then set what matters. */
#define TU_ANY                                                                 \
    (TuExpect)                                                                 \
    {                                                                          \
        .cause = RSC_CAUSE_COUNT, .t_ns = -1, .seq = -1, .payload = -1,        \
        .tcp_flags = -1, .hdr_flags = -1, .gso_type = -1, .gso_size = -1,      \
        .segments = -1, .dup_acks = -1, .len = -1                              \
    }

/**
 * tu_expect_frames:
 * @o: oracle
 * @n: number of frames that must have been delivered since the last call
 * @exp: (array length=n): what each must look like
 *
 * Pops them all; fails naming the first mismatch (frame index, field).
 */
void tu_expect_frames(RscOracle *o, gsize n, const TuExpect *exp);

/**
 * tu_expect_stats:
 * @o: oracle
 * @family: chain
 * @spec: "name=value,name=value": every counter not named must be 0
 */
void tu_expect_stats(RscOracle *o, RscFamily family, const char *spec);

/**
 * tu_coalesced:
 * @mode: the oracle's mode
 * @family: 4 or 6
 *
 * Returns: the expectation of a coalesced frame's header in @mode
 * (flags and gso_type; segments/payload still to fill in).
 */
TuExpect tu_coalesced(RscMode mode, int family);
