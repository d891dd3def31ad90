/*
 * Checks engine: each check passes on a correct view and fails, naming
 * what differs, on a view that breaks its rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness/check.h"

#define SEG 1000

typedef struct {
    ProfileScenario sc;
    CheckScenario *cs;
    guint flow_a;
    guint flow_b;
} Fixture;

static int setup(void **state)
{
    Fixture *fx = g_new0(Fixture, 1);

    fx->sc.name = (char *)"t";
    fx->sc.family = PROFILE_FAMILY_IPV4;
    fx->sc.expect_frames = -1;
    fx->sc.expect_coalesced_frames = -1;
    fx->sc.expect_counters = g_array_new(FALSE, TRUE, sizeof(ProfileCounter));
    fx->sc.oracle = FALSE;
    fx->cs = check_scenario_new(&fx->sc);
    fx->cs->clock = PROFILE_CLOCK_QTEST;
    fx->cs->rsc_interval_ns = 300000;
    fx->cs->timing_slack_ns = 0;
    fx->flow_a = check_scenario_add_flow(fx->cs, "a", 4);
    fx->flow_b = check_scenario_add_flow(fx->cs, "b", 4);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    Fixture *fx = *state;

    check_scenario_free(fx->cs);
    g_array_unref(fx->sc.expect_counters);
    g_free(fx);
    return 0;
}

/* Payload byte at a sequence number of a flow: differs between flows. */
static void fill(guint8 *buf, guint flow, guint32 seq, guint32 len)
{
    for (guint32 i = 0; i < len; i++) {
        buf[i] = (guint8)((seq + i) * 7 + flow * 101);
    }
}

static CheckFrame *add_sent(Fixture *fx, guint flow, guint32 seq, guint32 len,
                            guint8 flags, gint64 t_us)
{
    g_autofree guint8 *buf = g_malloc(len + 1);
    CheckFrame f = {0};

    fill(buf, flow, seq, len);
    f.time_ns = t_us * 1000;
    f.flow = flow;
    f.family = 4;
    f.is_tcp = TRUE;
    f.tcp_flags = flags | CHECK_TCP_ACK;
    f.seq = seq;
    f.payload_len = len;
    f.l3_len = 40 + len;
    return check_view_add_frame(fx->cs->sent, &f, buf);
}

static CheckFrame *add_frame(Fixture *fx, CheckView *v, guint flow, guint32 seq,
                             guint32 len, guint16 segments)
{
    g_autofree guint8 *buf = g_malloc(len + 1);
    CheckFrame f = {0};

    fill(buf, flow, seq, len);
    f.flow = flow;
    f.family = 4;
    f.is_tcp = TRUE;
    f.tcp_flags = CHECK_TCP_ACK;
    f.seq = seq;
    f.payload_len = len;
    f.l3_len = 40 + len;
    if (segments > 1) {
        f.hdr_flags = CHECK_HDR_F_RSC_INFO;
        f.gso_type = CHECK_GSO_TCPV4;
        f.csum_start = segments;
    }
    return check_view_add_frame(v, &f, buf);
}

static CheckFrame *add_recv(Fixture *fx, guint flow, guint32 seq, guint32 len,
                            guint16 segments)
{
    return add_frame(fx, fx->cs->guest, flow, seq, len, segments);
}

static const CheckResult *find(GPtrArray *results, const char *name)
{
    for (guint i = 0; i < results->len; i++) {
        const CheckResult *r = g_ptr_array_index(results, i);

        if (g_str_equal(r->name, name)) {
            return r;
        }
    }
    return NULL;
}

static void expect_status(GPtrArray *results, const char *name,
                          CheckStatus status, const char *needle)
{
    const CheckResult *r = find(results, name);

    if (!r) {
        print_error("check %s not reported\n", name);
        fail();
        return;
    }
    if (r->status != status) {
        print_error("%s: status %s, want %s (expected: %s; observed: %s; "
                    "%s)\n",
                    name, check_status_name(r->status),
                    check_status_name(status), r->expected, r->observed,
                    r->detail ? r->detail : "");
        fail();
    }
    if (needle) {
        g_autofree char *all =
            g_strdup_printf("%s | %s | %s", r->expected, r->observed,
                            r->detail ? r->detail : "");

        if (!strstr(all, needle)) {
            print_error("%s: \"%s\" not in \"%s\"\n", name, needle, all);
            fail();
        }
    }
}

/* Four segments sent 100 us apart on flow a. */
static void send_four(Fixture *fx)
{
    for (guint i = 0; i < 4; i++) {
        add_sent(fx, fx->flow_a, 1000 + i * SEG, SEG, 0, i * 100);
    }
}

static void test_coalesced_ok(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    send_four(fx);
    add_recv(fx, fx->flow_a, 1000, 3 * SEG, 3);
    add_recv(fx, fx->flow_a, 1000 + 3 * SEG, SEG, 1);
    r = check_run_all(fx->cs);
    expect_status(r, "payload-conserved", CHECK_PASS, "4000 bytes received");
    expect_status(r, "segments-conserved", CHECK_PASS,
                  "4 TCP segments (4 with data)");
    expect_status(r, "no-cross-boundary", CHECK_PASS, NULL);
    expect_status(r, "frame-size", CHECK_PASS, "largest 3040");
    expect_status(r, "rsc-info", CHECK_PASS, NULL);
    expect_status(r, "coalescing-window", CHECK_PASS,
                  "0 of 1 frames over (0.0 %), widest span 200 us");
    expect_status(r, "device-counters", CHECK_SKIP, "not read");
    assert_null(find(r, "frame-count"));
    assert_null(find(r, "oracle-qemu"));
}

static void test_lost_segment(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    send_four(fx);
    add_recv(fx, fx->flow_a, 1000, 3 * SEG, 3);
    r = check_run_all(fx->cs);
    expect_status(r, "payload-conserved", CHECK_FAIL,
                  "1000 bytes lost (1 segments)");
    expect_status(r, "payload-conserved", CHECK_FAIL,
                  "sent segment 3 (a seq 4000, 1000 bytes) lost");
    expect_status(r, "segments-conserved", CHECK_FAIL, "3 (RSC segments");
}

static void test_duplicate(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    send_four(fx);
    add_recv(fx, fx->flow_a, 1000, 4 * SEG, 4);
    add_recv(fx, fx->flow_a, 1000 + SEG, SEG, 1);
    r = check_run_all(fx->cs);
    expect_status(r, "payload-conserved", CHECK_FAIL,
                  "1000 bytes duplicate or corrupt (1 frames)");
}

static void test_retransmission_is_not_duplicate(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    send_four(fx);
    add_sent(fx, fx->flow_a, 1000 + 3 * SEG, SEG, 0, 400);
    add_recv(fx, fx->flow_a, 1000, 4 * SEG, 4);
    add_recv(fx, fx->flow_a, 1000 + 3 * SEG, SEG, 1);
    r = check_run_all(fx->cs);
    expect_status(r, "payload-conserved", CHECK_PASS, NULL);
    expect_status(r, "segments-conserved", CHECK_PASS, "5 TCP segments");
}

static void test_corrupt_content(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;
    CheckFrame *f;

    send_four(fx);
    f = add_recv(fx, fx->flow_a, 1000, 4 * SEG, 4);
    fx->cs->guest->payload->data[f->payload_off + 2500] ^= 0xff;
    r = check_run_all(fx->cs);
    expect_status(r, "payload-conserved", CHECK_FAIL, "corrupt");
    expect_status(r, "payload-conserved", CHECK_FAIL, "4000 bytes lost");
}

static void test_cross_flow_content(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;
    CheckFrame *f;

    /* Same sequence numbers on two flows: a frame that glued flow b's
     * bytes onto flow a's header must not pass. */
    add_sent(fx, fx->flow_a, 1000, SEG, 0, 0);
    add_sent(fx, fx->flow_b, 2000, SEG, 0, 10);
    add_sent(fx, fx->flow_a, 2000, SEG, 0, 20);
    f = add_recv(fx, fx->flow_a, 1000, 2 * SEG, 2);
    fill(fx->cs->guest->payload->data + f->payload_off + SEG, fx->flow_b, 2000,
         SEG);
    add_recv(fx, fx->flow_b, 2000, SEG, 1);
    r = check_run_all(fx->cs);
    expect_status(r, "payload-conserved", CHECK_FAIL, "lost");
    expect_status(r, "no-cross-boundary", CHECK_FAIL,
                  "not one flow's consecutive segments");
}

static void test_out_of_order(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    send_four(fx);
    add_recv(fx, fx->flow_a, 1000 + 2 * SEG, 2 * SEG, 2);
    add_recv(fx, fx->flow_a, 1000, 2 * SEG, 2);
    r = check_run_all(fx->cs);
    expect_status(r, "payload-conserved", CHECK_FAIL, "1 frames out of order");
}

static void test_bypass_may_overtake(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    add_sent(fx, fx->flow_a, 1000, SEG, 0, 0);
    add_sent(fx, fx->flow_a, 2000, SEG, 0, 100)->may_overtake = TRUE;
    add_recv(fx, fx->flow_a, 2000, SEG, 1);
    add_recv(fx, fx->flow_a, 1000, SEG, 1);
    r = check_run_all(fx->cs);
    expect_status(r, "payload-conserved", CHECK_PASS, NULL);
}

static void test_control_segment_merged(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    add_sent(fx, fx->flow_a, 1000, SEG, 0, 0);
    add_sent(fx, fx->flow_a, 2000, SEG, CHECK_TCP_URG, 10);
    add_sent(fx, fx->flow_a, 3000, SEG, 0, 20);
    add_recv(fx, fx->flow_a, 1000, 3 * SEG, 3);
    r = check_run_all(fx->cs);
    expect_status(r, "payload-conserved", CHECK_PASS, NULL);
    expect_status(r, "no-cross-boundary", CHECK_FAIL,
                  "merges sent segment 1, which must be delivered alone "
                  "(flags 0x30)");
}

static void test_spans_fin_not_syn(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;
    g_autoptr(GPtrArray) r2 = NULL;
    CheckFrame *ctl;

    add_sent(fx, fx->flow_a, 1000, SEG, 0, 0);
    ctl = add_sent(fx, fx->flow_a, 2000, 0, CHECK_TCP_SYN, 10);
    add_sent(fx, fx->flow_a, 2000, SEG, 0, 20);
    add_recv(fx, fx->flow_a, 1000, 2 * SEG, 3);
    add_recv(fx, fx->flow_a, 2000, 0, 1)->tcp_flags |= CHECK_TCP_SYN;
    /* SYN is a bypass in QEMU: data around it keeps coalescing. */
    r = check_run_all(fx->cs);
    expect_status(r, "no-cross-boundary", CHECK_PASS, NULL);
    /* A merged pure segment counts in csum_start: 3 = 3 sent - 1 + ... */
    expect_status(r, "segments-conserved", CHECK_FAIL,
                  "4 (RSC segments of 1 coalesced frames + 1 TCP frames");
    ctl->tcp_flags = CHECK_TCP_FIN | CHECK_TCP_ACK;
    r2 = check_run_all(fx->cs);
    expect_status(r2, "no-cross-boundary", CHECK_FAIL,
                  "spans control segment 1 (flags 0x11)");
}

static void test_pure_ack_merged(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    /* data, pure ACK at the next seq, data: QEMU merges all three and
     * reports 3 segments. */
    add_sent(fx, fx->flow_a, 1000, SEG, 0, 0);
    add_sent(fx, fx->flow_a, 2000, 0, 0, 10);
    add_sent(fx, fx->flow_a, 2000, SEG, 0, 20);
    add_recv(fx, fx->flow_a, 1000, 2 * SEG, 3);
    r = check_run_all(fx->cs);
    expect_status(r, "segments-conserved", CHECK_PASS,
                  "3 TCP segments (2 with data)");
    expect_status(r, "payload-conserved", CHECK_PASS, NULL);
    expect_status(r, "no-cross-boundary", CHECK_PASS, NULL);
}

/*
 * The fixed build: a window update merged after the unit's last data
 * segment is not in csum_start; only QEMU's win_update counter shows it.
 */
static void test_window_update_merged_at_tail(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    add_sent(fx, fx->flow_a, 1000, SEG, 0, 0);
    add_sent(fx, fx->flow_a, 2000, SEG, 0, 10);
    add_sent(fx, fx->flow_a, 3000, 0, 0, 20);
    add_recv(fx, fx->flow_a, 1000, 2 * SEG, 2);
    r = check_run_all(fx->cs);
    expect_status(r, "segments-conserved", CHECK_FAIL, "2 (RSC segments");
    g_clear_pointer(&r, g_ptr_array_unref);

    fx->cs->device.available = TRUE;
    fx->cs->device.delta.ipv4.win_update = 1;
    r = check_run_all(fx->cs);
    expect_status(r, "segments-conserved", CHECK_PASS,
                  "3 TCP segments (2 with data)");
}

/* A data segment QEMU took for a window update (its bytes dropped) is no
 * merged bare ACK: the counter does not excuse it. */
static void test_window_update_counter_needs_bare_acks(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    add_sent(fx, fx->flow_a, 1000, SEG, 0, 0);
    add_sent(fx, fx->flow_a, 1000, 2 * SEG, 0, 10);
    add_recv(fx, fx->flow_a, 1000, SEG, 1);
    fx->cs->device.available = TRUE;
    fx->cs->device.delta.ipv4.win_update = 1;
    r = check_run_all(fx->cs);
    expect_status(r, "segments-conserved", CHECK_FAIL, NULL);
}

static void test_control_flags_on_coalesced(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    send_four(fx);
    add_recv(fx, fx->flow_a, 1000, 4 * SEG, 4)->tcp_flags |= CHECK_TCP_FIN;
    r = check_run_all(fx->cs);
    expect_status(r, "no-cross-boundary", CHECK_FAIL, "carries flags 0x11");
}

static void test_options_segment_merged(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    add_sent(fx, fx->flow_a, 1000, SEG, 0, 0);
    add_sent(fx, fx->flow_a, 2000, SEG, 0, 10)->tcp_options = TRUE;
    add_recv(fx, fx->flow_a, 1000, 2 * SEG, 2);
    r = check_run_all(fx->cs);
    expect_status(r, "no-cross-boundary", CHECK_FAIL, "options");
}

/* Microsoft allows coalescing segments that carry only a timestamp. */
static void test_timestamp_segment_merged(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;
    CheckFrame *f;

    f = add_sent(fx, fx->flow_a, 1000, SEG, 0, 0);
    f->tcp_options = TRUE;
    f->ts_only = TRUE;
    f = add_sent(fx, fx->flow_a, 2000, SEG, 0, 10);
    f->tcp_options = TRUE;
    f->ts_only = TRUE;
    add_recv(fx, fx->flow_a, 1000, 2 * SEG, 2);
    r = check_run_all(fx->cs);
    expect_status(r, "no-cross-boundary", CHECK_PASS, NULL);
}

/* ECT marking may coalesce; CE, a change of marking and a bad checksum
 * must not. */
static void test_ecn_and_checksum_boundaries(void **state)
{
    static const struct {
        guint8 ecn[2];
        gboolean bad;
        CheckStatus status;
        const char *needle;
    } cases[] = {
        {{2, 2}, FALSE, CHECK_PASS, NULL},
        {{2, 3}, FALSE, CHECK_FAIL, "ECN CE"},
        {{2, 1}, FALSE, CHECK_FAIL, "ECN codepoints 2 and 1"},
        {{0, 0}, TRUE, CHECK_FAIL, "bad checksum"},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        Fixture *fx = *state;
        g_autoptr(GPtrArray) r = NULL;
        CheckFrame *a, *b;

        g_array_set_size(fx->cs->sent->frames, 0);
        g_array_set_size(fx->cs->guest->frames, 0);
        a = add_sent(fx, fx->flow_a, 1000, SEG, 0, 0);
        a->ecn = cases[i].ecn[0];
        a->may_overtake = a->ecn != 0; /* stock bypasses ECN */
        b = add_sent(fx, fx->flow_a, 2000, SEG, 0, 10);
        b->ecn = cases[i].ecn[1];
        b->may_overtake = b->ecn != 0;
        b->bad_csum = cases[i].bad;
        add_recv(fx, fx->flow_a, 1000, 2 * SEG, 2);
        r = check_run_all(fx->cs);
        expect_status(r, "no-cross-boundary", cases[i].status, cases[i].needle);
    }
}

static void test_frame_size(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;
    CheckFrame *f;

    send_four(fx);
    f = add_recv(fx, fx->flow_a, 1000, 4 * SEG, 4);
    f->l3_len = 65536;
    r = check_run_all(fx->cs);
    expect_status(r, "frame-size", CHECK_FAIL, "frame 0: IP length 65536");
}

static void test_frame_size_ipv6_limit(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;
    CheckFrame *f;

    send_four(fx);
    f = add_recv(fx, fx->flow_a, 1000, 4 * SEG, 4);
    /* IPv6: the limit is on the payload length, 40 bytes below l3_len. */
    f->family = 6;
    f->gso_type = CHECK_GSO_TCPV6;
    f->l3_len = 40 + 65535;
    r = check_run_all(fx->cs);
    expect_status(r, "frame-size", CHECK_PASS, "largest 65535");
}

static void test_rsc_info_missing(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;
    CheckFrame *f;

    send_four(fx);
    f = add_recv(fx, fx->flow_a, 1000, 4 * SEG, 4);
    f->hdr_flags = 0;
    r = check_run_all(fx->cs);
    expect_status(r, "rsc-info", CHECK_FAIL,
                  "frame 0 holds 4 segments without RSC_INFO");
    expect_status(r, "segments-conserved", CHECK_FAIL, NULL);
}

static void test_rsc_info_wrong_gso(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    send_four(fx);
    add_recv(fx, fx->flow_a, 1000, 4 * SEG, 4)->gso_type = CHECK_GSO_NONE;
    r = check_run_all(fx->cs);
    expect_status(r, "rsc-info", CHECK_FAIL, "gso_type 0, expected 1");
}

static void test_coalescing_window(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;
    g_autoptr(GPtrArray) r2 = NULL;

    add_sent(fx, fx->flow_a, 1000, SEG, 0, 0);
    add_sent(fx, fx->flow_a, 2000, SEG, 0, 100);
    add_sent(fx, fx->flow_a, 3000, SEG, 0, 500);
    add_recv(fx, fx->flow_a, 1000, 3 * SEG, 3);
    r = check_run_all(fx->cs);
    expect_status(r, "coalescing-window", CHECK_FAIL,
                  "frame 0: 3 segments sent over 500 us");
    fx->cs->timing_slack_ns = 200000;
    r2 = check_run_all(fx->cs);
    expect_status(r2, "coalescing-window", CHECK_PASS, "within 500 us");
}

static void test_coalescing_window_tolerance(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;
    g_autoptr(GPtrArray) r2 = NULL;

    /* Two frames: one within 300 us, one over it. */
    add_sent(fx, fx->flow_a, 1000, SEG, 0, 0);
    add_sent(fx, fx->flow_a, 2000, SEG, 0, 100);
    add_sent(fx, fx->flow_a, 3000, SEG, 0, 1000);
    add_sent(fx, fx->flow_a, 4000, SEG, 0, 1500);
    add_recv(fx, fx->flow_a, 1000, 2 * SEG, 2);
    add_recv(fx, fx->flow_a, 3000, 2 * SEG, 2);
    fx->cs->window_tolerance = 0.49;
    r = check_run_all(fx->cs);
    expect_status(r, "coalescing-window", CHECK_FAIL,
                  "1 of 2 frames over (50.0 %), widest span 500 us");
    fx->cs->window_tolerance = 0.5;
    r2 = check_run_all(fx->cs);
    expect_status(r2, "coalescing-window", CHECK_PASS, "at least 50.0 %");
}

static void test_whql_criteria(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    fx->sc.min_coalescing_ratio = 2.0;
    fx->sc.min_coalesced_share = 0.70;
    fx->sc.csum_flags = PROFILE_CSUM_NONE;
    send_four(fx);
    add_recv(fx, fx->flow_a, 1000, 3 * SEG, 3);
    add_recv(fx, fx->flow_a, 1000 + 3 * SEG, SEG, 1);
    r = check_run_all(fx->cs);
    expect_status(r, "coalescing-ratio", CHECK_PASS,
                  "2.00 (4 segments in 2 frames)");
    expect_status(r, "coalesced-share", CHECK_PASS, "75.0 % (3 of 4)");
    expect_status(r, "checksum-flags", CHECK_PASS, NULL);
}

static void test_whql_criteria_fail(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    fx->sc.min_coalescing_ratio = 2.5;
    fx->sc.min_coalesced_share = 0.80;
    fx->sc.csum_flags = PROFILE_CSUM_NEEDS_CSUM;
    send_four(fx);
    add_recv(fx, fx->flow_a, 1000, 3 * SEG, 3);
    add_recv(fx, fx->flow_a, 1000 + 3 * SEG, SEG, 1);
    r = check_run_all(fx->cs);
    expect_status(r, "coalescing-ratio", CHECK_FAIL, ">= 2.50");
    expect_status(r, "coalesced-share", CHECK_FAIL, ">= 80 %");
    expect_status(r, "checksum-flags", CHECK_FAIL, "frame 0: flags 0x04");
}

static void test_nothing_received_fails_ratio(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    fx->sc.min_coalescing_ratio = 1.0;
    fx->sc.min_coalesced_share = 0.0001;
    send_four(fx);
    r = check_run_all(fx->cs);
    expect_status(r, "coalescing-ratio", CHECK_FAIL, "0.00");
    expect_status(r, "coalesced-share", CHECK_FAIL, NULL);
    expect_status(r, "payload-conserved", CHECK_FAIL, "4000 bytes lost");
}

static void test_counts(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    fx->sc.expect_frames = 2;
    fx->sc.expect_coalesced_frames = 2;
    send_four(fx);
    add_recv(fx, fx->flow_a, 1000, 3 * SEG, 3);
    add_recv(fx, fx->flow_a, 1000 + 3 * SEG, SEG, 1);
    r = check_run_all(fx->cs);
    expect_status(r, "frame-count", CHECK_PASS, "2 data frames");
    expect_status(r, "coalesced-count", CHECK_FAIL,
                  "2 coalesced frames | 1 coalesced frames");
}

static void test_noise_ignored(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;
    CheckFrame noise = {.flow = CHECK_FLOW_NONE, .family = 6, .l3_len = 72};

    fx->sc.expect_frames = 1;
    send_four(fx);
    check_view_add_frame(fx->cs->guest, &noise, NULL);
    add_recv(fx, fx->flow_a, 1000, 4 * SEG, 4);
    r = check_run_all(fx->cs);
    expect_status(r, "frame-count", CHECK_PASS, NULL);
    expect_status(r, "payload-conserved", CHECK_PASS, NULL);
}

static void test_device_counters(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;
    ProfileCounter c = {.name = (char *)"tcp_syn", .value = 1};

    g_array_append_val(fx->sc.expect_counters, c);
    send_four(fx);
    add_recv(fx, fx->flow_a, 1000, 4 * SEG, 4);
    fx->cs->device.available = TRUE;
    fx->cs->device.delta.ipv4.coalesced = 3;
    fx->cs->device.delta.ipv4.tcp_syn = 0;
    fx->cs->rsc_enabled = TRUE;
    r = check_run_all(fx->cs);
    expect_status(r, "device-counters", CHECK_FAIL,
                  "ipv4 tcp_syn: expected 1, observed 0");
    expect_status(r, "device-counters", CHECK_FAIL,
                  "ipv4 received: expected 4, observed 0");
    expect_status(r, "device-counters", CHECK_FAIL,
                  "received = ipv4 frames sent");
}

static void test_device_counters_received(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    send_four(fx);
    add_recv(fx, fx->flow_a, 1000, 4 * SEG, 4);
    fx->cs->rsc_enabled = TRUE;
    fx->cs->device.available = TRUE;
    fx->cs->device.delta.ipv4.coalesced = 3;
    fx->cs->device.delta.ipv4.received = 4;
    /* The other family's chain is not this scenario's business. */
    fx->cs->device.delta.ipv6.received = 9;
    r = check_run_all(fx->cs);
    expect_status(r, "device-counters", CHECK_PASS, "0 of 2 comparisons");
}

static void test_device_counters_oracle(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;
    g_autoptr(GPtrArray) r2 = NULL;

    send_four(fx);
    add_recv(fx, fx->flow_a, 1000, 4 * SEG, 4);
    fx->cs->device.available = TRUE;
    fx->cs->device.delta.ipv4.received = 4;
    fx->cs->device.delta.ipv4.coalesced = 3;
    fx->cs->oracle_counters.ipv4.received = 4;
    fx->cs->oracle_counters.ipv4.coalesced = 3;
    fx->cs->oracle_counters_valid = TRUE;
    r = check_run_all(fx->cs);
    expect_status(r, "device-counters", CHECK_PASS, "0 of 28 comparisons");
    /* The guest saw 3 merges; a device claiming 2 contradicts it. */
    fx->cs->device.delta.ipv4.coalesced = 2;
    fx->cs->oracle_counters.ipv4.coalesced = 2;
    r2 = check_run_all(fx->cs);
    expect_status(r2, "device-counters", CHECK_FAIL,
                  "3 merges seen by the guest, device says 2");
}

static void oracle_setup(Fixture *fx)
{
    fx->sc.oracle = TRUE;
    send_four(fx);
    add_recv(fx, fx->flow_a, 1000, 4 * SEG, 4);
    add_frame(fx, fx->cs->oracle_qemu, fx->flow_a, 1000, 4 * SEG, 4);
    add_frame(fx, fx->cs->oracle_spec, fx->flow_a, 1000, 4 * SEG, 4)
        ->hdr_flags |= CHECK_HDR_F_NEEDS_CSUM;
}

static void test_oracle(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    oracle_setup(fx);
    r = check_run_all(fx->cs);
    expect_status(r, "oracle-qemu", CHECK_PASS, "1 frames, 0 differences");
    expect_status(r, "oracle-spec", CHECK_XFAIL,
                  "frame 0: hdr_flags expected 5, observed 4");
}

static void test_oracle_spec_must_pass(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    oracle_setup(fx);
    fx->cs->spec_must_pass = TRUE;
    r = check_run_all(fx->cs);
    expect_status(r, "oracle-spec", CHECK_FAIL, "hdr_flags");
}

static void test_oracle_mismatch(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    oracle_setup(fx);
    add_frame(fx, fx->cs->oracle_qemu, fx->flow_a, 5000, SEG, 1);
    g_array_index(fx->cs->oracle_qemu->frames, CheckFrame, 0).csum_start = 3;
    r = check_run_all(fx->cs);
    expect_status(r, "oracle-qemu", CHECK_FAIL,
                  "frame 0: csum_start expected 3, observed 4");
    expect_status(r, "oracle-qemu", CHECK_FAIL,
                  "expected 2 frames, received 1");
}

static void test_oracle_content(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    oracle_setup(fx);
    fx->cs->oracle_qemu->payload->data[10] ^= 1;
    r = check_run_all(fx->cs);
    expect_status(r, "oracle-qemu", CHECK_FAIL, "payload bytes");
}

static void test_oracle_needs_qtest(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    oracle_setup(fx);
    fx->cs->clock = PROFILE_CLOCK_REALTIME;
    r = check_run_all(fx->cs);
    expect_status(r, "oracle-qemu", CHECK_SKIP, "clock = qtest");
    expect_status(r, "oracle-spec", CHECK_SKIP, "clock = qtest");
}

static void test_oracle_unavailable(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    oracle_setup(fx);
    check_view_set_unavailable(fx->cs->oracle_qemu, "oracle failed");
    r = check_run_all(fx->cs);
    expect_status(r, "oracle-qemu", CHECK_SKIP, "oracle failed");
}

static void test_known_failures(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;
    char *known[] = {(char *)"payload-conserved", (char *)"frame-size", NULL};

    fx->sc.known_failures = known;
    fx->sc.known_failure_reason = (char *)"QEMU drops it";
    send_four(fx);
    add_recv(fx, fx->flow_a, 1000, 3 * SEG, 3);
    r = check_run_all(fx->cs);
    expect_status(r, "payload-conserved", CHECK_XFAIL,
                  "known failure: QEMU drops it");
    expect_status(r, "frame-size", CHECK_XPASS, "remove it from");
    expect_status(r, "segments-conserved", CHECK_FAIL, NULL);
    fx->sc.known_failures = NULL;
}

/* Per build: stock deviations are known failures naming their patch on
 * stock (and any other QEMU), failures on fixed; fixed compares spec mode
 * only. */
static void test_stock_known_failures(void **state)
{
    Fixture *fx = *state;
    char *stock[] = {(char *)"oracle-spec", (char *)"frame-size", NULL};
    static const QemuBuildKind builds[] = {QEMU_BUILD_STOCK, QEMU_BUILD_OTHER,
                                           QEMU_BUILD_FIXED};

    oracle_setup(fx);
    fx->cs->spec_must_pass = TRUE;
    fx->sc.stock_known_failures = stock;
    fx->sc.stock_failure_reason = (char *)"stock sets flags 4";
    char *fixed_by[] = {(char *)"0006", NULL};
    char *bisected[] = {(char *)"0003-hw-net-virtio-net-ece.patch", NULL};
    char *complete[] = {(char *)"0003-hw-net-virtio-net-ece.patch",
                        (char *)"0006-hw-net-virtio-net-header.patch", NULL};

    fx->sc.fixed_by = fixed_by;
    for (gsize i = 0; i < G_N_ELEMENTS(builds); i++) {
        g_autoptr(GPtrArray) r = NULL;

        fx->cs->build = builds[i];
        r = check_run_all(fx->cs);
        if (builds[i] == QEMU_BUILD_FIXED) {
            expect_status(r, "oracle-spec", CHECK_FAIL, "hdr_flags");
            expect_status(r, "frame-size", CHECK_PASS, NULL);
            assert_null(find(r, "oracle-qemu"));
            /* Bisected before 0006: still known; with it: must pass. */
            g_ptr_array_unref(r);
            fx->cs->build_fix_patches = bisected;
            r = check_run_all(fx->cs);
            expect_status(r, "oracle-spec", CHECK_XFAIL, "fixed by 0006");
            g_ptr_array_unref(r);
            fx->cs->build_fix_patches = complete;
            r = check_run_all(fx->cs);
            expect_status(r, "oracle-spec", CHECK_FAIL, "hdr_flags");
            fx->cs->build_fix_patches = NULL;
        } else {
            expect_status(r, "oracle-spec", CHECK_XFAIL, "fixed by 0006");
            expect_status(r, "frame-size", CHECK_XPASS, "has the fix");
            expect_status(r, "oracle-qemu", CHECK_PASS, NULL);
        }
    }
    fx->sc.stock_known_failures = NULL;
}

static void test_views_unavailable(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    check_view_set_unavailable(fx->cs->guest, "guest did not attach");
    r = check_run_all(fx->cs);
    expect_status(r, "payload-conserved", CHECK_SKIP, "guest did not attach");
}

/* A check the QEMU can not support is skipped even when it would fail, and
 * a known failure does not turn the skip into xfail. */
static void test_capability_unavailable(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;
    char *known[] = {(char *)"coalesced-count", NULL};

    fx->sc.known_failures = known;
    fx->sc.known_failure_reason = (char *)"patch 0003";
    fx->sc.expect_frames = 1;
    fx->sc.expect_coalesced_frames = 2;
    send_four(fx);
    add_recv(fx, fx->flow_a, 1000, 3 * SEG, 3);
    add_recv(fx, fx->flow_a, 1000 + 3 * SEG, SEG, 1);
    check_scenario_set_unavailable(fx->cs, "frame-count", "needs accel-qtest");
    check_scenario_set_unavailable(fx->cs, "coalesced-count", "first");
    check_scenario_set_unavailable(fx->cs, "coalesced-count",
                                   "needs accel-qtest, really");
    r = check_run_all(fx->cs);
    expect_status(r, "frame-count", CHECK_SKIP, "not evaluated");
    expect_status(r, "frame-count", CHECK_SKIP, "needs accel-qtest");
    expect_status(r, "coalesced-count", CHECK_SKIP,
                  "needs accel-qtest, really");
    expect_status(r, "payload-conserved", CHECK_PASS, NULL);
    fx->sc.known_failures = NULL;
}

static void test_capability_unavailable_everything(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GPtrArray) r = NULL;

    send_four(fx);
    check_scenario_set_unavailable(fx->cs, "device-counters",
                                   "needs rsc-stats");
    check_scenario_set_unavailable(fx->cs, NULL, "needs accel-qtest");
    r = check_run_all(fx->cs);
    assert_true(r->len >= 6);
    for (guint i = 0; i < r->len; i++) {
        const CheckResult *c = g_ptr_array_index(r, i);

        assert_int_equal(c->status, CHECK_SKIP);
        assert_string_equal(c->detail, "needs accel-qtest");
    }
}

static void test_status_helpers(void **state)
{
    assert_true(check_status_fails_verdict(CHECK_FAIL));
    assert_false(check_status_fails_verdict(CHECK_XFAIL));
    assert_false(check_status_fails_verdict(CHECK_SKIP));
    assert_false(check_status_fails_verdict(CHECK_XPASS));
    assert_string_equal(check_status_name(CHECK_XPASS), "xpass");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_coalesced_ok),
        T(test_lost_segment),
        T(test_duplicate),
        T(test_retransmission_is_not_duplicate),
        T(test_corrupt_content),
        T(test_cross_flow_content),
        T(test_out_of_order),
        T(test_bypass_may_overtake),
        T(test_control_segment_merged),
        T(test_spans_fin_not_syn),
        T(test_pure_ack_merged),
        T(test_window_update_merged_at_tail),
        T(test_window_update_counter_needs_bare_acks),
        T(test_control_flags_on_coalesced),
        T(test_options_segment_merged),
        T(test_timestamp_segment_merged),
        T(test_ecn_and_checksum_boundaries),
        T(test_frame_size),
        T(test_frame_size_ipv6_limit),
        T(test_rsc_info_missing),
        T(test_rsc_info_wrong_gso),
        T(test_coalescing_window),
        T(test_coalescing_window_tolerance),
        T(test_whql_criteria),
        T(test_whql_criteria_fail),
        T(test_nothing_received_fails_ratio),
        T(test_counts),
        T(test_noise_ignored),
        T(test_device_counters),
        T(test_device_counters_received),
        T(test_device_counters_oracle),
        T(test_oracle),
        T(test_oracle_spec_must_pass),
        T(test_oracle_mismatch),
        T(test_oracle_content),
        T(test_oracle_needs_qtest),
        T(test_oracle_unavailable),
        T(test_known_failures),
        T(test_stock_known_failures),
        T(test_views_unavailable),
        T(test_capability_unavailable),
        T(test_capability_unavailable_everything),
        T(test_status_helpers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
