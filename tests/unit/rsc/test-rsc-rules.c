/*
 * Bypass and finalize rules of the oracle, one test per rule.
 *
 * Bypass (virtio_net_rsc_sanity_check4/6, tcp_ctrl_check SYN): the frame
 * is delivered untouched and the flow's cached segment STAYS cached, so
 * each bypass test first caches a segment of the same flow and checks it
 * is still there.  Finalize (FIN/URG/RST, TCP options, and in
 * test-rsc-coalesce.c the ACK/sequence rules): the flow's cached segment
 * is delivered first, then the frame.
 */
#include "rsc-test-util.h"

#include <string.h>

#include "net/wire.h"

static RscFamily fam_of(int family)
{
    return family == 4 ? RSC_FAMILY_IPV4 : RSC_FAMILY_IPV6;
}

/*
 * Caches one 1000-byte segment of flow 0 at t=0, feeds @d at t=10,
 * expects exactly @d back as a bypass, the segment still cached, and the
 * chain's counters to read @stats.
 */
static void check_bypass(RscMode mode, int family, const RigNetFrameDesc *d,
                         const char *stats)
{
    g_autoptr(RscOracle) o = tu_oracle(mode, TRUE, TRUE);
    RigNetFrameDesc seg = tu_tcp(family, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
    TuExpect e = TU_ANY;

    tu_feed(o, 0, &seg);
    tu_feed(o, 10, d);
    e.cause = RSC_CAUSE_BYPASS;
    e.t_ns = 10;
    e.hdr_flags = 0;
    e.gso_type = 0;
    e.segments = 0;
    tu_expect_frames(o, 1, &e);
    assert_int_equal(rsc_oracle_get_cached(o, fam_of(family)), 1);
    tu_expect_stats(o, fam_of(family), stats);
}

static void test_bypass_not_ip(void **state)
{
    g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, TRUE);
    guint8 arp[60] = {0};
    TuExpect e = TU_ANY;

    rig_be16_put(arp + 12, RIG_ETHERTYPE_ARP);
    assert_true(rsc_oracle_receive(o, 5, NULL, arp, sizeof(arp)));
    e.cause = RSC_CAUSE_NORMAL;
    e.len = sizeof(arp);
    tu_expect_frames(o, 1, &e);
    tu_expect_stats(o, RSC_FAMILY_IPV4, "");
    tu_expect_stats(o, RSC_FAMILY_IPV6, "");
}

/* QEMU's virtio_net_rsc_receive() finds no chain for an ethertype other
 * than IPv4/IPv6: the frame goes to the guest at once, byte for byte, and
 * neither chain's cached segments nor counters move. */
static void test_bypass_not_ip_keeps_cache(void **state)
{
    g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, TRUE);
    RigNetFrameDesc seg4 = tu_tcp(4, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
    RigNetFrameDesc seg6 = tu_tcp(6, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
    guint8 arp[60] = {0};
    g_autoptr(RscDelivered) d = NULL;

    tu_feed(o, 0, &seg4);
    tu_feed(o, 0, &seg6);
    memset(arp, 0xff, 6);
    rig_be16_put(arp + 12, RIG_ETHERTYPE_ARP);
    for (gsize i = 14; i < 42; i++) {
        arp[i] = (guint8)i;
    }
    assert_true(rsc_oracle_receive(o, 10, NULL, arp, sizeof(arp)));
    d = rsc_oracle_pop_delivered(o);
    assert_non_null(d);
    assert_null(rsc_oracle_pop_delivered(o));
    assert_int_equal(d->cause, RSC_CAUSE_NORMAL);
    assert_int_equal(d->family, -1);
    assert_int_equal(d->t_ns, 10);
    assert_int_equal(d->hdr.flags, 0);
    assert_int_equal(d->hdr.gso_type, 0);
    assert_int_equal(d->len, sizeof(arp));
    assert_memory_equal(d->frame, arp, sizeof(arp));
    assert_int_equal(rsc_oracle_get_cached(o, RSC_FAMILY_IPV4), 1);
    assert_int_equal(rsc_oracle_get_cached(o, RSC_FAMILY_IPV6), 1);
    tu_expect_stats(o, RSC_FAMILY_IPV4, "received=1,cache=1,empty_cache=1");
    tu_expect_stats(o, RSC_FAMILY_IPV6, "received=1,cache=1,empty_cache=1");
}

static void test_bypass_not_tcp(void **state)
{
    for (int family = 4; family <= 6; family += 2) {
        RigNetFrameDesc d = tu_tcp(family, 0, 0, 0, 100);

        d.protocol = RIG_IPPROTO_UDP;
        check_bypass(RSC_MODE_QEMU, family, &d,
                     "received=2,cache=1,empty_cache=1,bypass_not_tcp=1");
    }
}

static void test_bypass_ipv4_options(void **state)
{
    static const uint8_t ra[4] = {RIG_IPOPT_RA, 4, 0, 0};
    RigNetFrameDesc d = tu_tcp(4, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK, TU_MSS);

    d.ipv4_options = ra;
    d.ipv4_options_len = sizeof(ra);
    check_bypass(RSC_MODE_QEMU, 4, &d,
                 "received=2,cache=1,empty_cache=1,ip_option=1");
}

static void test_bypass_ipv4_version(void **state)
{
    g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, TRUE);
    RigNetFrameDesc d = tu_tcp(4, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
    guint8 buf[2000];
    gsize len = tu_build(&d, buf);
    TuExpect e = TU_ANY;

    /* An IPv4 ethertype with version 5: QEMU counts it as an option. */
    buf[RIG_ETH_HLEN] = 0x55;
    assert_true(rsc_oracle_receive(o, 0, NULL, buf, len));
    e.cause = RSC_CAUSE_BYPASS;
    tu_expect_frames(o, 1, &e);
    tu_expect_stats(o, RSC_FAMILY_IPV4, "received=1,ip_option=1");
}

static void test_bypass_ipv4_no_df(void **state)
{
    RigNetFrameDesc d = tu_tcp(4, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK, TU_MSS);

    /* Not a fragment at all, but without DF QEMU calls it one. */
    d.df = false;
    check_bypass(RSC_MODE_QEMU, 4, &d,
                 "received=2,cache=1,empty_cache=1,ip_frag=1");
    /* A real fragment with DF set passes QEMU's test: it is coalesced. */
    {
        g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, FALSE);
        RigNetFrameDesc a = tu_tcp(4, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
        RigNetFrameDesc b = tu_tcp(4, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK, TU_MSS);
        TuExpect e = tu_coalesced(RSC_MODE_QEMU, 4);

        b.mf = true;
        tu_feed(o, 0, &a);
        tu_feed(o, 1, &b);
        rsc_oracle_flush(o);
        e.segments = 2;
        e.payload = 2 * TU_MSS;
        tu_expect_frames(o, 1, &e);
    }
}

/* QEMU bypasses any ECN codepoint; spec mode: test-rsc-spec.c. */
static void test_bypass_ipv4_ecn(void **state)
{
    RigNetFrameDesc d = tu_tcp(4, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK, 10);

    d.tos = RIG_ECN_ECT0;
    check_bypass(RSC_MODE_QEMU, 4, &d,
                 "received=2,cache=1,empty_cache=1,ip_ecn=1");
    d.tos = RIG_ECN_CE;
    check_bypass(RSC_MODE_QEMU, 4, &d,
                 "received=2,cache=1,empty_cache=1,ip_ecn=1");
}

/* QEMU reads IPv6 "ECN" from the wrong bits: see oracle.h, difference 6. */
static void test_bypass_ipv6_ecn(void **state)
{
    RigNetFrameDesc d = tu_tcp(6, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK, 10);
    const char *bypassed = "received=2,cache=1,empty_cache=1,ip_ecn=1";

    d.tos = RIG_ECN_CE; /* real ECN: QEMU does not see it */
    {
        g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, FALSE, TRUE);
        RigNetFrameDesc a = tu_tcp(6, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);

        tu_feed(o, 0, &a);
        tu_feed(o, 1, &d);
        tu_expect_frames(o, 0, NULL);
        tu_expect_stats(o, RSC_FAMILY_IPV6,
                        "received=2,cache=1,empty_cache=1,coalesced=1");
    }
    d.tos = 0x0c; /* DSCP bits that QEMU takes for ECN */
    check_bypass(RSC_MODE_QEMU, 6, &d, bypassed);
}

static void test_bypass_ipv6_ext_header(void **state)
{
    RigNetIpv6Ext hbh = {.type = RIG_IPPROTO_HOPOPTS};
    RigNetFrameDesc d = tu_tcp(6, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK, TU_MSS);

    d.ipv6_ext = &hbh;
    d.ipv6_ext_count = 1;
    check_bypass(RSC_MODE_QEMU, 6, &d,
                 "received=2,cache=1,empty_cache=1,bypass_not_tcp=1");
}

static void test_bypass_ip_hacked(void **state)
{
    for (int family = 4; family <= 6; family += 2) {
        RigNetFrameDesc d =
            tu_tcp(family, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK, TU_MSS);
        guint hdrs = family == 4 ? 40 : 20; /* what the IP length counts */
        const char *st = "received=2,cache=1,empty_cache=1,ip_hacked=1";

        d.corrupt = RIG_NET_CORRUPT_IP_LEN;
        d.ip_len_value = (uint16_t)(hdrs + TU_MSS + 1); /* beyond frame */
        check_bypass(RSC_MODE_QEMU, family, &d, st);
        d.ip_len_value = (uint16_t)(hdrs - 1); /* below IP+TCP headers */
        check_bypass(RSC_MODE_QEMU, family, &d, st);
    }
}

static void test_bypass_short_frames(void **state)
{
    g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, TRUE);
    guint8 buf[200] = {0};
    TuExpect e[3] = {TU_ANY, TU_ANY, TU_ANY};

    /* Shorter than Ethernet: no chain, nothing counted. */
    assert_true(rsc_oracle_receive(o, 0, NULL, buf, 13));
    /* IPv4 ethertype, 53 bytes: counted as not TCP (receive4). */
    rig_be16_put(buf + 12, RIG_ETHERTYPE_IPV4);
    assert_true(rsc_oracle_receive(o, 0, NULL, buf, 53));
    /* IPv6 ethertype, 73 bytes: only "received" (receive6). */
    rig_be16_put(buf + 12, RIG_ETHERTYPE_IPV6);
    assert_true(rsc_oracle_receive(o, 0, NULL, buf, 73));
    e[0].cause = RSC_CAUSE_NORMAL;
    e[0].len = 13;
    e[1].cause = RSC_CAUSE_BYPASS;
    e[1].len = 53;
    e[2].cause = RSC_CAUSE_BYPASS;
    e[2].len = 73;
    tu_expect_frames(o, 3, e);
    tu_expect_stats(o, RSC_FAMILY_IPV4, "received=1,bypass_not_tcp=1");
    tu_expect_stats(o, RSC_FAMILY_IPV6, "received=1");
}

static void test_bypass_syn(void **state)
{
    for (int family = 4; family <= 6; family += 2) {
        RigNetFrameDesc d =
            tu_tcp(family, 0, TU_SEQ, RIG_TCP_SYN | RIG_TCP_ACK, 0);

        check_bypass(RSC_MODE_QEMU, family, &d,
                     "received=2,cache=1,empty_cache=1,tcp_syn=1");
        /* SYN wins over FIN/RST: bypass, not finalize. */
        d.tcp_flags |= RIG_TCP_FIN;
        check_bypass(RSC_MODE_QEMU, family, &d,
                     "received=2,cache=1,empty_cache=1,tcp_syn=1");
    }
}

/*
 * Caches 1000 bytes of flow 0 and 1000 bytes of flow 1, then @d (flow 0):
 * flow 0's segment must come out first, then @d; flow 1 stays cached.
 */
static void check_finalize(RscMode mode, int family, const RigNetFrameDesc *d,
                           const char *stats)
{
    g_autoptr(RscOracle) o = tu_oracle(mode, TRUE, TRUE);
    RigNetFrameDesc seg = tu_tcp(family, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
    RigNetFrameDesc other = tu_tcp(family, 1, 7, RIG_TCP_ACK, TU_MSS);
    TuExpect e[2] = {TU_ANY, TU_ANY};

    tu_feed(o, 0, &seg);
    tu_feed(o, 5, &other);
    tu_feed(o, 10, d);
    e[0].cause = RSC_CAUSE_DRAIN;
    e[0].t_ns = 10;
    e[0].seq = TU_SEQ;
    e[0].payload = TU_MSS;
    e[0].hdr_flags = 0; /* a single cached segment: no RSC_INFO */
    e[0].gso_type = 0;
    e[1].cause = RSC_CAUSE_FINAL;
    e[1].t_ns = 10;
    e[1].seq = d->seq;
    e[1].payload = (gint64)d->payload_len;
    e[1].tcp_flags = d->tcp_flags;
    e[1].hdr_flags = 0;
    tu_expect_frames(o, 2, e);
    assert_int_equal(rsc_oracle_get_cached(o, fam_of(family)), 1);
    tu_expect_stats(o, fam_of(family), stats);
}

static void test_finalize_fin_urg_rst(void **state)
{
    static const guint16 flags[] = {RIG_TCP_FIN, RIG_TCP_URG, RIG_TCP_RST};

    for (int family = 4; family <= 6; family += 2) {
        for (gsize i = 0; i < G_N_ELEMENTS(flags); i++) {
            RigNetFrameDesc d =
                tu_tcp(family, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK | flags[i], 100);

            check_finalize(RSC_MODE_QEMU, family, &d,
                           "received=3,cache=2,empty_cache=1,"
                           "no_match_cache=1,no_match=1,tcp_ctrl_drain=1");
        }
    }
}

/* QEMU masks ECE/CWR away (difference 5): they coalesce, spec finalizes. */
static void test_finalize_ece_cwr(void **state)
{
    static const guint16 flags[] = {RIG_TCP_ECE, RIG_TCP_CWR};

    for (int family = 4; family <= 6; family += 2) {
        for (gsize i = 0; i < G_N_ELEMENTS(flags); i++) {
            RigNetFrameDesc d =
                tu_tcp(family, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK | flags[i], 100);
            RigNetFrameDesc seg =
                tu_tcp(family, 0, TU_SEQ, RIG_TCP_ACK, TU_MSS);
            g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, TRUE);
            TuExpect e = tu_coalesced(RSC_MODE_QEMU, family);

            check_finalize(RSC_MODE_SPEC, family, &d,
                           "received=3,cache=2,empty_cache=1,"
                           "no_match_cache=1,no_match=1,tcp_ctrl_drain=1");
            tu_feed(o, 0, &seg);
            tu_feed(o, 1, &d);
            rsc_oracle_flush(o);
            e.segments = 2;
            e.payload = TU_MSS + 100;
            e.tcp_flags = RIG_TCP_ACK | flags[i]; /* carried over */
            tu_expect_frames(o, 1, &e);
            tu_expect_stats(o, fam_of(family),
                            "received=2,cache=1,empty_cache=1,coalesced=1,"
                            "timer=1");
        }
    }
}

static void test_finalize_tcp_options(void **state)
{
    RigNetTcpOption ts[2] = {
        {.kind = RIG_TCPOPT_NOP},
        {.kind = RIG_TCPOPT_TIMESTAMP, .ts_val = 1, .ts_ecr = 2},
    };

    for (int family = 4; family <= 6; family += 2) {
        RigNetFrameDesc d =
            tu_tcp(family, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK, TU_MSS);

        d.tcp_options = ts;
        d.tcp_option_count = 2;
        check_finalize(RSC_MODE_QEMU, family, &d,
                       "received=3,cache=2,empty_cache=1,"
                       "no_match_cache=1,no_match=1,tcp_all_opt=1");
    }
}

static void test_finalize_without_cached_segment(void **state)
{
    g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, TRUE);
    RigNetFrameDesc d = tu_tcp(4, 0, TU_SEQ, RIG_TCP_ACK | RIG_TCP_FIN, 0);
    TuExpect e = TU_ANY;

    tu_feed(o, 0, &d);
    e.cause = RSC_CAUSE_FINAL;
    e.tcp_flags = RIG_TCP_ACK | RIG_TCP_FIN;
    tu_expect_frames(o, 1, &e);
    tu_expect_stats(o, RSC_FAMILY_IPV4, "received=1,tcp_ctrl_drain=1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bypass_not_ip),
        cmocka_unit_test(test_bypass_not_ip_keeps_cache),
        cmocka_unit_test(test_bypass_not_tcp),
        cmocka_unit_test(test_bypass_ipv4_options),
        cmocka_unit_test(test_bypass_ipv4_version),
        cmocka_unit_test(test_bypass_ipv4_no_df),
        cmocka_unit_test(test_bypass_ipv4_ecn),
        cmocka_unit_test(test_bypass_ipv6_ecn),
        cmocka_unit_test(test_bypass_ipv6_ext_header),
        cmocka_unit_test(test_bypass_ip_hacked),
        cmocka_unit_test(test_bypass_short_frames),
        cmocka_unit_test(test_bypass_syn),
        cmocka_unit_test(test_finalize_fin_urg_rst),
        cmocka_unit_test(test_finalize_ece_cwr),
        cmocka_unit_test(test_finalize_tcp_options),
        cmocka_unit_test(test_finalize_without_cached_segment),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
