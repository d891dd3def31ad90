/*
 * Coalescing rules of the oracle, one test per rule: in-order data, PSH
 * carry-over, ack/window from the newest segment, window update, pure and
 * duplicate ACKs, data after a pure ACK, out-of-order and out-of-window
 * sequence and ack numbers, the 64 KiB limits of IPv4 and IPv6, several
 * flows, both families at once, families disabled, mode differences in
 * the header, Ethernet padding, and the tap's vnet header.
 */
#include "rsc-test-util.h"

#include <string.h>

#include "net/checksum.h"
#include "net/wire.h"

static RscFamily fam_of(int family)
{
    return family == 4 ? RSC_FAMILY_IPV4 : RSC_FAMILY_IPV6;
}

/* Parses delivered frame @d, checking its payload pattern from its seq. */
static RigNetView parse_checked(const RscDelivered *d)
{
    RigNetView v;

    assert_int_equal(
        rig_net_parse(d->frame, d->len, RIG_NET_PARSE_VERIFY_CSUM, &v, NULL),
        0);
    assert_int_equal(
        rig_net_pattern_check(d->frame + v.payload_off, v.payload_len, v.seq),
        -1);
    return v;
}

static void test_coalesce_in_order(void **state)
{
    for (int m = RSC_MODE_QEMU; m <= RSC_MODE_SPEC; m++) {
        for (int family = 4; family <= 6; family += 2) {
            g_autoptr(RscOracle) o = tu_oracle((RscMode)m, TRUE, TRUE);
            g_autoptr(RscDelivered) d = NULL;
            RigNetView v;

            for (guint i = 0; i < 3; i++) {
                RigNetFrameDesc s =
                    tu_tcp(family, 0, TU_SEQ + i * TU_MSS, RIG_TCP_ACK, TU_MSS);
                tu_feed(o, i * 10, &s);
            }
            assert_null(rsc_oracle_pop_delivered(o));
            rsc_oracle_flush(o);
            d = rsc_oracle_pop_delivered(o);
            assert_non_null(d);
            assert_null(rsc_oracle_pop_delivered(o));
            assert_int_equal(d->cause, RSC_CAUSE_TIMER);
            assert_int_equal(d->t_ns, TU_IV);
            assert_int_equal(rig_vnet_hdr_rsc_segments(&d->hdr), 3);
            assert_int_equal(rig_vnet_hdr_rsc_dup_acks(&d->hdr), 0);
            assert_int_equal(d->hdr.gso_type,
                             family == 4 ? RIG_VIRTIO_NET_HDR_GSO_TCPV4
                                         : RIG_VIRTIO_NET_HDR_GSO_TCPV6);
            v = parse_checked(d);
            assert_int_equal(v.seq, TU_SEQ);
            assert_int_equal(v.payload_len, 3 * TU_MSS);
            assert_int_equal(v.trailer_len, 0);
            /* The TCP checksum is the first segment's: wrong in both. */
            assert_int_equal(v.l4_csum, RIG_NET_CSUM_BAD);
            if (m == RSC_MODE_QEMU) {
                assert_int_equal(d->hdr.flags, RIG_VIRTIO_NET_HDR_F_RSC_INFO);
                assert_int_equal(rig_le16(d->hdr.gso_size), 0);
                if (family == 4) {
                    assert_int_equal(v.ipv4_csum, RIG_NET_CSUM_BAD);
                }
            } else {
                assert_int_equal(d->hdr.flags,
                                 RIG_VIRTIO_NET_HDR_F_RSC_INFO |
                                     RIG_VIRTIO_NET_HDR_F_NEEDS_CSUM);
                assert_int_equal(rig_le16(d->hdr.gso_size), TU_MSS);
                if (family == 4) {
                    assert_int_equal(v.ipv4_csum, RIG_NET_CSUM_OK);
                }
            }
            tu_expect_stats(o, fam_of(family),
                            "received=3,cache=1,empty_cache=1,coalesced=2,"
                            "timer=1");
        }
    }
}

/* Flags, ack and window of the merged frame are the newest segment's. */
static void test_coalesce_takes_newest_flags_ack_window(void **state)
{
    static const guint16 first[] = {RIG_TCP_ACK, RIG_TCP_ACK | RIG_TCP_PSH};
    static const guint16 last[] = {RIG_TCP_ACK | RIG_TCP_PSH, RIG_TCP_ACK};

    for (gsize i = 0; i < G_N_ELEMENTS(first); i++) {
        g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, TRUE);
        RigNetFrameDesc a = tu_tcp(4, 0, TU_SEQ, first[i], TU_MSS);
        RigNetFrameDesc b = tu_tcp(4, 0, TU_SEQ + TU_MSS, last[i], 10);
        g_autoptr(RscDelivered) d = NULL;
        RigNetView v;

        b.ack = TU_ACK + 77;
        b.window = TU_WIN + 3;
        tu_feed(o, 0, &a);
        tu_feed(o, 1, &b);
        rsc_oracle_flush(o);
        d = rsc_oracle_pop_delivered(o);
        assert_non_null(d);
        v = parse_checked(d);
        /* PSH on the last segment is carried; PSH on an earlier is lost. */
        assert_int_equal(v.tcp_flags, last[i]);
        assert_int_equal(v.ack, TU_ACK + 77);
        assert_int_equal(v.window, TU_WIN + 3);
        assert_int_equal(v.payload_len, TU_MSS + 10);
    }
}

static void test_window_update(void **state)
{
    for (int family = 4; family <= 6; family += 2) {
        g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, TRUE);
        RigNetFrameDesc a = tu_tcp(family, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
        RigNetFrameDesc w = tu_tcp(family, 0, TU_SEQ, RIG_TCP_ACK, 0);
        g_autoptr(RscDelivered) d = NULL;
        RigNetView v;

        w.window = 9000;
        tu_feed(o, 0, &a);
        tu_feed(o, 1, &w);
        rsc_oracle_flush(o);
        d = rsc_oracle_pop_delivered(o);
        assert_non_null(d);
        assert_null(rsc_oracle_pop_delivered(o));
        /* Only the window merged, yet it is reported as coalesced. */
        assert_int_equal(d->hdr.flags, RIG_VIRTIO_NET_HDR_F_RSC_INFO);
        assert_int_equal(rig_vnet_hdr_rsc_segments(&d->hdr), 1);
        v = parse_checked(d);
        assert_int_equal(v.window, 9000);
        assert_int_equal(v.payload_len, TU_MSS);
        tu_expect_stats(o, fam_of(family),
                        "received=2,cache=1,empty_cache=1,win_update=1,"
                        "timer=1");
    }
}

/* An ACK at the next expected seq without data is appended (0 bytes). */
static void test_ack_at_next_seq_merges(void **state)
{
    g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, TRUE);
    RigNetFrameDesc a = tu_tcp(6, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
    RigNetFrameDesc k = tu_tcp(6, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK, 0);
    TuExpect e = tu_coalesced(RSC_MODE_QEMU, 6);

    k.ack = TU_ACK + 500;
    tu_feed(o, 0, &a);
    tu_feed(o, 1, &k);
    rsc_oracle_flush(o);
    e.segments = 2;
    e.payload = TU_MSS;
    e.seq = TU_SEQ;
    tu_expect_frames(o, 1, &e);
    tu_expect_stats(o, RSC_FAMILY_IPV6,
                    "received=2,cache=1,empty_cache=1,coalesced=1,timer=1");
}

/* Drain + final expectation for a cached 1000-byte segment and @d. */
static void expect_drain_final(RscOracle *o, const RigNetFrameDesc *d)
{
    TuExpect e[2] = {TU_ANY, TU_ANY};

    e[0].cause = RSC_CAUSE_DRAIN;
    e[0].seq = TU_SEQ;
    e[0].payload = TU_MSS;
    e[0].hdr_flags = 0;
    e[1].cause = RSC_CAUSE_FINAL;
    e[1].seq = d->seq;
    e[1].payload = (gint64)d->payload_len;
    tu_expect_frames(o, 2, e);
}

/* Feeds a 1000-byte segment at TU_SEQ, then @d; expects drain + final. */
static void check_final_after_data(int family, const RigNetFrameDesc *d,
                                   const char *stats)
{
    g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, TRUE);
    RigNetFrameDesc a = tu_tcp(family, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);

    tu_feed(o, 0, &a);
    tu_feed(o, 1, d);
    expect_drain_final(o, d);
    assert_int_equal(rsc_oracle_get_cached(o, fam_of(family)), 0);
    tu_expect_stats(o, fam_of(family), stats);
}

static void test_pure_ack(void **state)
{
    for (int family = 4; family <= 6; family += 2) {
        RigNetFrameDesc k = tu_tcp(family, 0, TU_SEQ, RIG_TCP_ACK, 0);

        k.ack = TU_ACK + 1;
        check_final_after_data(family, &k,
                               "received=2,cache=1,empty_cache=1,pure_ack=1");
    }
}

static void test_dup_ack(void **state)
{
    for (int family = 4; family <= 6; family += 2) {
        RigNetFrameDesc k = tu_tcp(family, 0, TU_SEQ, RIG_TCP_ACK, 0);
        g_autoptr(RscOracle) q = tu_oracle(RSC_MODE_QEMU, TRUE, TRUE);
        g_autoptr(RscOracle) s = tu_oracle(RSC_MODE_SPEC, TRUE, TRUE);
        TuExpect e[2] = {TU_ANY, TU_ANY};

        /* qemu: a pure ACK cached, the same again finalizes both. */
        tu_feed(q, 0, &k);
        tu_feed(q, 1, &k);
        e[0].cause = RSC_CAUSE_DRAIN;
        e[0].payload = 0;
        e[0].hdr_flags = 0;
        e[0].dup_acks = 0;
        e[1].cause = RSC_CAUSE_FINAL;
        e[1].payload = 0;
        tu_expect_frames(q, 2, e);
        tu_expect_stats(q, fam_of(family),
                        "received=2,cache=1,empty_cache=1,dup_ack=1");

        /* spec: the same (never merged; dup ACKs at the next sequence
         * number: test-rsc-spec.c). */
        tu_feed(s, 0, &k);
        tu_feed(s, 1, &k);
        tu_expect_frames(s, 2, e);
        tu_expect_stats(s, fam_of(family),
                        "received=2,cache=1,empty_cache=1,dup_ack=1");

        /* A retransmission (same seq/ack/window, data) finalizes in both. */
        k.payload_len = TU_MSS;
        check_final_after_data(family, &k,
                               "received=2,cache=1,empty_cache=1,dup_ack=1");
    }
}

static void test_data_after_pure_ack(void **state)
{
    g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, TRUE);
    RigNetFrameDesc k = tu_tcp(4, 0, TU_SEQ, RIG_TCP_ACK, 0);
    RigNetFrameDesc a = tu_tcp(4, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
    TuExpect e = tu_coalesced(RSC_MODE_QEMU, 4);

    tu_feed(o, 0, &k);
    tu_feed(o, 1, &a);
    rsc_oracle_flush(o);
    e.segments = 2;
    e.payload = TU_MSS;
    e.seq = TU_SEQ;
    e.len = RIG_ETH_HLEN + 40 + TU_MSS;
    tu_expect_frames(o, 1, &e);
    tu_expect_stats(o, RSC_FAMILY_IPV4,
                    "received=2,cache=1,empty_cache=1,data_after_pure_ack=1,"
                    "coalesced=1,timer=1");
}

static void test_out_of_order(void **state)
{
    static const guint32 off[] = {2 * TU_MSS, TU_MSS - 1, TU_MSS + 1, 65535};

    for (int family = 4; family <= 6; family += 2) {
        for (gsize i = 0; i < G_N_ELEMENTS(off); i++) {
            RigNetFrameDesc d =
                tu_tcp(family, 0, TU_SEQ + off[i], RIG_TCP_ACK, 100);

            check_final_after_data(family, &d,
                                   "received=2,cache=1,empty_cache=1,"
                                   "data_out_of_order=1");
        }
    }
}

static void test_out_of_window_seq(void **state)
{
    /* Beyond 65535 ahead, or any distance behind (modulo 2^32). */
    static const guint32 off[] = {65536, (guint32)-1, (guint32)-TU_MSS};

    for (int family = 4; family <= 6; family += 2) {
        for (gsize i = 0; i < G_N_ELEMENTS(off); i++) {
            RigNetFrameDesc d =
                tu_tcp(family, 0, TU_SEQ + off[i], RIG_TCP_ACK, 100);

            check_final_after_data(family, &d,
                                   "received=2,cache=1,empty_cache=1,"
                                   "data_out_of_win=1");
        }
    }
}

static void test_out_of_window_ack(void **state)
{
    for (int family = 4; family <= 6; family += 2) {
        RigNetFrameDesc k = tu_tcp(family, 0, TU_SEQ, RIG_TCP_ACK, 0);

        k.ack = TU_ACK + 65535; /* >= 65535: out of window */
        check_final_after_data(family, &k,
                               "received=2,cache=1,empty_cache=1,"
                               "ack_out_of_win=1");
        k.ack = TU_ACK - 1;
        check_final_after_data(family, &k,
                               "received=2,cache=1,empty_cache=1,"
                               "ack_out_of_win=1");
        k.ack = TU_ACK + 65534; /* one less: a plain pure ACK */
        check_final_after_data(family, &k,
                               "received=2,cache=1,empty_cache=1,pure_ack=1");
    }
}

/*
 * IPv4: the merged total length may reach 65515 (65535 minus an IP header:
 * VIRTIO_NET_MAX_IP4_PAYLOAD), IPv6: the payload length may reach 65535.
 * A first segment of 60000 bytes, then one that ends one below, at, and
 * one above the limit.
 */
static void test_oversize_boundary(void **state)
{
    for (int family = 4; family <= 6; family += 2) {
        guint limit_payload = family == 4 ? 65515 - 40 : 65535 - 20;

        for (int delta = -1; delta <= 1; delta++) {
            g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, TRUE);
            guint second = limit_payload - 60000 + (guint)delta;
            RigNetFrameDesc a = tu_tcp(family, 0, TU_SEQ, RIG_TCP_ACK, 60000);
            RigNetFrameDesc b =
                tu_tcp(family, 0, TU_SEQ + 60000, RIG_TCP_ACK, second);

            tu_feed(o, 0, &a);
            tu_feed(o, 1, &b);
            rsc_oracle_flush(o);
            if (delta <= 0) {
                TuExpect e = tu_coalesced(RSC_MODE_QEMU, family);

                e.segments = 2;
                e.payload = 60000 + second;
                tu_expect_frames(o, 1, &e);
                tu_expect_stats(o, fam_of(family),
                                "received=2,cache=1,empty_cache=1,"
                                "coalesced=1,timer=1");
            } else {
                TuExpect e[2] = {TU_ANY, TU_ANY};

                e[0].cause = RSC_CAUSE_DRAIN;
                e[0].payload = 60000;
                e[1].cause = RSC_CAUSE_FINAL;
                e[1].payload = second;
                tu_expect_frames(o, 2, e);
                tu_expect_stats(o, fam_of(family),
                                "received=2,cache=1,empty_cache=1,"
                                "over_size=1,timer=1");
            }
        }
    }
}

/* @n flows, 4 segments each, round robin; then the timer. */
static void check_interleaved(guint n)
{
    g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, TRUE);
    g_autoptr(GPtrArray) out = NULL;
    g_autofree char *stats = NULL;
    guint64 no_match = 0;

    for (guint round = 0; round < 4; round++) {
        for (guint f = 0; f < n; f++) {
            /* flows 0, 100, 200 ... differ by address, the rest by port */
            guint flow = f % 2 ? f : f * 100;
            RigNetFrameDesc s =
                tu_tcp(4, flow, 1000 * f + round * TU_MSS, RIG_TCP_ACK, TU_MSS);

            tu_feed(o, round * 100 + f, &s);
            no_match += f;
        }
    }
    rsc_oracle_flush(o);
    out = rsc_oracle_take_delivered(o);
    assert_int_equal(out->len, n);
    for (guint f = 0; f < n; f++) {
        RscDelivered *d = out->pdata[f];
        RigNetView v = parse_checked(d);

        assert_int_equal(d->cause, RSC_CAUSE_TIMER);
        assert_int_equal(rig_vnet_hdr_rsc_segments(&d->hdr), 4);
        assert_int_equal(v.seq, 1000 * f); /* cache order = flow order */
        assert_int_equal(v.payload_len, 4 * TU_MSS);
    }
    stats = g_strdup_printf("received=%u,cache=%u,empty_cache=1,"
                            "no_match_cache=%u,no_match=%" G_GUINT64_FORMAT
                            ",coalesced=%u,timer=1",
                            4 * n, n, n - 1, no_match, 3 * n);
    tu_expect_stats(o, RSC_FAMILY_IPV4, stats);
}

static void test_two_flows_interleaved(void **state)
{
    check_interleaved(2);
}

static void test_many_flows_interleaved(void **state)
{
    check_interleaved(16);
}

static void test_ipv4_ipv6_side_by_side(void **state)
{
    g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, TRUE);
    TuExpect e[2];

    for (guint i = 0; i < 3; i++) {
        RigNetFrameDesc a =
            tu_tcp(4, 0, TU_SEQ + i * TU_MSS, RIG_TCP_ACK, TU_MSS);
        RigNetFrameDesc b =
            tu_tcp(6, 0, TU_SEQ + i * TU_MSS, RIG_TCP_ACK, TU_MSS);

        tu_feed(o, i * 100, &a);
        tu_feed(o, i * 100 + 50, &b);
    }
    rsc_oracle_flush(o);
    e[0] = tu_coalesced(RSC_MODE_QEMU, 4);
    e[0].t_ns = TU_IV; /* IPv4 chain armed at 0 */
    e[0].segments = 3;
    e[0].payload = 3 * TU_MSS;
    e[1] = tu_coalesced(RSC_MODE_QEMU, 6);
    e[1].t_ns = TU_IV + 50; /* IPv6 chain armed at 50 */
    e[1].segments = 3;
    e[1].payload = 3 * TU_MSS;
    tu_expect_frames(o, 2, e);
    for (int f = 0; f < RSC_FAMILY_COUNT; f++) {
        tu_expect_stats(o, (RscFamily)f,
                        "received=3,cache=1,empty_cache=1,coalesced=2,"
                        "timer=1");
    }
}

static void test_families_disabled(void **state)
{
    for (int on = 0; on < 4; on++) {
        gboolean v4 = on & 1, v6 = (on & 2) != 0;
        g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, v4, v6);
        g_autoptr(GPtrArray) out = NULL;

        for (int family = 4; family <= 6; family += 2) {
            for (guint i = 0; i < 2; i++) {
                RigNetFrameDesc s =
                    tu_tcp(family, 0, TU_SEQ + i * TU_MSS, RIG_TCP_ACK, TU_MSS);
                tu_feed(o, (guint64)family * 10 + i, &s);
            }
        }
        rsc_oracle_flush(o);
        out = rsc_oracle_take_delivered(o);
        assert_int_equal(out->len, (v4 ? 1 : 2) + (v6 ? 1 : 2));
        for (int family = 4; family <= 6; family += 2) {
            gboolean en = family == 4 ? v4 : v6;
            const char *st;

            if (en) {
                st = "received=2,cache=1,empty_cache=1,coalesced=1,timer=1";
            } else if (v4 || v6) {
                /* The other family's RSC on: counted, then normal path. */
                st = "received=2";
            } else {
                st = ""; /* RSC entirely off: QEMU never looks */
            }
            tu_expect_stats(o, fam_of(family), st);
        }
        for (guint i = 0; i < out->len; i++) {
            RscDelivered *d = out->pdata[i];

            if (d->cause == RSC_CAUSE_NORMAL) {
                assert_int_equal(d->hdr.flags, 0);
                assert_int_equal(d->hdr.gso_type, 0);
                assert_int_equal(d->len, RIG_ETH_HLEN + 20 + TU_MSS +
                                             (rig_be16_get(d->frame + 12) ==
                                                      RIG_ETHERTYPE_IPV6
                                                  ? 40
                                                  : 20));
            }
        }
    }
}

/*
 * A pure ACK padded to 60 bytes, then data at the same seq: QEMU appends
 * after the 6 padding bytes (difference 7); spec cuts them first.
 */
static void test_padding_of_first_frame(void **state)
{
    for (int m = RSC_MODE_QEMU; m <= RSC_MODE_SPEC; m++) {
        g_autoptr(RscOracle) o = tu_oracle((RscMode)m, TRUE, FALSE);
        RigNetFrameDesc k = tu_tcp(4, 0, TU_SEQ, RIG_TCP_ACK, 0);
        RigNetFrameDesc a = tu_tcp(4, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
        g_autoptr(RscDelivered) d = NULL;
        RigNetView v;
        gsize pad = RIG_ETH_MIN_FRAME - (RIG_ETH_HLEN + 40);

        k.pad_to_min = true;
        tu_feed(o, 0, &k);
        tu_feed(o, 1, &a);
        rsc_oracle_flush(o);
        d = rsc_oracle_pop_delivered(o);
        assert_non_null(d);
        assert_int_equal(rig_net_parse(d->frame, d->len, 0, &v, NULL), 0);
        assert_int_equal(v.payload_len, TU_MSS);
        if (m == RSC_MODE_QEMU) {
            assert_int_equal(d->len, RIG_ETH_MIN_FRAME + TU_MSS);
            /* The padding sits where the payload should start. */
            assert_int_equal(
                rig_net_pattern_check(d->frame + v.payload_off + pad,
                                      TU_MSS - pad, TU_SEQ),
                -1);
            assert_int_not_equal(
                rig_net_pattern_check(d->frame + v.payload_off, TU_MSS, TU_SEQ),
                -1);
        } else {
            assert_int_equal(d->len, RIG_ETH_HLEN + 40 + TU_MSS);
            assert_int_equal(
                rig_net_pattern_check(d->frame + v.payload_off, TU_MSS, TU_SEQ),
                -1);
        }
    }
}

/* The tap's vnet header: passed through, or partly overwritten (spec
 * mode finalizes offloaded frames: test-rsc-spec.c). */
static void test_vnet_header_from_tap(void **state)
{
    for (int m = RSC_MODE_QEMU; m <= RSC_MODE_QEMU; m++) {
        g_autoptr(RscOracle) o = tu_oracle((RscMode)m, TRUE, TRUE);
        g_autoptr(GPtrArray) out = NULL;
        RigVirtioNetHdrV1 in;
        guint8 buf[2000];
        RigNetFrameDesc u = tu_tcp(4, 0, 0, 0, 100);
        RigNetFrameDesc a = tu_tcp(4, 1, TU_SEQ, RIG_TCP_ACK, TU_MSS);
        RigNetFrameDesc b = tu_tcp(4, 1, TU_SEQ + TU_MSS, RIG_TCP_ACK, TU_MSS);
        RigNetFrameDesc c = tu_tcp(4, 2, TU_SEQ, RIG_TCP_ACK, TU_MSS);
        gsize len;

        assert_int_equal(rig_net_build_vnet_hdr((uint8_t *)&in, sizeof(in),
                                                RIG_VIRTIO_NET_HDR_F_DATA_VALID,
                                                RIG_VIRTIO_NET_HDR_GSO_TCPV4,
                                                54, 1448, 34, 16),
                         RIG_VIRTIO_NET_HDR_V1_LEN);
        rig_le16_set(&in.num_buffers, 7);
        u.protocol = RIG_IPPROTO_UDP;
        len = tu_build(&u, buf);
        assert_true(rsc_oracle_receive(o, 0, &in, buf, len));
        len = tu_build(&a, buf);
        assert_true(rsc_oracle_receive(o, 1, &in, buf, len));
        len = tu_build(&b, buf);
        assert_true(rsc_oracle_receive(o, 2, NULL, buf, len));
        len = tu_build(&c, buf);
        assert_true(rsc_oracle_receive(o, 3, &in, buf, len));
        rsc_oracle_flush(o);
        out = rsc_oracle_take_delivered(o);
        assert_int_equal(out->len, 3);
        {
            /* Bypass: the tap's header as is (num_buffers rewritten). */
            RscDelivered *d = out->pdata[0];
            RigVirtioNetHdrV1 want = in;

            rig_le16_set(&want.num_buffers, 1);
            assert_memory_equal(&d->hdr, &want, sizeof(want));
        }
        {
            /* Coalesced: first frame's header, flags/gso/RSC rewritten. */
            RscDelivered *d = out->pdata[1];

            assert_int_equal(d->hdr.gso_type, RIG_VIRTIO_NET_HDR_GSO_TCPV4);
            assert_int_equal(rig_le16(d->hdr.hdr_len), 54);
            assert_int_equal(rig_le16(d->hdr.gso_size),
                             m == RSC_MODE_QEMU ? 1448 : TU_MSS);
            assert_int_equal(rig_vnet_hdr_rsc_segments(&d->hdr), 2);
            assert_int_equal(rig_vnet_hdr_rsc_dup_acks(&d->hdr), 0);
        }
        {
            /* Single cached frame: flags and gso_type cleared only. */
            RscDelivered *d = out->pdata[2];

            assert_int_equal(d->hdr.flags, 0);
            assert_int_equal(d->hdr.gso_type, 0);
            assert_int_equal(rig_le16(d->hdr.hdr_len), 54);
            assert_int_equal(rig_le16(d->hdr.gso_size), 1448);
            assert_int_equal(rig_le16(d->hdr.csum_start), 34);
            assert_int_equal(rig_le16(d->hdr.csum_offset), 16);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coalesce_in_order),
        cmocka_unit_test(test_coalesce_takes_newest_flags_ack_window),
        cmocka_unit_test(test_window_update),
        cmocka_unit_test(test_ack_at_next_seq_merges),
        cmocka_unit_test(test_pure_ack),
        cmocka_unit_test(test_dup_ack),
        cmocka_unit_test(test_data_after_pure_ack),
        cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_out_of_window_seq),
        cmocka_unit_test(test_out_of_window_ack),
        cmocka_unit_test(test_oversize_boundary),
        cmocka_unit_test(test_two_flows_interleaved),
        cmocka_unit_test(test_many_flows_interleaved),
        cmocka_unit_test(test_ipv4_ipv6_side_by_side),
        cmocka_unit_test(test_families_disabled),
        cmocka_unit_test(test_padding_of_first_frame),
        cmocka_unit_test(test_vnet_header_from_tap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
