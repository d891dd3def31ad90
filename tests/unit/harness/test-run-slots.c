/*
 * rig run's deterministic slot loop on a fake world (run-world.h): what is
 * injected when, how the clock steps, and the full-at-drain starvation
 * (fill every free RX buffer at the first idle slot after data, give them
 * back at the next data), with no QEMU and no root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "harness/run-slots.h"
#include "harness/run.h"
#include "net/parse.h"

#define PERIOD   100000 /* 100 us */
#define INTERVAL 300000
#define RING     8

typedef struct {
    gint64 t;
    gsize len;
    guint8 proto; /* 6 TCP, 17 UDP */
    guint16 src_port;
    gboolean with_hdr;
} Injected;

typedef struct {
    gint64 clock;
    GArray *steps;    /* gint64 */
    GArray *injected; /* Injected */
    GArray *rx;       /* gint64 pairs {t, count} from the observer */
    guint sent;       /* observer calls */
    guint64 free_buffers;
    gboolean starving;
    guint starve_calls;
    guint post_calls;
    guint harvests;
    int fail_inject_at; /* index of the injection that fails, -1 none */
} Fake;

static gboolean fake_inject(gpointer world, const RigVirtioNetHdrV1 *hdr,
                            gboolean with_hdr, const guint8 *frame, gsize len,
                            GError **error)
{
    Fake *f = world;
    Injected in = {.t = f->clock, .len = len, .with_hdr = with_hdr};
    RigNetView info;

    if ((int)f->injected->len == f->fail_inject_at) {
        g_set_error(error, RUN_ERROR, RUN_ERROR_FAILED, "tap gone");
        return FALSE;
    }
    assert_int_equal(rig_net_parse(frame, len, 0, &info, NULL), 0);
    in.proto = info.protocol;
    in.src_port = info.src_port;
    g_array_append_val(f->injected, in);
    /* A starved guest re-posts nothing: each frame takes a buffer. */
    if (f->starving && f->free_buffers > 0) {
        f->free_buffers--;
    }
    return TRUE;
}

static gint64 fake_vclock(gpointer world)
{
    return ((Fake *)world)->clock;
}

static gboolean fake_step(gpointer world, gint64 ns, GError **error)
{
    Fake *f = world;

    assert_true(ns > 0);
    f->clock += ns;
    g_array_append_val(f->steps, ns);
    return TRUE;
}

static gboolean fake_harvest(gpointer world, guint timeout_ms, guint *ret_got,
                             GError **error)
{
    Fake *f = world;

    f->harvests++;
    if (ret_got != NULL) {
        *ret_got = 0;
    }
    return TRUE;
}

static gboolean fake_stats(gpointer world, RigRscStats *ret, GError **error)
{
    memset(ret, 0, sizeof(*ret));
    return TRUE;
}

static guint64 fake_free(gpointer world)
{
    return ((Fake *)world)->free_buffers;
}

static void fake_starve(gpointer world)
{
    Fake *f = world;

    f->starving = TRUE;
    f->starve_calls++;
}

static gboolean fake_post(gpointer world, GError **error)
{
    Fake *f = world;

    f->starving = FALSE;
    f->free_buffers = RING;
    f->post_calls++;
    return TRUE;
}

static gboolean fake_alive(gpointer world, GError **error)
{
    return TRUE;
}

static const RunWorldOps FAKE = {
    .inject = fake_inject,
    .vclock = fake_vclock,
    .step_clock = fake_step,
    .harvest = fake_harvest,
    .read_stats = fake_stats,
    .free_rx_buffers = fake_free,
    .starve = fake_starve,
    .post_rx = fake_post,
    .alive = fake_alive,
};

static void obs_sent(gpointer user_data, gint64 t, const RigVirtioNetHdrV1 *hdr,
                     const guint8 *frame, gsize len)
{
    Fake *f = user_data;
    const Injected *last =
        &g_array_index(f->injected, Injected, f->injected->len - 1);

    /* Told after the device took it, at the time it was injected. */
    assert_int_equal(last->t, t);
    assert_int_equal(last->len, len);
    f->sent++;
}

static void obs_rx(gpointer user_data, gint64 t, guint64 count)
{
    Fake *f = user_data;
    gint64 pair[2] = {t, (gint64)count};

    g_array_append_vals(f->rx, pair, 2);
}

static const RunSlotsObserver OBSERVER = {.sent = obs_sent,
                                          .rx_buffers = obs_rx};

static void fake_init(Fake *f)
{
    memset(f, 0, sizeof(*f));
    f->steps = g_array_new(FALSE, FALSE, sizeof(gint64));
    f->injected = g_array_new(FALSE, FALSE, sizeof(Injected));
    f->rx = g_array_new(FALSE, FALSE, sizeof(gint64));
    f->free_buffers = RING;
    f->fail_inject_at = -1;
}

static void fake_clear(Fake *f)
{
    g_array_unref(f->steps);
    g_array_unref(f->injected);
    g_array_unref(f->rx);
}

static gboolean run(Fake *f, const char *text, guint flows, gboolean fill,
                    TrafgenVnetMode vnet, GError **error)
{
    g_autoptr(TrafgenPattern) pattern = trafgen_pattern_parse(text, NULL);
    RunSlotsConfig config = {
        .pattern = pattern,
        .flows = flows,
        .payload = 1000,
        .period_ns = PERIOD,
        .interval_ns = INTERVAL,
        .fill_at_drain = fill,
        .vnet = vnet,
    };

    assert_non_null(pattern);
    trafgen_endpoints_init_default(&config.ep, FALSE);
    config.filler_port = 40099;
    return run_slots(&config, &FAKE, f, &OBSERVER, f, error);
}

static const Injected *at(Fake *f, guint i)
{
    return &g_array_index(f->injected, Injected, i);
}

static void test_slots_and_clock(void **unused)
{
    Fake f;
    gint64 total = 0;

    fake_init(&f);
    assert_true(run(&f, "data*3,fin", 2, FALSE, TRAFGEN_VNET_NONE, NULL));
    /* 4 slots x 2 flows, flow by flow within a slot, slot k at k periods. */
    assert_int_equal(f.injected->len, 8);
    assert_int_equal(f.sent, 8);
    for (guint i = 0; i < 8; i++) {
        assert_int_equal(at(&f, i)->t, (gint64)(i / 2) * PERIOD);
        assert_int_equal(at(&f, i)->proto, 6);
        assert_int_equal(at(&f, i)->src_port, 40000 + i % 2);
        assert_false(at(&f, i)->with_hdr);
    }
    assert_int_equal(at(&f, 0)->len, 14 + 20 + 20 + 1000);
    /* One period per slot, then 2 x 2 x interval drained period by period
     * (each step followed by a harvest). */
    assert_int_equal(f.steps->len, 4 + 2 * (2 * INTERVAL / PERIOD));
    for (guint i = 0; i < f.steps->len; i++) {
        assert_int_equal(g_array_index(f.steps, gint64, i), PERIOD);
        total += g_array_index(f.steps, gint64, i);
    }
    assert_int_equal(f.clock, total);
    assert_true(f.harvests >= 2 * (2 * INTERVAL / PERIOD) + 1);
    assert_int_equal(f.starve_calls, 0);
    assert_int_equal(f.post_calls, 0);
    assert_int_equal(f.rx->len, 0);
    fake_clear(&f);
}

static void test_fill_at_drain(void **unused)
{
    Fake f;
    guint udp = 0;

    fake_init(&f);
    assert_true(
        run(&f, "data*2,idle*3,data,fin", 1, TRUE, TRAFGEN_VNET_NONE, NULL));
    /* The first idle slot after data (slot 2): the guest stops
     * re-posting and each of its RING free buffers gets a UDP frame from
     * the filler port, at that slot's time. */
    assert_int_equal(f.starve_calls, 1);
    for (guint i = 0; i < f.injected->len; i++) {
        if (at(&f, i)->proto == 17) {
            assert_int_equal(at(&f, i)->t, 2 * PERIOD);
            assert_int_equal(at(&f, i)->src_port, 40099);
            udp++;
        }
    }
    assert_int_equal(udp, RING);
    /* Told: RING buffers at slot 2, unlimited again at the next data
     * (slot 5), where the guest posts its buffers again: once. */
    assert_int_equal(f.rx->len, 4);
    assert_int_equal(g_array_index(f.rx, gint64, 0), 2 * PERIOD);
    assert_int_equal(g_array_index(f.rx, gint64, 1), RING);
    assert_int_equal(g_array_index(f.rx, gint64, 2), 5 * PERIOD);
    assert_int_equal((guint64)g_array_index(f.rx, gint64, 3),
                     RUN_SLOTS_RX_UNLIMITED);
    assert_int_equal(f.post_calls, 1);
    assert_int_equal(f.injected->len, 2 + RING + 2);
    fake_clear(&f);
}

static void test_fill_only_after_data_and_once(void **unused)
{
    Fake f;

    fake_init(&f);
    /* Idle before any data: no fill; the second idle run: no second. */
    assert_true(run(&f, "idle*2,data,idle,data,idle,fin", 1, TRUE,
                    TRAFGEN_VNET_NONE, NULL));
    assert_int_equal(f.starve_calls, 1);
    assert_int_equal(g_array_index(f.rx, gint64, 0), 3 * PERIOD);
    fake_clear(&f);
}

static void test_starved_drain_leaves_the_ring(void **unused)
{
    Fake f;

    fake_init(&f);
    /* Starved when the pattern ends: the first drain steps 2 x interval
     * at once (the ring is left as the scenario made it), then the guest
     * gets its buffers back and the second drain goes period by period. */
    assert_true(run(&f, "data*2,idle", 1, TRUE, TRAFGEN_VNET_NONE, NULL));
    assert_int_equal(f.post_calls, 1);
    assert_int_equal(f.steps->len, 3 + 1 + 2 * INTERVAL / PERIOD);
    assert_int_equal(g_array_index(f.steps, gint64, 3), 2 * INTERVAL);
    assert_int_equal(g_array_index(f.steps, gint64, 4), PERIOD);
    fake_clear(&f);
}

static void test_vnet_header_and_errors(void **unused)
{
    Fake f;
    g_autoptr(GError) error = NULL;

    fake_init(&f);
    assert_true(run(&f, "data,fin", 1, FALSE, TRAFGEN_VNET_CSUM, NULL));
    assert_true(at(&f, 0)->with_hdr);
    fake_clear(&f);

    fake_init(&f);
    f.fail_inject_at = 3;
    assert_false(run(&f, "data*10", 1, FALSE, TRAFGEN_VNET_NONE, &error));
    assert_string_equal(error->message, "tap gone");
    assert_int_equal(f.injected->len, 3);
    assert_int_equal(f.sent, 3);
    fake_clear(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots_and_clock),
        cmocka_unit_test(test_fill_at_drain),
        cmocka_unit_test(test_fill_only_after_data_and_once),
        cmocka_unit_test(test_starved_drain_leaves_the_ring),
        cmocka_unit_test(test_vnet_header_and_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
