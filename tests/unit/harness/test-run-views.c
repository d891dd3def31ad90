/*
 * Frame bytes to check views: frames built with rig/net's builder are
 * decoded into the records the checks read (flows, bypass cases, virtio
 * header fields, payload bytes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness/run-views.h"
#include "net/build.h"
#include "net/wire.h"

typedef struct {
    ProfileScenario sc;
    CheckScenario *cs;
    RunFlows *flows;
    guint8 buf[RIG_NET_FRAME_MAX + RIG_VIRTIO_NET_HDR_V1_LEN];
} Fixture;

static int setup(void **state)
{
    Fixture *fx = g_new0(Fixture, 1);

    fx->sc.name = (char *)"t";
    fx->sc.expect_counters = g_array_new(FALSE, TRUE, sizeof(ProfileCounter));
    fx->cs = check_scenario_new(&fx->sc);
    fx->flows = run_flows_new(fx->cs);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    Fixture *fx = *state;

    run_flows_free(fx->flows);
    check_scenario_free(fx->cs);
    g_array_unref(fx->sc.expect_counters);
    g_free(fx);
    return 0;
}

static void desc_init(RigNetFrameDesc *d, uint8_t family, uint16_t sport)
{
    static const uint8_t v4a[4] = {192, 0, 2, 1}, v4b[4] = {192, 0, 2, 2};
    static const uint8_t v6a[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    static const uint8_t v6b[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

    memset(d, 0, sizeof(*d));
    d->family = family;
    memcpy(d->src_ip, family == 4 ? v4a : v6a, family == 4 ? 4 : 16);
    memcpy(d->dst_ip, family == 4 ? v4b : v6b, family == 4 ? 4 : 16);
    d->df = TRUE;
    d->protocol = RIG_IPPROTO_TCP;
    d->src_port = sport;
    d->dst_port = 5001;
    d->seq = 1000;
    d->ack = 77;
    d->window = 29200;
    d->tcp_flags = RIG_TCP_ACK;
    d->payload_len = 100;
}

/* Builds after a 12-byte virtio header area; returns the frame length. */
static gsize build(Fixture *fx, const RigNetFrameDesc *d)
{
    int n = rig_net_build_frame(d, fx->buf + RIG_VIRTIO_NET_HDR_V1_LEN,
                                RIG_NET_FRAME_MAX);

    assert_true(n > 0);
    return (gsize)n;
}

static const CheckFrame *frame(CheckView *v, guint i)
{
    assert_true(i < v->frames->len);
    return &g_array_index(v->frames, CheckFrame, i);
}

static void test_sent_tcp(void **state)
{
    Fixture *fx = *state;
    RigNetFrameDesc d;
    gsize n;
    const CheckFrame *f;

    desc_init(&d, 4, 40000);
    n = build(fx, &d);
    run_views_add_sent(fx->flows, fx->buf + RIG_VIRTIO_NET_HDR_V1_LEN, n, 5);
    f = frame(fx->cs->sent, 0);
    assert_int_equal(f->flow, 0);
    assert_int_equal(f->family, 4);
    assert_true(f->is_tcp);
    assert_false(f->may_overtake);
    assert_false(f->tcp_options);
    assert_int_equal(f->seq, 1000);
    assert_int_equal(f->ack, 77);
    assert_int_equal(f->window, 29200);
    assert_int_equal(f->payload_len, 100);
    assert_int_equal(f->l3_len, 140);
    assert_int_equal(f->frame_len, n);
    assert_int_equal(f->time_ns, 5);
    assert_int_equal(fx->cs->flows->len, 1);
    assert_non_null(strstr(
        ((CheckFlow *)g_ptr_array_index(fx->cs->flows, 0))->name, "40000"));
    /* The payload bytes themselves are kept (f(seq) pattern). */
    assert_memory_equal(fx->cs->sent->payload->data,
                        fx->buf + RIG_VIRTIO_NET_HDR_V1_LEN + n - 100, 100);
    /* Same 5-tuple: same flow; another port: a new one. */
    run_views_add_sent(fx->flows, fx->buf + RIG_VIRTIO_NET_HDR_V1_LEN, n, 6);
    assert_int_equal(frame(fx->cs->sent, 1)->flow, 0);
    desc_init(&d, 4, 40001);
    n = build(fx, &d);
    run_views_add_sent(fx->flows, fx->buf + RIG_VIRTIO_NET_HDR_V1_LEN, n, 7);
    assert_int_equal(frame(fx->cs->sent, 2)->flow, 1);
}

static void test_sent_bypass_cases(void **state)
{
    Fixture *fx = *state;
    static const uint8_t ra[4] = {RIG_IPOPT_RA, 4, 0, 0};
    RigNetIpv6Ext hbh = {.type = RIG_IPPROTO_HOPOPTS};
    RigNetTcpOption ts = {.kind = RIG_TCPOPT_TIMESTAMP, .ts_val = 1};
    RigNetFrameDesc d;
    guint i = 0;

    desc_init(&d, 4, 40000);
    d.ipv4_options = ra;
    d.ipv4_options_len = sizeof(ra);
    run_views_add_sent(fx->flows, fx->buf + 12, build(fx, &d), 0);
    assert_true(frame(fx->cs->sent, i++)->may_overtake);
    desc_init(&d, 4, 40000);
    d.df = FALSE;
    run_views_add_sent(fx->flows, fx->buf + 12, build(fx, &d), 0);
    assert_true(frame(fx->cs->sent, i++)->may_overtake);
    desc_init(&d, 4, 40000);
    d.tos = RIG_ECN_CE;
    run_views_add_sent(fx->flows, fx->buf + 12, build(fx, &d), 0);
    assert_true(frame(fx->cs->sent, i++)->may_overtake);
    desc_init(&d, 4, 40000);
    d.tcp_flags |= RIG_TCP_SYN;
    run_views_add_sent(fx->flows, fx->buf + 12, build(fx, &d), 0);
    assert_true(frame(fx->cs->sent, i++)->may_overtake);
    desc_init(&d, 6, 40000);
    d.ipv6_ext = &hbh;
    d.ipv6_ext_count = 1;
    run_views_add_sent(fx->flows, fx->buf + 12, build(fx, &d), 0);
    assert_true(frame(fx->cs->sent, i++)->may_overtake);
    desc_init(&d, 4, 40000);
    d.protocol = RIG_IPPROTO_UDP;
    run_views_add_sent(fx->flows, fx->buf + 12, build(fx, &d), 0);
    assert_false(frame(fx->cs->sent, i)->is_tcp);
    assert_true(frame(fx->cs->sent, i++)->may_overtake);
    /* TCP options finalize (drain first): not a bypass, but flagged. */
    desc_init(&d, 4, 40000);
    d.tcp_options = &ts;
    d.tcp_option_count = 1;
    run_views_add_sent(fx->flows, fx->buf + 12, build(fx, &d), 0);
    assert_false(frame(fx->cs->sent, i)->may_overtake);
    assert_true(frame(fx->cs->sent, i++)->tcp_options);
}

static void test_sent_malformed(void **state)
{
    Fixture *fx = *state;
    RigNetFrameDesc d;
    gsize n;

    desc_init(&d, 4, 40000);
    d.corrupt = RIG_NET_CORRUPT_TRUNCATE;
    d.truncate_len = 30;
    n = build(fx, &d);
    run_views_add_sent(fx->flows, fx->buf + 12, n, 0);
    assert_int_equal(fx->cs->flows->len, 1);
    assert_string_equal(
        ((CheckFlow *)g_ptr_array_index(fx->cs->flows, 0))->name,
        "unparsable frames");
    assert_false(frame(fx->cs->sent, 0)->is_tcp);
    assert_int_equal(frame(fx->cs->sent, 0)->payload_len, n);
}

static void test_received(void **state)
{
    Fixture *fx = *state;
    RigNetFrameDesc d;
    gsize n;
    const CheckFrame *f;

    desc_init(&d, 6, 40000);
    n = build(fx, &d);
    run_views_add_sent(fx->flows, fx->buf + 12, n, 0);
    memset(fx->buf, 0, 12);
    fx->buf[0] = RIG_VIRTIO_NET_HDR_F_RSC_INFO;
    fx->buf[1] = 4; /* TCPV6 */
    rig_le16_put(fx->buf + 4, 1440);
    rig_le16_put(fx->buf + 6, 3);
    rig_le16_put(fx->buf + 8, 1);
    run_views_add_received(fx->flows, fx->cs->guest, fx->buf, n + 12, 9);
    f = frame(fx->cs->guest, 0);
    assert_int_equal(f->flow, 0);
    assert_int_equal(f->family, 6);
    assert_int_equal(f->hdr_flags, RIG_VIRTIO_NET_HDR_F_RSC_INFO);
    assert_int_equal(f->gso_type, 4);
    assert_int_equal(f->gso_size, 1440);
    assert_int_equal(f->csum_start, 3);
    assert_int_equal(f->csum_offset, 1);
    assert_int_equal(f->frame_len, n);
    assert_int_equal(f->l3_len, 160);
    assert_true(fx->cs->guest->has_content);
    /* A flow the scenario never sent is noise, never a new flow. */
    desc_init(&d, 6, 999);
    n = build(fx, &d);
    run_views_add_received(fx->flows, fx->cs->guest, fx->buf, n + 12, 10);
    assert_int_equal(frame(fx->cs->guest, 1)->flow, CHECK_FLOW_NONE);
    assert_int_equal(fx->cs->flows->len, 1);
    /* Shorter than a virtio header: recorded, belongs to nothing. */
    run_views_add_received(fx->flows, fx->cs->guest, fx->buf, 5, 11);
    assert_int_equal(frame(fx->cs->guest, 2)->flow, CHECK_FLOW_NONE);
    assert_true(fx->cs->guest->has_content);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_sent_tcp),
        T(test_sent_bypass_cases),
        T(test_sent_malformed),
        T(test_received),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
