/*
 * libFuzzer target for the RSC oracle.  The input drives one oracle:
 *
 *   byte 0: config: bit 0 spec mode, bit 1 IPv4 on, bit 2 IPv6 on,
 *           bits 3-7 rsc_interval in units of 16 us (0: QEMU's default)
 *   then records, each: op (1 byte), dt (1 byte: time step = dt << 8 ns)
 *     op & 3 == 0: raw frame: len (2 bytes LE, capped at 9018) + bytes
 *     op & 3 == 1: built TCP segment: family (op bit 2), flow (bits 3-4),
 *                  flags (1 byte), seq step (2 bytes), ack step (1 byte),
 *                  payload (2 bytes, capped at 9000), window (1 byte)
 *     op & 3 == 2: set RX buffers to (op >> 2) (63: unlimited)
 *     op & 3 == 3: advance time only
 *
 * Invariants: bytes out <= bytes in; a coalesced frame's IP length is
 * within QEMU's limits and its bytes within the IP length plus the first
 * frame's trailer; spec mode delivers coalesced frames without trailer and
 * with a valid IPv4 header checksum; cache = empty_cache + no_match_cache.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/build.h"
#include "net/checksum.h"
#include "net/wire.h"
#include "rsc/oracle.h"

#define FUZZ_MAX_RAW     9018u
#define FUZZ_MAX_PAYLOAD 9000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct FuzzCursor {
    const uint8_t *p;
    size_t left;
} FuzzCursor;

static gboolean fuzz_take(FuzzCursor *c, void *out, size_t n)
{
    if (c->left < n) {
        return FALSE;
    }
    memcpy(out, c->p, n);
    c->p += n;
    c->left -= n;
    return TRUE;
}

static void fuzz_check(RscMode mode, RscDelivered *d, gsize max_in,
                       guint64 *bytes_out)
{
    *bytes_out += d->len;
    if (!(d->hdr.flags & RIG_VIRTIO_NET_HDR_F_RSC_INFO)) {
        return;
    }
    /* Coalesced: an IPv4/IPv6 TCP frame of at least one segment. */
    g_assert_cmpuint(rig_vnet_hdr_rsc_segments(&d->hdr), >=, 1);
    g_assert_cmpuint(d->len, >=, RIG_ETH_HLEN + RIG_IPV4_HLEN + RIG_TCP_HLEN);
    if (d->family == RSC_FAMILY_IPV4) {
        const RigIpv4Hdr *ip = (const RigIpv4Hdr *)(d->frame + RIG_ETH_HLEN);
        gsize end = RIG_ETH_HLEN + rig_be16(ip->tot_len);

        g_assert_cmpuint(rig_be16(ip->tot_len), <=, 65535 - RIG_IPV4_HLEN);
        g_assert_cmpuint(d->len, >=, end);
        g_assert_cmpuint(d->len, <=, end + max_in);
        if (mode == RSC_MODE_SPEC) {
            g_assert_cmpuint(d->len, ==, end);
            g_assert_cmpuint(rig_csum_finish(rig_csum_add(0, ip, 20)), ==, 0);
        }
    } else {
        const RigIpv6Hdr *ip6 = (const RigIpv6Hdr *)(d->frame + RIG_ETH_HLEN);
        gsize end = RIG_ETH_HLEN + RIG_IPV6_HLEN + rig_be16(ip6->payload_len);

        g_assert_cmpint(d->family, ==, RSC_FAMILY_IPV6);
        g_assert_cmpuint(d->len, >=, end);
        g_assert_cmpuint(d->len, <=, end + max_in);
        if (mode == RSC_MODE_SPEC) {
            g_assert_cmpuint(d->len, ==, end);
        }
    }
}

static gsize fuzz_build(FuzzCursor *c, guint8 op, guint32 *seq, guint32 *ack,
                        guint8 *buf)
{
    guint8 flags, ack_step, win;
    guint16 seq_step, payload;
    RigNetFrameDesc d = {
        .protocol = RIG_IPPROTO_TCP,
        .df = true,
        .dst_port = 5001,
        .pattern = RIG_NET_PATTERN_SEQ,
    };
    ssize_t n;

    if (!fuzz_take(c, &flags, 1) || !fuzz_take(c, &seq_step, 2) ||
        !fuzz_take(c, &ack_step, 1) || !fuzz_take(c, &payload, 2) ||
        !fuzz_take(c, &win, 1)) {
        return 0;
    }
    d.family = (op & 4) ? 6 : 4;
    d.src_port = (uint16_t)(40000 + ((op >> 3) & 3));
    d.src_ip[0] = d.family == 4 ? 10 : 0xfd;
    d.dst_ip[0] = d.src_ip[0];
    d.dst_ip[d.family == 4 ? 3 : 15] = 2;
    *seq += seq_step;
    *ack += ack_step;
    d.seq = *seq;
    d.ack = *ack;
    d.window = (uint16_t)(win * 256);
    d.tcp_flags = flags;
    d.payload_len = payload % (FUZZ_MAX_PAYLOAD + 1);
    n = rig_net_build_frame(&d, buf, RIG_NET_FRAME_MAX);
    return n > 0 ? (gsize)n : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzCursor c = {data, size};
    RscOracleConfig cfg = {0};
    g_autoptr(RscOracle) o = NULL;
    g_autofree guint8 *buf = g_malloc(RIG_NET_FRAME_MAX);
    guint64 now = 0, bytes_in = 0, bytes_out = 0;
    guint32 seq = 1, ack = 1;
    gsize max_in = 0;
    guint8 conf;
    RscDelivered *d;

    if (!fuzz_take(&c, &conf, 1)) {
        return 0;
    }
    cfg.mode = (conf & 1) ? RSC_MODE_SPEC : RSC_MODE_QEMU;
    cfg.ipv4_enabled = (conf & 2) != 0;
    cfg.ipv6_enabled = (conf & 4) != 0;
    cfg.interval_ns = (guint64)(conf >> 3) * 16000;
    o = rsc_oracle_new(&cfg);

    for (;;) {
        guint8 op, dt;
        guint16 len16;
        gsize len = 0;

        if (!fuzz_take(&c, &op, 1) || !fuzz_take(&c, &dt, 1)) {
            break;
        }
        now += (guint64)dt << 8;
        switch (op & 3) {
        case 0:
            if (!fuzz_take(&c, &len16, 2)) {
                goto done;
            }
            len = MIN(MIN(len16, FUZZ_MAX_RAW), c.left);
            fuzz_take(&c, buf, len);
            break;
        case 1:
            len = fuzz_build(&c, op, &seq, &ack, buf);
            if (len == 0) {
                goto done;
            }
            break;
        case 2:
            rsc_oracle_set_rx_buffers(o, now,
                                      (op >> 2) == 63 ? RSC_RX_BUFFERS_UNLIMITED
                                                      : (guint64)(op >> 2));
            continue;
        default:
            rsc_oracle_advance(o, now);
            continue;
        }
        g_assert_true(rsc_oracle_receive(o, now, NULL, buf, len));
        bytes_in += len;
        max_in = MAX(max_in, len);
    }
done:
    rsc_oracle_flush(o);
    rsc_oracle_set_rx_buffers(o, rsc_oracle_get_now(o),
                              RSC_RX_BUFFERS_UNLIMITED);
    rsc_oracle_flush(o);
    while ((d = rsc_oracle_pop_delivered(o))) {
        fuzz_check(cfg.mode, d, max_in, &bytes_out);
        rsc_delivered_free(d);
    }
    g_assert_cmpuint(bytes_out, <=, bytes_in);
    g_assert_cmpuint(rsc_oracle_get_backlog(o), ==, 0);
    for (int f = 0; f < RSC_FAMILY_COUNT; f++) {
        const RscStats *st = rsc_oracle_get_stats(o, (RscFamily)f);

        g_assert_cmpuint(st->cache, ==, st->empty_cache + st->no_match_cache);
        g_assert_cmpuint(rsc_oracle_get_cached(o, (RscFamily)f), ==, 0);
    }
    return 0;
}
