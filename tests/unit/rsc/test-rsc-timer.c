/*
 * Drain timer and guest RX buffers: when the timer is armed and fires
 * relative to frames (deadline <= arrival fires first), what a second flow
 * or an emptied chain does to it, and what is lost or held back when the
 * guest has no RX buffer (purge_failed, drain_failed, final_failed, the
 * backlog replay).  Also the counter name table.
 */
#include "rsc-test-util.h"

#include <string.h>

#include "net/wire.h"

static RigNetFrameDesc seg(guint flow, guint i)
{
    return tu_tcp(4, flow, TU_SEQ + i * TU_MSS, RIG_TCP_ACK, TU_MSS);
}

/* A segment at t0 + IV - 1 merges; one at t0 + IV (or later) does not. */
static void test_timer_boundary(void **state)
{
    static const gint64 delta[] = {-1, 0, 1};

    for (gsize k = 0; k < G_N_ELEMENTS(delta); k++) {
        g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, FALSE);
        guint64 t0 = 1000;
        guint64 t1 = t0 + TU_IV + (guint64)delta[k];
        RigNetFrameDesc a = seg(0, 0), b = seg(0, 1);

        tu_feed(o, t0, &a);
        tu_feed(o, t1, &b);
        rsc_oracle_flush(o);
        if (delta[k] < 0) {
            TuExpect e = tu_coalesced(RSC_MODE_QEMU, 4);

            e.t_ns = t0 + TU_IV;
            e.segments = 2;
            e.payload = 2 * TU_MSS;
            tu_expect_frames(o, 1, &e);
            tu_expect_stats(o, RSC_FAMILY_IPV4,
                            "received=2,cache=1,empty_cache=1,coalesced=1,"
                            "timer=1");
        } else {
            TuExpect e[2] = {TU_ANY, TU_ANY};

            e[0].cause = RSC_CAUSE_TIMER;
            e[0].t_ns = t0 + TU_IV;
            e[0].seq = TU_SEQ;
            e[0].hdr_flags = 0;
            e[1].cause = RSC_CAUSE_TIMER;
            e[1].t_ns = t1 + TU_IV;
            e[1].seq = TU_SEQ + TU_MSS;
            tu_expect_frames(o, 2, e);
            tu_expect_stats(o, RSC_FAMILY_IPV4,
                            "received=2,cache=2,empty_cache=2,timer=2");
        }
    }
}

/* Advancing the clock alone fires the timer; nothing before the deadline. */
static void test_timer_advance(void **state)
{
    g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, FALSE);
    RigNetFrameDesc a = seg(0, 0);
    TuExpect e = TU_ANY;

    tu_feed(o, 0, &a);
    rsc_oracle_advance(o, TU_IV - 1);
    tu_expect_frames(o, 0, NULL);
    assert_int_equal(rsc_oracle_get_cached(o, RSC_FAMILY_IPV4), 1);
    rsc_oracle_advance(o, TU_IV);
    e.cause = RSC_CAUSE_TIMER;
    e.t_ns = TU_IV;
    tu_expect_frames(o, 1, &e);
    assert_int_equal(rsc_oracle_get_now(o), TU_IV);
    /* Not re-armed: the chain is empty after a purge. */
    rsc_oracle_advance(o, 10 * TU_IV);
    tu_expect_stats(o, RSC_FAMILY_IPV4,
                    "received=1,cache=1,empty_cache=1,"
                    "timer=1");
    /* Time never goes back. */
    assert_false(rsc_oracle_receive(o, TU_IV, NULL, (const guint8 *)"", 0));
}

/* Caching a second flow does not push the deadline. */
static void test_timer_second_flow_keeps_deadline(void **state)
{
    g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, FALSE);
    RigNetFrameDesc a = seg(0, 0), b = seg(1, 0);
    TuExpect e[2] = {TU_ANY, TU_ANY};

    tu_feed(o, 0, &a);
    tu_feed(o, TU_IV / 2, &b);
    rsc_oracle_flush(o);
    for (int i = 0; i < 2; i++) {
        e[i].cause = RSC_CAUSE_TIMER;
        e[i].t_ns = TU_IV;
    }
    tu_expect_frames(o, 2, e);
}

/*
 * A finalize empties the chain but leaves the timer armed: it still fires
 * (timer + 1, nothing delivered) unless a new first segment re-arms it.
 */
static void test_timer_after_chain_emptied(void **state)
{
    g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, FALSE);
    RigNetFrameDesc a = seg(0, 0);
    RigNetFrameDesc fin =
        tu_tcp(4, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK | RIG_TCP_FIN, 0);
    RigNetFrameDesc b = seg(2, 0);
    TuExpect e = TU_ANY;

    tu_feed(o, 0, &a);
    tu_feed(o, 10, &fin);
    tu_expect_frames(o, 2, (TuExpect[]){TU_ANY, TU_ANY});
    rsc_oracle_advance(o, TU_IV);
    tu_expect_frames(o, 0, NULL);
    tu_expect_stats(o, RSC_FAMILY_IPV4,
                    "received=2,cache=1,empty_cache=1,"
                    "tcp_ctrl_drain=1,timer=1");

    /* Emptied again, then re-armed by a new first segment at 2 IV + 20. */
    tu_feed(o, 2 * TU_IV, &a);
    fin.seq = TU_SEQ + TU_MSS;
    tu_feed(o, 2 * TU_IV + 10, &fin);
    tu_feed(o, 2 * TU_IV + 20, &b);
    tu_expect_frames(o, 2, (TuExpect[]){TU_ANY, TU_ANY});
    rsc_oracle_advance(o, 3 * TU_IV);
    tu_expect_frames(o, 0, NULL);
    rsc_oracle_advance(o, 3 * TU_IV + 20);
    e.cause = RSC_CAUSE_TIMER;
    e.t_ns = 3 * TU_IV + 20;
    tu_expect_frames(o, 1, &e);
}

/*
 * The starvation case verified on QEMU 10.0.13: ten coalesced 1000-byte
 * segments, the only RX buffer taken by a UDP frame, the timer fires, then
 * 8 buffers are posted: the 10 000 bytes never arrive.
 */
static void test_rx_starved_purge_loses_data(void **state)
{
    g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, FALSE);
    RigNetFrameDesc udp = tu_tcp(4, 9, 0, 0, 100);
    TuExpect e = TU_ANY;
    guint64 lost_segs, lost_bytes;

    udp.protocol = RIG_IPPROTO_UDP;
    rsc_oracle_set_rx_buffers(o, 0, 1);
    for (guint i = 0; i < 10; i++) {
        RigNetFrameDesc s = seg(0, i);
        tu_feed(o, i * 10, &s);
    }
    tu_feed(o, 200, &udp);
    rsc_oracle_advance(o, TU_IV);
    rsc_oracle_post_rx_buffers(o, 2 * TU_IV, 8);
    rsc_oracle_flush(o);
    e.cause = RSC_CAUSE_BYPASS;
    e.len = RIG_ETH_HLEN + 20 + 8 + 100;
    tu_expect_frames(o, 1, &e);
    rsc_oracle_get_lost(o, &lost_segs, &lost_bytes);
    assert_int_equal(lost_segs, 1);
    assert_int_equal(lost_bytes, RIG_ETH_HLEN + 40 + 10 * TU_MSS);
    tu_expect_stats(o, RSC_FAMILY_IPV4,
                    "received=11,cache=1,empty_cache=1,coalesced=9,"
                    "bypass_not_tcp=1,purge_failed=1,timer=1");
}

/*
 * No buffer when a finalizer arrives: the cached segment is lost
 * (final_failed), the frame itself is held and, once buffers come, runs
 * through RSC again, counted again, and is cached this time.
 */
static void test_rx_starved_final_failed_and_replay(void **state)
{
    g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, FALSE);
    RigNetFrameDesc a = seg(0, 0);
    RigNetFrameDesc ooo = seg(0, 5);
    RigNetFrameDesc next = seg(0, 6);
    TuExpect e = TU_ANY;

    rsc_oracle_set_rx_buffers(o, 0, 0);
    tu_feed(o, 0, &a);
    tu_feed(o, 10, &ooo);
    assert_int_equal(rsc_oracle_get_backlog(o), 1);
    /* While held, later frames queue behind it, unseen by RSC. */
    tu_feed(o, 20, &next);
    assert_int_equal(rsc_oracle_get_backlog(o), 2);
    tu_expect_stats(o, RSC_FAMILY_IPV4,
                    "received=2,cache=1,empty_cache=1,"
                    "data_out_of_order=1,final_failed=1");
    /* The replay caches into the empty chain: the timer moves to 100+IV. */
    rsc_oracle_post_rx_buffers(o, 100, 4);
    assert_int_equal(rsc_oracle_get_backlog(o), 0);
    tu_expect_frames(o, 0, NULL);
    rsc_oracle_flush(o);
    e = tu_coalesced(RSC_MODE_QEMU, 4);
    e.t_ns = 100 + TU_IV;
    e.seq = TU_SEQ + 5 * TU_MSS;
    e.segments = 2;
    tu_expect_frames(o, 1, &e);
    tu_expect_stats(o, RSC_FAMILY_IPV4,
                    "received=4,cache=2,empty_cache=2,data_out_of_order=1,"
                    "final_failed=1,coalesced=1,timer=1");
}

/* No buffer for a TCP-control frame: drain_failed, the FIN is held. */
static void test_rx_starved_drain_failed(void **state)
{
    g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, FALSE);
    RigNetFrameDesc a = seg(0, 0);
    RigNetFrameDesc fin =
        tu_tcp(4, 0, TU_SEQ + TU_MSS, RIG_TCP_ACK | RIG_TCP_FIN, 0);
    TuExpect e = TU_ANY;

    tu_feed(o, 0, &a);
    rsc_oracle_set_rx_buffers(o, 5, 0);
    tu_feed(o, 10, &fin);
    assert_int_equal(rsc_oracle_get_backlog(o), 1);
    rsc_oracle_set_rx_buffers(o, 50, RSC_RX_BUFFERS_UNLIMITED);
    e.cause = RSC_CAUSE_FINAL;
    e.t_ns = 50;
    e.tcp_flags = RIG_TCP_ACK | RIG_TCP_FIN;
    tu_expect_frames(o, 1, &e);
    tu_expect_stats(o, RSC_FAMILY_IPV4,
                    "received=3,cache=1,empty_cache=1,"
                    "tcp_ctrl_drain=2,drain_failed=1");
}

/* Each delivery takes one buffer; the backlog drains as buffers come. */
static void test_rx_buffers_counted(void **state)
{
    g_autoptr(RscOracle) o = tu_oracle(RSC_MODE_QEMU, TRUE, FALSE);
    RigNetFrameDesc udp = tu_tcp(4, 0, 0, 0, 10);

    udp.protocol = RIG_IPPROTO_UDP;
    rsc_oracle_set_rx_buffers(o, 0, 2);
    for (int i = 0; i < 5; i++) {
        tu_feed(o, (guint64)i, &udp);
    }
    assert_int_equal(rsc_oracle_get_backlog(o), 3);
    tu_expect_frames(o, 2, (TuExpect[]){TU_ANY, TU_ANY});
    rsc_oracle_post_rx_buffers(o, 10, 1);
    assert_int_equal(rsc_oracle_get_backlog(o), 2);
    tu_expect_frames(o, 1, (TuExpect[]){TU_ANY});
    rsc_oracle_post_rx_buffers(o, 20, 5);
    assert_int_equal(rsc_oracle_get_backlog(o), 0);
    tu_expect_frames(o, 2, (TuExpect[]){TU_ANY, TU_ANY});
    /* A held frame is counted each time it is tried: 2 + 1 + 1 + 2. */
    tu_expect_stats(o, RSC_FAMILY_IPV4, "received=6,bypass_not_tcp=6");
}

static void test_stats_names(void **state)
{
    static const char *const qemu_names[] = {
        "received",
        "coalesced",
        "over_size",
        "cache",
        "empty_cache",
        "no_match_cache",
        "win_update",
        "no_match",
        "tcp_syn",
        "tcp_ctrl_drain",
        "dup_ack",
        "pure_ack",
        "ack_out_of_win",
        "data_out_of_win",
        "data_out_of_order",
        "data_after_pure_ack",
        "bypass_not_tcp",
        "tcp_option",
        "tcp_all_opt",
        "ip_frag",
        "ip_ecn",
        "ip_hacked",
        "ip_option",
        "purge_failed",
        "drain_failed",
        "final_failed",
        "timer",
    };
    RscStats st = {0};
    guint64 v = 0;

    assert_int_equal(G_N_ELEMENTS(qemu_names), RSC_STATS_N_FIELDS);
    for (guint i = 0; i < RSC_STATS_N_FIELDS; i++) {
        assert_string_equal(rsc_stats_field_name(i), qemu_names[i]);
        assert_int_equal(rsc_stats_field_index(qemu_names[i]), i);
    }
    assert_null(rsc_stats_field_name(RSC_STATS_N_FIELDS));
    assert_int_equal(rsc_stats_field_index("dup_ack1"), -1);
    st.final_failed = 42;
    assert_true(rsc_stats_lookup(&st, "final_failed", &v));
    assert_int_equal(v, 42);
    assert_false(rsc_stats_lookup(&st, "nope", &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer_boundary),
        cmocka_unit_test(test_timer_advance),
        cmocka_unit_test(test_timer_second_flow_keeps_deadline),
        cmocka_unit_test(test_timer_after_chain_emptied),
        cmocka_unit_test(test_rx_starved_purge_loses_data),
        cmocka_unit_test(test_rx_starved_final_failed_and_replay),
        cmocka_unit_test(test_rx_starved_drain_failed),
        cmocka_unit_test(test_rx_buffers_counted),
        cmocka_unit_test(test_stats_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
