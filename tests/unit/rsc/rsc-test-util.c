/*
 * Test helpers: see rsc-test-util.h.
 */
#include "rsc-test-util.h"

#include <string.h>

#include "net/wire.h"

RigNetFrameDesc tu_tcp(int family, guint flow, guint32 seq, guint16 flags,
                       gsize payload)
{
    RigNetFrameDesc d = {
        .family = (uint8_t)family,
        .protocol = RIG_IPPROTO_TCP,
        .df = true,
        .src_port = (uint16_t)(40000 + flow % 100),
        .dst_port = 5001,
        .seq = seq,
        .ack = TU_ACK,
        .window = TU_WIN,
        .tcp_flags = flags,
        .payload_len = payload,
        .pattern = RIG_NET_PATTERN_SEQ,
    };
    static const uint8_t mac_guest[6] = {0x52, 0x54, 0, 0x12, 0x34, 0x56};
    static const uint8_t mac_peer[6] = {0x52, 0x54, 0, 0xab, 0xcd, 0xef};

    memcpy(d.dst_mac, mac_guest, 6);
    memcpy(d.src_mac, mac_peer, 6);
    if (family == 4) {
        memcpy(d.src_ip, (uint8_t[]){10, 0, 0, (uint8_t)(1 + flow / 100)}, 4);
        memcpy(d.dst_ip, (uint8_t[]){10, 0, 0, 200}, 4);
    } else {
        d.src_ip[0] = 0xfd;
        d.src_ip[15] = (uint8_t)(1 + flow / 100);
        d.dst_ip[0] = 0xfd;
        d.dst_ip[15] = 200;
    }
    return d;
}

gsize tu_build(const RigNetFrameDesc *d, guint8 *buf)
{
    ssize_t n = rig_net_build_frame(d, buf, RIG_NET_FRAME_MAX);

    if (n < 0) {
        fail_msg("rig_net_build_frame: %zd", n);
    }
    return (gsize)n;
}

void tu_feed(RscOracle *o, guint64 t_ns, const RigNetFrameDesc *d)
{
    g_autofree guint8 *buf = g_malloc(RIG_NET_FRAME_MAX);
    gsize len = tu_build(d, buf);

    assert_true(rsc_oracle_receive(o, t_ns, NULL, buf, len));
}

RscOracle *tu_oracle(RscMode mode, gboolean v4, gboolean v6)
{
    RscOracleConfig cfg = {
        .mode = mode,
        .interval_ns = TU_IV,
        .ipv4_enabled = v4,
        .ipv6_enabled = v6,
    };

    return rsc_oracle_new(&cfg);
}

TuExpect tu_coalesced(RscMode mode, int family)
{
    TuExpect e = TU_ANY;

    e.hdr_flags = RIG_VIRTIO_NET_HDR_F_RSC_INFO;
    if (mode == RSC_MODE_SPEC) {
        e.hdr_flags |= RIG_VIRTIO_NET_HDR_F_NEEDS_CSUM;
    }
    e.gso_type = family == 4 ? RIG_VIRTIO_NET_HDR_GSO_TCPV4
                             : RIG_VIRTIO_NET_HDR_GSO_TCPV6;
    e.dup_acks = 0;
    return e;
}

static void tu_check(gsize i, const char *field, gint64 want, gint64 got)
{
    if (want >= 0 && want != got) {
        fail_msg("frame %zu: %s expected %" G_GINT64_FORMAT
                 ", got %" G_GINT64_FORMAT,
                 i, field, want, got);
    }
}

void tu_expect_frames(RscOracle *o, gsize n, const TuExpect *exp)
{
    g_autoptr(GPtrArray) got = rsc_oracle_take_delivered(o);

    if (got->len != n) {
        GString *s = g_string_new(NULL);

        for (guint i = 0; i < got->len; i++) {
            RscDelivered *d = got->pdata[i];
            g_string_append_printf(s, " [%s len %zu]", rsc_cause_name(d->cause),
                                   d->len);
        }
        fail_msg("expected %zu frames, got %u:%s", n, got->len, s->str);
    }
    for (gsize i = 0; i < n; i++) {
        RscDelivered *d = got->pdata[i];
        const TuExpect *e = &exp[i];
        RigNetView v;
        gint64 payload = -1;

        if (e->cause != RSC_CAUSE_COUNT && e->cause != d->cause) {
            fail_msg("frame %zu: cause expected %s, got %s", i,
                     rsc_cause_name(e->cause), rsc_cause_name(d->cause));
        }
        tu_check(i, "t_ns", e->t_ns, (gint64)d->t_ns);
        tu_check(i, "len", e->len, (gint64)d->len);
        tu_check(i, "hdr.flags", e->hdr_flags, d->hdr.flags);
        tu_check(i, "hdr.gso_type", e->gso_type, d->hdr.gso_type);
        tu_check(i, "hdr.gso_size", e->gso_size, rig_le16(d->hdr.gso_size));
        tu_check(i, "hdr.csum_start (segments)", e->segments,
                 rig_le16(d->hdr.csum_start));
        tu_check(i, "hdr.csum_offset (dup_acks)", e->dup_acks,
                 rig_le16(d->hdr.csum_offset));
        tu_check(i, "hdr.num_buffers", 1, rig_le16(d->hdr.num_buffers));
        if (e->seq < 0 && e->payload < 0 && e->tcp_flags < 0) {
            continue;
        }
        if (rig_net_parse(d->frame, d->len, 0, &v, NULL) < 0 ||
            v.protocol != RIG_IPPROTO_TCP || v.l4_off == 0) {
            fail_msg("frame %zu: not a parseable TCP frame", i);
        }
        payload = (gint64)v.payload_len;
        tu_check(i, "seq", e->seq, v.seq);
        tu_check(i, "payload", e->payload, payload);
        tu_check(i, "tcp_flags", e->tcp_flags, v.tcp_flags);
    }
}

void tu_expect_stats(RscOracle *o, RscFamily family, const char *spec)
{
    const RscStats *st = rsc_oracle_get_stats(o, family);
    guint64 want[RSC_STATS_N_FIELDS] = {0};
    g_auto(GStrv) items = g_strsplit(spec, ",", -1);

    for (gsize i = 0; items[i]; i++) {
        g_auto(GStrv) kv = g_strsplit(g_strstrip(items[i]), "=", 2);
        int idx;

        if (!kv[0] || !*kv[0]) {
            continue;
        }
        idx = rsc_stats_field_index(kv[0]);
        if (idx < 0 || !kv[1]) {
            fail_msg("bad stats spec item '%s'", items[i]);
        }
        want[idx] = g_ascii_strtoull(kv[1], NULL, 10);
    }
    for (guint i = 0; i < RSC_STATS_N_FIELDS; i++) {
        guint64 got = rsc_stats_field_value(st, i);

        if (got != want[i]) {
            fail_msg("%s counter %s: expected %" G_GUINT64_FORMAT
                     ", got %" G_GUINT64_FORMAT,
                     rsc_family_name(family), rsc_stats_field_name(i), want[i],
                     got);
        }
    }
}
