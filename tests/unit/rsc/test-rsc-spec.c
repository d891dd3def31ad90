/*
 * Spec mode = what the fixed QEMU build implements
 * (/work/helpers/rsc-decisions.md, qemu-patches/): one test per rule that
 * differs from stock QEMU, each also run in qemu mode where stock's
 * behaviour is the contrast the certification scenarios show.
 */
#include "rsc-test-util.h"

#include <string.h>

#include "net/checksum.h"
#include "net/wire.h"
#include "rsc/fixes.h"

static RscFamily fam_of(int family)
{
    return family == 4 ? RSC_FAMILY_IPV4 : RSC_FAMILY_IPV6;
}

static void feed_hdr(RscOracle *o, guint64 t, const RigVirtioNetHdrV1 *hdr,
                     const RigNetFrameDesc *d)
{
    guint8 buf[RIG_NET_FRAME_MAX];
    gsize len = tu_build(d, buf);

    assert_true(rsc_oracle_receive(o, t, hdr, buf, len));
}

/* Expects a cached 1000-byte unit drained, then @d delivered alone. */
static void expect_drain_final(RscOracle *o, const RigNetFrameDesc *d)
{
    TuExpect e[2] = {TU_ANY, TU_ANY};

    e[0].cause = RSC_CAUSE_DRAIN;
    e[0].seq = TU_SEQ;
    e[0].payload = TU_MSS;
    e[1].cause = RSC_CAUSE_FINAL;
    e[1].seq = d->seq;
    e[1].payload = (gint64)d->payload_len;
    tu_expect_frames(o, 2, e);
}

/* Patch ECE/CWR: they end coalescing (stock masks them out). */
static void test_ece_cwr_finalize(void **state)
{
    static const guint16 flags[] = {RIG_TCP_ECE, RIG_TCP_CWR};

    for (int family = 4; family <= 6; family += 2) {
        for (gsize i = 0; i < G_N_ELEMENTS(flags); i++) {
            g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_SPEC, TRUE, TRUE);
            RigNetFrameDesc a = tu_tcp(family, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
            RigNetFrameDesc b = tu_tcp(family, 0, TU_SEQ + TU_MSS,
                                       RIG_TCP_ACK | flags[i], TU_MSS);

            tu_feed(o, 0, &a);
            tu_feed(o, 1, &b);
            expect_drain_final(o, &b);
            tu_expect_stats(o, fam_of(family),
                            "received=2,cache=1,"
                            "empty_cache=1,tcp_ctrl_drain=1");
        }
    }
}

/* Patch ECN: CE finalizes; a consistent marking coalesces; a change of
 * codepoint starts a new unit (Microsoft: only a change ends coalescing). */
static void test_ecn(void **state)
{
    for (int family = 4; family <= 6; family += 2) {
        g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_SPEC, TRUE, TRUE);
        RigNetFrameDesc a = tu_tcp(family, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
        RigNetFrameDesc b =
            tu_tcp(family, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK, TU_MSS);
        RigNetFrameDesc c =
            tu_tcp(family, 0, TU_SEQ + 2 * TU_MSS, RIG_TCP_ACK, TU_MSS);
        RigNetFrameDesc ce =
            tu_tcp(family, 0, TU_SEQ + 3 * TU_MSS, RIG_TCP_ACK, TU_MSS);
        TuExpect e[3] = {tu_coalesced(RSC_MODE_SPEC, family), TU_ANY, TU_ANY};

        a.tos = b.tos = RIG_ECN_ECT0;
        c.tos = RIG_ECN_NOT; /* a change: resume */
        ce.tos = RIG_ECN_CE; /* congestion experienced: finalize */
        tu_feed(o, 0, &a);
        tu_feed(o, 1, &b);
        tu_feed(o, 2, &c);
        tu_feed(o, 3, &ce);
        e[0].cause = RSC_CAUSE_DRAIN;
        e[0].segments = 2;
        e[0].payload = 2 * TU_MSS;
        e[1].cause = RSC_CAUSE_DRAIN;
        e[1].seq = TU_SEQ + 2 * TU_MSS;
        e[1].payload = TU_MSS;
        e[1].hdr_flags = 0; /* alone: the header it came with */
        e[2].cause = RSC_CAUSE_FINAL;
        e[2].seq = TU_SEQ + 3 * TU_MSS;
        tu_expect_frames(o, 3, e);
        tu_expect_stats(o, fam_of(family),
                        "received=4,cache=2,empty_cache=1,coalesced=1,"
                        "ip_ecn=2");
    }
}

/* Patch dup ACK: never merged into data; a window update at the next
 * sequence number is; a new ACK there ends the unit. */
static void test_dup_ack_at_next_seq(void **state)
{
    for (int family = 4; family <= 6; family += 2) {
        g_autoptr(RscOracle) s = tu_oracle(RSC_MODE_SPEC, TRUE, TRUE);
        g_autoptr(RscOracle) q = tu_oracle(RSC_MODE_QEMU, TRUE, TRUE);
        RigNetFrameDesc a = tu_tcp(family, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
        RigNetFrameDesc k = tu_tcp(family, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK, 0);
        TuExpect qe = tu_coalesced(RSC_MODE_QEMU, family);

        tu_feed(s, 0, &a);
        tu_feed(s, 1, &k);
        expect_drain_final(s, &k);
        tu_expect_stats(s, fam_of(family),
                        "received=2,cache=1,empty_cache=1,dup_ack=1");
        /* Stock merges it as a data segment: 2 "segments", 1000 bytes. */
        tu_feed(q, 0, &a);
        tu_feed(q, 1, &k);
        rsc_oracle_flush(q);
        qe.segments = 2;
        qe.payload = TU_MSS;
        tu_expect_frames(q, 1, &qe);
    }
    {
        g_autoptr(RscOracle) s = tu_oracle(RSC_MODE_SPEC, TRUE, TRUE);
        RigNetFrameDesc a = tu_tcp(4, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
        RigNetFrameDesc w = tu_tcp(4, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK, 0);
        RigNetFrameDesc n = tu_tcp(4, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK, 0);
        TuExpect e[2] = {tu_coalesced(RSC_MODE_SPEC, 4), TU_ANY};

        w.window = TU_WIN + 100;
        n.window = TU_WIN + 100;
        n.ack = TU_ACK + 1;
        tu_feed(s, 0, &a);
        tu_feed(s, 1, &w); /* window update: merged, no segment counted */
        tu_feed(s, 2, &n); /* new ack: finalize */
        e[0].cause = RSC_CAUSE_DRAIN;
        e[0].segments = 1;
        e[0].payload = TU_MSS;
        e[0].dup_acks = 0;
        e[1].cause = RSC_CAUSE_FINAL;
        e[1].payload = 0;
        tu_expect_frames(s, 2, e);
        tu_expect_stats(s, RSC_FAMILY_IPV4,
                        "received=3,cache=1,empty_cache=1,"
                        "win_update=1,pure_ack=1");
    }
}

/* Patch header: NEEDS_CSUM | RSC_INFO, gso_size = largest segment,
 * hdr_len, valid IPv4 header checksum, TCP checksum = pseudo-header sum. */
static void test_coalesced_header(void **state)
{
    for (int family = 4; family <= 6; family += 2) {
        g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_SPEC, TRUE, TRUE);
        RigNetFrameDesc a = tu_tcp(family, 0, TU_SEQ, RIG_TCP_ACK, 500);
        RigNetFrameDesc b = tu_tcp(family, 0, TU_SEQ + 500, RIG_TCP_ACK, 1400);
        RigNetFrameDesc c = tu_tcp(family, 0, TU_SEQ + 1900, RIG_TCP_ACK, 100);
        g_autoptr(RscDelivered) d = NULL;
        gsize iph = family == 4 ? RIG_IPV4_HLEN : RIG_IPV6_HLEN;
        const guint8 *ip, *tcp;
        uint32_t pseudo;

        tu_feed(o, 0, &a);
        tu_feed(o, 1, &b);
        tu_feed(o, 2, &c);
        rsc_oracle_flush(o);
        d = rsc_oracle_pop_delivered(o);
        assert_non_null(d);
        assert_int_equal(d->hdr.flags, RIG_VIRTIO_NET_HDR_F_NEEDS_CSUM |
                                           RIG_VIRTIO_NET_HDR_F_RSC_INFO);
        assert_int_equal(rig_le16(d->hdr.gso_size), 1400);
        assert_int_equal(rig_le16(d->hdr.hdr_len),
                         RIG_ETH_HLEN + iph + RIG_TCP_HLEN);
        assert_int_equal(rig_vnet_hdr_rsc_segments(&d->hdr), 3);
        assert_int_equal(rig_vnet_hdr_rsc_dup_acks(&d->hdr), 0);
        ip = d->frame + RIG_ETH_HLEN;
        tcp = ip + iph;
        if (family == 4) {
            assert_int_equal(rig_csum_finish(rig_csum_add(0, ip, iph)), 0);
            pseudo = rig_csum_ipv4_pseudo(ip + 12, ip + 16, RIG_IPPROTO_TCP,
                                          RIG_TCP_HLEN + 2000);
        } else {
            pseudo = rig_csum_ipv6_pseudo(ip + 8, ip + 24, RIG_IPPROTO_TCP,
                                          RIG_TCP_HLEN + 2000);
        }
        assert_int_equal(rig_be16_get(tcp + 16),
                         (guint16)~rig_csum_finish(pseudo));
    }
}

/* Patch PSH: ORed over the merged segments (stock: the newest only). */
static void test_psh_ored(void **state)
{
    for (int m = RSC_MODE_QEMU; m <= RSC_MODE_SPEC; m++) {
        g_autoptr(RscOracle) o = tu_oracle((RscMode)m, TRUE, TRUE);
        RigNetFrameDesc a =
            tu_tcp(4, 0, TU_SEQ, RIG_TCP_ACK | RIG_TCP_PSH, TU_MSS);
        RigNetFrameDesc b = tu_tcp(4, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK, TU_MSS);
        TuExpect e = tu_coalesced((RscMode)m, 4);

        tu_feed(o, 0, &a);
        tu_feed(o, 1, &b);
        rsc_oracle_flush(o);
        e.segments = 2;
        e.tcp_flags = RIG_TCP_ACK | (m == RSC_MODE_SPEC ? RIG_TCP_PSH : 0);
        tu_expect_frames(o, 1, &e);
    }
}

/* Patch checksum: a bad IPv4 or TCP checksum is not coalesced, unless the
 * backend vouched for it with DATA_VALID. */
static void test_bad_checksum(void **state)
{
    static const unsigned corrupt[] = {RIG_NET_CORRUPT_L4_CSUM,
                                       RIG_NET_CORRUPT_IPV4_CSUM};

    for (gsize i = 0; i < G_N_ELEMENTS(corrupt); i++) {
        for (int family = 4; family <= 6; family += 2) {
            g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_SPEC, TRUE, TRUE);
            g_autoptr(RscOracle) v = tu_oracle(RSC_MODE_SPEC, TRUE, TRUE);
            RigNetFrameDesc a = tu_tcp(family, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
            RigNetFrameDesc b =
                tu_tcp(family, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK, TU_MSS);
            RigVirtioNetHdrV1 valid = {0};
            TuExpect e = tu_coalesced(RSC_MODE_SPEC, family);

            if (family == 6 && corrupt[i] == RIG_NET_CORRUPT_IPV4_CSUM) {
                continue;
            }
            b.corrupt = corrupt[i];
            tu_feed(o, 0, &a);
            tu_feed(o, 1, &b);
            expect_drain_final(o, &b);
            tu_expect_stats(o, fam_of(family),
                            "received=2,cache=1,empty_cache=1");
            valid.flags = RIG_VIRTIO_NET_HDR_F_DATA_VALID;
            feed_hdr(v, 0, &valid, &a);
            feed_hdr(v, 1, &valid, &b);
            rsc_oracle_flush(v);
            e.segments = 2;
            tu_expect_frames(v, 1, &e);
        }
    }
}

/* Patch vnet header: a GSO or partial-checksum frame from the backend
 * finalizes and keeps its header; a lone cached segment keeps its own. */
static void test_vnet_hdr_offload(void **state)
{
    for (int family = 4; family <= 6; family += 2) {
        g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_SPEC, TRUE, TRUE);
        g_autoptr(GPtrArray) out = NULL;
        RigNetFrameDesc a = tu_tcp(family, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
        RigNetFrameDesc b =
            tu_tcp(family, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK, TU_MSS);
        RigVirtioNetHdrV1 csum = {0}, valid = {0};

        csum.flags = RIG_VIRTIO_NET_HDR_F_NEEDS_CSUM;
        rig_le16_set(&csum.csum_start, 34);
        rig_le16_set(&csum.csum_offset, 16);
        valid.flags = RIG_VIRTIO_NET_HDR_F_DATA_VALID;
        feed_hdr(o, 0, &valid, &a);
        feed_hdr(o, 1, &csum, &b);
        out = rsc_oracle_take_delivered(o);
        assert_int_equal(out->len, 2);
        {
            RscDelivered *d = out->pdata[0];

            assert_int_equal(d->cause, RSC_CAUSE_DRAIN);
            assert_int_equal(d->hdr.flags, RIG_VIRTIO_NET_HDR_F_DATA_VALID);
        }
        {
            RscDelivered *d = out->pdata[1];
            RigVirtioNetHdrV1 want = csum;

            rig_le16_set(&want.num_buffers, 1);
            assert_int_equal(d->cause, RSC_CAUSE_FINAL);
            assert_memory_equal(&d->hdr, &want, sizeof(want));
        }
        tu_expect_stats(o, fam_of(family), "received=2,cache=1,empty_cache=1");
    }
}

/* Patch oversize: the segment that does not fit starts the next unit. */
static void test_oversize_resumes(void **state)
{
    g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_SPEC, TRUE, TRUE);
    guint32 seq = TU_SEQ;
    guint n = 0;

    /* 65 segments of 1000 bytes: 65 do not fit one IPv4 unit (65475). */
    for (n = 0; n < 66; n++) {
        RigNetFrameDesc d = tu_tcp(4, 0, seq, RIG_TCP_ACK, TU_MSS);

        tu_feed(o, n, &d);
        seq += TU_MSS;
    }
    rsc_oracle_flush(o);
    {
        TuExpect e[2] = {tu_coalesced(RSC_MODE_SPEC, 4),
                         tu_coalesced(RSC_MODE_SPEC, 4)};

        e[0].cause = RSC_CAUSE_DRAIN;
        e[0].segments = 65;
        e[0].payload = 65 * TU_MSS;
        e[1].cause = RSC_CAUSE_TIMER;
        e[1].seq = TU_SEQ + 65 * TU_MSS;
        e[1].hdr_flags = 0; /* alone: the header it came with */
        e[1].gso_type = 0;
        e[1].segments = 0;
        tu_expect_frames(o, 2, e);
    }
    tu_expect_stats(o, RSC_FAMILY_IPV4,
                    "received=66,cache=2,empty_cache=1,"
                    "coalesced=64,over_size=1,timer=1");
}

/* TCP header length: data offset < 5 or past the IP payload: bypass. */
static void test_bad_tcp_header_length(void **state)
{
    g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_SPEC, TRUE, TRUE);
    RigNetFrameDesc a = tu_tcp(4, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
    guint8 buf[RIG_NET_FRAME_MAX];
    gsize len = tu_build(&a, buf);
    TuExpect e = TU_ANY;

    buf[RIG_ETH_HLEN + RIG_IPV4_HLEN + 12] = 4 << 4; /* 16-byte header */
    assert_true(rsc_oracle_receive(o, 0, NULL, buf, len));
    e.cause = RSC_CAUSE_BYPASS;
    tu_expect_frames(o, 1, &e);
    tu_expect_stats(o, RSC_FAMILY_IPV4, "received=1,ip_hacked=1");
}

static RigNetTcpOption ts_opts(guint32 tsval)
{
    RigNetTcpOption o = {
        .kind = RIG_TCPOPT_TIMESTAMP, .ts_val = tsval, .ts_ecr = 77};
    return o;
}

/* Patch timestamps: NOP NOP TS coalesces with the newest TSval; an older
 * TSval finalizes; a unit with and one without timestamps do not mix. */
static void test_timestamps(void **state)
{
    for (int family = 4; family <= 6; family += 2) {
        g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_SPEC, TRUE, TRUE);
        g_autoptr(RscOracle) q = tu_oracle(RSC_MODE_QEMU, TRUE, TRUE);
        RigNetTcpOption opt[3][3] = {
            {{.kind = RIG_TCPOPT_NOP}, {.kind = RIG_TCPOPT_NOP}, ts_opts(10)},
            {{.kind = RIG_TCPOPT_NOP}, {.kind = RIG_TCPOPT_NOP}, ts_opts(11)},
            {{.kind = RIG_TCPOPT_NOP}, {.kind = RIG_TCPOPT_NOP}, ts_opts(9)},
        };
        RigNetFrameDesc d[4];
        TuExpect e[3] = {tu_coalesced(RSC_MODE_SPEC, family), TU_ANY, TU_ANY};
        g_autoptr(RscDelivered) first = NULL;

        for (guint i = 0; i < 3; i++) {
            d[i] = tu_tcp(family, 0, TU_SEQ + i * TU_MSS, RIG_TCP_ACK, TU_MSS);
            d[i].tcp_options = opt[i];
            d[i].tcp_option_count = 3;
        }
        d[3] = tu_tcp(family, 0, TU_SEQ + 3 * TU_MSS, RIG_TCP_ACK, TU_MSS);
        for (guint i = 0; i < 3; i++) {
            tu_feed(o, i, &d[i]);
            tu_feed(q, i, &d[i]);
        }
        e[0].cause = RSC_CAUSE_DRAIN;
        e[0].segments = 2;
        e[0].payload = 2 * TU_MSS;
        e[1].cause = RSC_CAUSE_FINAL; /* TSval 9 < 11: ts_not_newer */
        e[1].seq = TU_SEQ + 2 * TU_MSS;
        tu_expect_frames(o, 2, e);
        /* Stock: any option finalizes, nothing is ever coalesced. */
        assert_int_equal(rsc_oracle_get_stats(q, fam_of(family))->coalesced, 0);
        assert_int_equal(rsc_oracle_get_stats(q, fam_of(family))->tcp_all_opt,
                         3);
        /* With timestamps cached, one without: a new unit (ts_mismatch). */
        tu_feed(o, 3, &d[1]);
        d[3].seq = TU_SEQ + 2 * TU_MSS;
        tu_feed(o, 4, &d[3]);
        first = rsc_oracle_pop_delivered(o);
        assert_non_null(first);
        assert_int_equal(first->cause, RSC_CAUSE_DRAIN);
        assert_int_equal(rsc_oracle_get_cached(o, fam_of(family)), 1);
        tu_expect_stats(o, fam_of(family),
                        "received=5,cache=3,empty_cache=2,coalesced=1,"
                        "tcp_option=4");
    }
}

/* Patch ring full: the unit the guest has no buffer for is kept and
 * delivered when buffers come, before anything read meanwhile. */
static void test_ring_full_keeps_unit(void **state)
{
    for (int m = RSC_MODE_QEMU; m <= RSC_MODE_SPEC; m++) {
        g_autoptr(RscOracle) o = tu_oracle((RscMode)m, TRUE, TRUE);
        RigNetFrameDesc a = tu_tcp(4, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
        RigNetFrameDesc b = tu_tcp(4, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK, TU_MSS);
        RigNetFrameDesc f =
            tu_tcp(4, 0, TU_SEQ + 2 * TU_MSS, RIG_TCP_ACK | RIG_TCP_FIN, 0);
        guint64 lost = 0;

        tu_feed(o, 0, &a);
        tu_feed(o, 1, &b);
        rsc_oracle_set_rx_buffers(o, 2, 0);
        rsc_oracle_advance(o, TU_IV + 10); /* the timer finds no buffer */
        tu_feed(o, TU_IV + 20, &f);
        rsc_oracle_get_lost(o, &lost, NULL);
        if (m == RSC_MODE_QEMU) {
            assert_int_equal(lost, 1);
            tu_expect_stats(o, RSC_FAMILY_IPV4,
                            "received=3,cache=1,empty_cache=1,coalesced=1,"
                            "timer=1,purge_failed=1,tcp_ctrl_drain=1");
            continue;
        }
        assert_int_equal(lost, 0);
        assert_int_equal(rsc_oracle_get_cached(o, RSC_FAMILY_IPV4), 1);
        assert_int_equal(rsc_oracle_get_backlog(o), 1);
        rsc_oracle_post_rx_buffers(o, TU_IV + 30, 8);
        {
            TuExpect e[2] = {tu_coalesced(RSC_MODE_SPEC, 4), TU_ANY};

            e[0].cause = RSC_CAUSE_DEFERRED;
            e[0].segments = 2;
            e[0].payload = 2 * TU_MSS;
            e[1].cause = RSC_CAUSE_FINAL;
            e[1].seq = TU_SEQ + 2 * TU_MSS;
            tu_expect_frames(o, 2, e);
        }
        tu_expect_stats(o, RSC_FAMILY_IPV4,
                        "received=3,cache=1,empty_cache=1,coalesced=1,"
                        "timer=1,tcp_ctrl_drain=1");
    }
}

/* Patch fragments: DF with MF or an offset is bypassed as a fragment. */
static void test_df_fragment_bypassed(void **state)
{
    for (int m = RSC_MODE_QEMU; m <= RSC_MODE_SPEC; m++) {
        g_autoptr(RscOracle) o = tu_oracle((RscMode)m, TRUE, TRUE);
        RigNetFrameDesc a = tu_tcp(4, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
        RigNetFrameDesc f = tu_tcp(4, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK, TU_MSS);

        f.mf = true;
        tu_feed(o, 0, &a);
        tu_feed(o, 1, &f);
        rsc_oracle_flush(o);
        if (m == RSC_MODE_QEMU) {
            /* Stock: merged like any segment. */
            tu_expect_stats(o, RSC_FAMILY_IPV4,
                            "received=2,cache=1,"
                            "empty_cache=1,coalesced=1,"
                            "timer=1");
        } else {
            tu_expect_stats(o, RSC_FAMILY_IPV4,
                            "received=2,cache=1,empty_cache=1,ip_frag=1,"
                            "timer=1");
        }
    }
}

/* Patch retransmission: data at the unit's first byte finalizes (stock
 * takes it for a window update and drops its data). */
static void test_retransmission_with_new_window(void **state)
{
    for (int m = RSC_MODE_QEMU; m <= RSC_MODE_SPEC; m++) {
        g_autoptr(RscOracle) o = tu_oracle((RscMode)m, TRUE, TRUE);
        RigNetFrameDesc a = tu_tcp(4, 0, TU_SEQ, RIG_TCP_ACK, 700);
        RigNetFrameDesc r = tu_tcp(4, 0, TU_SEQ, RIG_TCP_ACK, 1400);

        r.window = TU_WIN + 10;
        tu_feed(o, 0, &a);
        tu_feed(o, 1, &r);
        rsc_oracle_flush(o);
        if (m == RSC_MODE_QEMU) {
            TuExpect e = tu_coalesced(RSC_MODE_QEMU, 4);

            e.payload = 700; /* the 1400 bytes are gone */
            e.segments = 1;
            tu_expect_frames(o, 1, &e);
        } else {
            TuExpect e[2] = {TU_ANY, TU_ANY};

            e[0].cause = RSC_CAUSE_DRAIN;
            e[0].payload = 700;
            e[1].cause = RSC_CAUSE_FINAL;
            e[1].payload = 1400;
            tu_expect_frames(o, 2, e);
            tu_expect_stats(o, RSC_FAMILY_IPV4,
                            "received=2,cache=1,"
                            "empty_cache=1,timer=1,"
                            "data_out_of_order=1");
        }
    }
}

/* Patch flush: turning RSC off delivers the cached units at once; stock
 * keeps them until its timer, after frames that arrive meanwhile. */
static void test_rsc_off_flushes(void **state)
{
    for (int m = RSC_MODE_QEMU; m <= RSC_MODE_SPEC; m++) {
        g_autoptr(RscOracle) o = tu_oracle((RscMode)m, TRUE, TRUE);
        RigNetFrameDesc a = tu_tcp(4, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
        RigNetFrameDesc b = tu_tcp(4, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK, TU_MSS);
        RigNetFrameDesc c =
            tu_tcp(4, 0, TU_SEQ + 2 * TU_MSS, RIG_TCP_ACK, TU_MSS);
        TuExpect e[2] = {tu_coalesced((RscMode)m, 4), TU_ANY};

        tu_feed(o, 0, &a);
        tu_feed(o, 1, &b);
        rsc_oracle_set_rsc(o, 2, FALSE, FALSE);
        tu_feed(o, 3, &c);
        rsc_oracle_flush(o);
        e[0].segments = 2;
        e[0].seq = TU_SEQ;
        e[1].cause = RSC_CAUSE_NORMAL;
        e[1].seq = TU_SEQ + 2 * TU_MSS;
        if (m == RSC_MODE_QEMU) {
            /* The timer delivers the unit after the newer segment. */
            TuExpect late[2] = {e[1], e[0]};

            late[1].cause = RSC_CAUSE_TIMER;
            tu_expect_frames(o, 2, late);
        } else {
            e[0].cause = RSC_CAUSE_DRAIN;
            e[0].t_ns = 2;
            tu_expect_frames(o, 2, e);
        }
    }
}

/* A fixed build bisected at one patch: only that rule differs. */
static void test_partial_fix_set(void **state)
{
    RscOracleConfig cfg = {.mode = RSC_MODE_SPEC,
                           .fixes = RSC_FIX_ECE_CWR,
                           .interval_ns = TU_IV,
                           .ipv4_enabled = TRUE,
                           .ipv6_enabled = TRUE};
    g_autoptr(RscOracle) o = rsc_oracle_new(&cfg);
    RigNetFrameDesc a = tu_tcp(4, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
    RigNetFrameDesc b = tu_tcp(4, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK, TU_MSS);
    RigNetFrameDesc e =
        tu_tcp(4, 0, TU_SEQ + 2 * TU_MSS, RIG_TCP_ACK | RIG_TCP_ECE, TU_MSS);
    TuExpect x[2] = {tu_coalesced(RSC_MODE_QEMU, 4), TU_ANY};
    g_autofree char *names = rsc_fixes_describe(RSC_FIX_ECE_CWR | RSC_FIX_PSH);

    tu_feed(o, 0, &a);
    tu_feed(o, 1, &b);
    tu_feed(o, 2, &e);
    x[0].cause = RSC_CAUSE_DRAIN;
    x[0].segments = 2; /* stock's header: flags 4, no gso_size */
    x[0].gso_size = 0;
    x[1].cause = RSC_CAUSE_FINAL;
    tu_expect_frames(o, 2, x);
    assert_string_equal(names, "ece-cwr psh");
}

/* Patch files of the series map to their rules (rig/rsc/fixes.c). */
static void test_fixes_for_patches(void **state)
{
    static const char *const series[] = {
        "0003-hw-net-virtio-net-End-RSC-coalescing-on-the-ECE-and-.patch",
        "0010-hw-net-virtio-net-Keep-RSC-data-that-finds-no-receiv.patch",
        "0011-hw-net-virtio-net-Flush-RSC-data-on-reset-and-on-eve.patch",
        "0012-hw-net-virtio-net-Make-rsc_interval-settable-on-a-ru.patch",
        "0099-hw-net-virtio-net-Something-new.patch",
        NULL,
    };
    g_autofree char *unknown = NULL;
    guint f = rsc_fixes_for_series(series, &unknown);

    assert_int_equal(f, RSC_FIX_ECE_CWR | RSC_FIX_RING_FULL | RSC_FIX_FLUSH);
    assert_string_equal(unknown, series[4]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ece_cwr_finalize),
        cmocka_unit_test(test_ecn),
        cmocka_unit_test(test_dup_ack_at_next_seq),
        cmocka_unit_test(test_coalesced_header),
        cmocka_unit_test(test_psh_ored),
        cmocka_unit_test(test_bad_checksum),
        cmocka_unit_test(test_vnet_hdr_offload),
        cmocka_unit_test(test_oversize_resumes),
        cmocka_unit_test(test_bad_tcp_header_length),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_ring_full_keeps_unit),
        cmocka_unit_test(test_df_fragment_bypassed),
        cmocka_unit_test(test_retransmission_with_new_window),
        cmocka_unit_test(test_partial_fix_set),
        cmocka_unit_test(test_rsc_off_flushes),
        cmocka_unit_test(test_fixes_for_patches),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
