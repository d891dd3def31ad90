/*
 * Unit tests of rig/sweep without QEMU: grid expansion, sharding, the
 * figures of a view pair, statistics, the recommendation, the JSON and CSV
 * writers, reading sweep.json back and merging shards.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "sweep/outputs.h"
#include "sweep/sweep.h"

static GArray *uints(guint n, ...)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(guint));
    va_list ap;

    va_start(ap, n);
    for (guint i = 0; i < n; i++) {
        guint v = va_arg(ap, guint);

        g_array_append_val(a, v);
    }
    va_end(ap);
    return a;
}

static SweepGrid *grid_of(const char *clocks, GArray *intervals,
                          GArray *periods, GArray *flows, GArray *payloads)
{
    SweepGrid *g = sweep_grid_new();

    g_array_unref(g->clocks);
    assert_true(sweep_parse_clock(clocks, &g->clocks, NULL));
    g_array_unref(g->intervals);
    g->intervals = intervals;
    g_array_unref(g->periods);
    g->periods = periods;
    g_array_unref(g->flows);
    g->flows = flows;
    g_array_unref(g->payloads);
    g->payloads = payloads;
    return g;
}

static void test_grid_expand(void **state)
{
    g_autoptr(SweepGrid) g =
        grid_of("both", uints(4, 300, 50, 300, 1000), uints(2, 100, 200),
                uints(2, 1, 4), uints(1, 1448));
    g_autoptr(GArray) pts = sweep_grid_expand(g);
    const SweepPoint *p;

    /* 2 clocks x 2 periods x 2 flows x 1 payload x (off + 3 intervals). */
    assert_int_equal(pts->len, 2 * 2 * 2 * 1 * 4);
    for (guint i = 0; i < pts->len; i++) {
        assert_int_equal(g_array_index(pts, SweepPoint, i).index, i);
    }
    p = &g_array_index(pts, SweepPoint, 0);
    assert_int_equal(p->clock, SWEEP_CLOCK_VIRTUAL);
    assert_int_equal(p->interval_us, SWEEP_INTERVAL_OFF);
    assert_int_equal(p->period_us, 100);
    assert_int_equal(p->flows, 1);
    /* Intervals ascending, the duplicate dropped. */
    assert_int_equal(g_array_index(pts, SweepPoint, 1).interval_us, 50);
    assert_int_equal(g_array_index(pts, SweepPoint, 2).interval_us, 300);
    assert_int_equal(g_array_index(pts, SweepPoint, 3).interval_us, 1000);
    assert_int_equal(g_array_index(pts, SweepPoint, 4).flows, 4);
    assert_int_equal(g_array_index(pts, SweepPoint, 8).period_us, 200);
    p = &g_array_index(pts, SweepPoint, 16);
    assert_int_equal(p->clock, SWEEP_CLOCK_WALL);
    assert_int_equal(p->interval_us, SWEEP_INTERVAL_OFF);
    assert_true(sweep_point_same_group(&g_array_index(pts, SweepPoint, 1),
                                       &g_array_index(pts, SweepPoint, 3)));
    assert_false(sweep_point_same_group(&g_array_index(pts, SweepPoint, 0),
                                        &g_array_index(pts, SweepPoint, 1)));
    assert_false(sweep_point_same_group(&g_array_index(pts, SweepPoint, 3),
                                        &g_array_index(pts, SweepPoint, 5)));

    g->baseline = FALSE;
    {
        g_autoptr(GArray) no_base = sweep_grid_expand(g);

        assert_int_equal(no_base->len, 2 * 2 * 2 * 3);
    }
}

static void test_parse(void **state)
{
    g_autoptr(GArray) a = NULL;
    g_autoptr(GArray) clocks = NULL;
    g_autoptr(GError) error = NULL;
    guint k, n;

    assert_true(
        sweep_parse_list("--interval-us", " 25, 50;100 ", 1, 1000, &a, NULL));
    assert_int_equal(a->len, 3);
    assert_int_equal(g_array_index(a, guint, 2), 100);
    assert_false(
        sweep_parse_list("--interval-us", "25,x", 1, 1000, &a, &error));
    assert_non_null(strstr(error->message, "\"x\""));
    g_clear_error(&error);
    assert_false(sweep_parse_list("--flows", "0", 1, 64, &a, &error));
    g_clear_error(&error);
    assert_false(sweep_parse_list("--flows", " , ", 1, 64, &a, &error));
    assert_non_null(strstr(error->message, "empty"));
    g_clear_error(&error);
    assert_false(sweep_parse_list("--flows", "-1", 1, 64, &a, &error));
    g_clear_error(&error);

    assert_true(sweep_parse_clock("wall", &clocks, NULL));
    assert_int_equal(clocks->len, 1);
    g_clear_pointer(&clocks, g_array_unref);
    assert_false(sweep_parse_clock("both,virtual", &clocks, &error));
    assert_non_null(strstr(error->message, "twice"));
    g_clear_error(&error);
    assert_false(sweep_parse_clock("fast", &clocks, &error));
    g_clear_error(&error);

    assert_true(sweep_parse_shard("2/4", &k, &n, NULL));
    assert_int_equal(k, 2);
    assert_int_equal(n, 4);
    assert_false(sweep_parse_shard("0/4", &k, &n, &error));
    g_clear_error(&error);
    assert_false(sweep_parse_shard("5/4", &k, &n, &error));
    g_clear_error(&error);
    assert_false(sweep_parse_shard("1/2/3", &k, &n, &error));
    g_clear_error(&error);
    assert_false(sweep_parse_shard("4", &k, &n, &error));
}

static void test_shards_cover_once(void **state)
{
    for (guint points = 0; points <= 60; points++) {
        for (guint count = 1; count <= 9; count++) {
            g_autofree guint *seen = g_new0(guint, points + 1);
            guint smallest = G_MAXUINT, largest = 0;

            for (guint k = 1; k <= count; k++) {
                guint from, to;

                sweep_shard_range(points, k, count, &from, &to);
                assert_true(from <= to);
                assert_true(to <= points);
                smallest = MIN(smallest, to - from);
                largest = MAX(largest, to - from);
                for (guint i = from; i < to; i++) {
                    seen[i]++;
                }
            }
            for (guint i = 0; i < points; i++) {
                assert_int_equal(seen[i], 1);
            }
            assert_true(largest - smallest <= 1);
        }
    }
}

static void add_frame(CheckView *v, gint64 t_us, guint32 seq, guint32 len,
                      guint8 hdr_flags, guint16 segs)
{
    CheckFrame f = {
        .time_ns = t_us * 1000,
        .flow = 0,
        .family = 4,
        .is_tcp = TRUE,
        .seq = seq,
        .payload_len = len,
        .hdr_flags = hdr_flags,
        .csum_start = segs,
    };

    check_view_add_frame(v, &f, NULL);
}

static void test_view_figures(void **state)
{
    g_autoptr(CheckView) sent = check_view_new();
    g_autoptr(CheckView) got = check_view_new();
    SweepViewFigures fig;

    /* Six segments every 100 us, the fourth 30 us late; QEMU delivers
     * three, then one alone, then two; 100 bytes are lost. */
    for (guint i = 0; i < 6; i++) {
        add_frame(sent, 1000 + i * 100 + (i == 3 ? 30 : 0), 1 + i * 100, 100, 0,
                  0);
    }
    add_frame(got, 1300, 1, 300, CHECK_HDR_F_RSC_INFO, 3);
    add_frame(got, 1400, 301, 100, 0, 0);
    add_frame(got, 1700, 401, 100, CHECK_HDR_F_RSC_INFO, 1);
    sweep_view_figures(sent, got, 100000, &fig);
    assert_int_equal(fig.segments_sent, 6);
    assert_int_equal(fig.data_frames, 3);
    assert_int_equal(fig.coalesced_frames, 2);
    assert_int_equal(fig.bytes_sent, 600);
    assert_int_equal(fig.bytes_delivered, 500);
    assert_true(fabs(fig.spf_mean - 5.0 / 3) < 1e-9);
    assert_true(fig.spf_p50 == 1);
    assert_true(fig.spf_p99 == 3);
    assert_true(fabs(fig.coalesced_share - 4.0 / 5) < 1e-9);
    /* Latencies: 300, 200, 100 (first frame), 70 (late send), 200; the
     * sixth segment (501..600) never arrived. */
    assert_true(fig.latency_p50_us == 200);
    assert_true(fig.latency_max_us == 300);
    assert_true(fig.send_lateness_p99_us == 30);
    assert_true(fig.send_gap_max_us == 130);
    /* 3 frames over 6 slots of 100 us. */
    assert_true(fabs(fig.frames_per_s - 3 / 600e-6) < 1e-6);
}

static void test_percentile_and_stat(void **state)
{
    const double v[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    SweepPoint p = {0};
    g_autoptr(SweepResult) r = sweep_result_new(&p, 10);
    SweepStat st;

    assert_true(sweep_percentile(v, 10, 50) == 5);
    assert_true(sweep_percentile(v, 10, 99) == 10);
    assert_true(sweep_percentile(v, 10, 0) == 1);
    assert_true(sweep_percentile(v, 0, 50) == 0);
    for (guint i = 1; i <= 3; i++) {
        SweepSample s = {0};

        s.m[SWEEP_M_SPF_MEAN] = i;
        g_array_append_val(r->samples, s);
    }
    sweep_result_stat(r, SWEEP_M_SPF_MEAN, &st);
    assert_int_equal(st.n, 3);
    assert_true(fabs(st.mean - 2) < 1e-12);
    /* t(0.975, 2) * s / sqrt(n), s = 1. */
    assert_true(fabs(st.ci95 - 4.303 / sqrt(3)) < 1e-9);
    sweep_result_stat(r, SWEEP_M_LATENCY_P99_US, &st);
    assert_true(st.ci95 == 0);
}

/* A report whose every point has @repeats synthetic samples: coalesced
 * share interval / 400, latency p99 = interval, frames/s halved by RSC. */
static SweepReport *synthetic_report(guint repeats)
{
    SweepReport *r = sweep_report_new(
        grid_of("virtual,wall", uints(4, 50, 100, 300, 1000),
                uints(2, 100, 200), uints(1, 1), uints(1, 1448)));

    r->profile_name = g_strdup("t");
    r->profile_path = g_strdup("t.ini");
    r->profile_sha256 = g_strdup("ab");
    r->qemu_path = g_strdup("/q");
    r->qemu_version = g_strdup("10.0.13");
    r->interval_writable = 0;
    r->repeat = repeats;
    r->count[SWEEP_CLOCK_VIRTUAL] = 300;
    r->count[SWEEP_CLOCK_WALL] = 3000;
    r->max_latency_us = 400;
    for (guint i = 0; i < r->points->len; i++) {
        const SweepPoint *p = &g_array_index(r->points, SweepPoint, i);
        SweepResult *res = sweep_result_new(p, 300);

        for (guint k = 0; k < repeats; k++) {
            SweepSample s = {0};
            double iv = p->interval_us;

            for (guint m = 0; m < SWEEP_N_METRICS; m++) {
                s.m[m] = i * 0.25 + m + k * 0.125;
            }
            s.m[SWEEP_M_COALESCED_SHARE] = MIN(iv / 400, 1.0);
            s.m[SWEEP_M_LATENCY_P99_US] = iv + k;
            s.m[SWEEP_M_SPF_MEAN] = MAX(iv / p->period_us, 1.0);
            s.m[SWEEP_M_FRAMES_PER_S] = iv ? 5000 : 10000;
            s.m[SWEEP_M_BYTES_LOST] = 0;
            s.checks_failed = g_new0(char *, 2);
            if (k == 1) {
                s.checks_failed[0] = g_strdup("coalescing-window");
            }
            g_array_append_val(res->samples, s);
        }
        sweep_report_set_result(r, res);
    }
    g_ptr_array_add(r->runs, json_from_string("{\"shard\": null}", NULL));
    return r;
}

static void test_recommend(void **state)
{
    g_autoptr(SweepReport) r = synthetic_report(1);
    g_autoptr(GArray) recs = sweep_recommend(r);
    const SweepRecommendation *x;
    double reduction;

    assert_int_equal(recs->len, 4);
    x = &g_array_index(recs, SweepRecommendation, 0);
    assert_int_equal(x->clock, SWEEP_CLOCK_VIRTUAL);
    assert_int_equal(x->period_us, 100);
    /* share 300/400 = 0.75 is the first >= 0.70. */
    assert_int_equal(x->hlk_interval_us, 300);
    /* latency <= 400: 50, 100, 300; most coalescing = 300. */
    assert_int_equal(x->latency_interval_us, 300);
    assert_true(fabs(x->latency_spf - 3) < 1e-12);

    /* A point that lost bytes never is recommended. */
    g_array_index(((SweepResult *)r->results->pdata[3])->samples, SweepSample,
                  0)
        .m[SWEEP_M_BYTES_LOST] = 1448;
    g_clear_pointer(&recs, g_array_unref);
    recs = sweep_recommend(r);
    x = &g_array_index(recs, SweepRecommendation, 0);
    assert_int_equal(x->hlk_interval_us, 1000);
    /* 50 and 100 coalesce alike (1 segment per frame): the smaller wins. */
    assert_int_equal(x->latency_interval_us, 50);

    /* No bar met, no latency bound. */
    r->max_latency_us = 0;
    for (guint i = 0; i < r->results->len; i++) {
        SweepResult *res = r->results->pdata[i];

        g_array_index(res->samples, SweepSample, 0).m[SWEEP_M_COALESCED_SHARE] =
            0.5;
    }
    g_clear_pointer(&recs, g_array_unref);
    recs = sweep_recommend(r);
    x = &g_array_index(recs, SweepRecommendation, 1);
    assert_int_equal(x->hlk_interval_us, 0);
    assert_int_equal(x->latency_interval_us, 0);

    assert_true(sweep_report_reduction(r, r->results->pdata[1], &reduction));
    assert_true(fabs(reduction - 0.5) < 1e-12);
    assert_false(sweep_report_reduction(r, r->results->pdata[0], &reduction));
    {
        g_autofree char *text = sweep_recommendation_text(r);

        assert_non_null(strstr(text, "no rsc_interval of the grid meets"));
    }
}

static char *to_text(const SweepReport *r)
{
    g_autoptr(JsonNode) root = sweep_report_to_json(r);
    g_autoptr(JsonGenerator) gen = json_generator_new();

    json_generator_set_pretty(gen, TRUE);
    json_generator_set_root(gen, root);
    return json_generator_to_data(gen, NULL);
}

static SweepReport *reparse(const char *text)
{
    g_autoptr(JsonNode) root = json_from_string(text, NULL);
    g_autoptr(GError) error = NULL;
    SweepReport *r = sweep_report_from_json(root, "mem", &error);

    if (!r) {
        fail_msg("%s", error->message);
    }
    return r;
}

static void test_json_roundtrip(void **state)
{
    g_autoptr(SweepReport) r = synthetic_report(3);
    g_autofree char *text = to_text(r);
    g_autoptr(SweepReport) back = reparse(text);
    g_autofree char *again = to_text(back);
    g_autoptr(JsonNode) root = json_from_string(text, NULL);
    JsonObject *o = json_node_get_object(root);
    JsonObject *p0;

    assert_string_equal(text, again);
    assert_string_equal(json_object_get_string_member(o, "schema"),
                        SWEEP_JSON_SCHEMA);
    assert_true(json_object_get_boolean_member(o, "complete"));
    p0 = json_array_get_object_element(
        json_object_get_array_member(o, "points"), 1);
    assert_true(json_object_get_boolean_member(p0, "rsc"));
    assert_int_equal(json_object_get_int_member(p0, "interval_us"), 50);
    assert_int_equal(
        json_array_get_length(json_object_get_array_member(p0, "repeats")), 3);
    assert_true(json_object_has_member(
        json_object_get_object_member(p0, "summary"), "latency_p99_us"));
    assert_true(json_object_get_double_member(
                    p0, "frames_reduction_vs_rsc_off") == 0.5);
}

static void test_json_reader_rejects(void **state)
{
    static const char *const bad[] = {
        "[]",
        "{\"schema\": \"rsc-rig-run/1\"}",
        "{\"schema\": \"rsc-rig-sweep/1\", \"grid\": 3}",
    };

    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(JsonNode) root = json_from_string(bad[i], NULL);
        g_autoptr(GError) error = NULL;

        assert_null(sweep_report_from_json(root, "bad.json", &error));
        assert_non_null(error);
        assert_non_null(strstr(error->message, "bad.json"));
    }
}

/* The shard's report as `rig sweep --shard K/N` writes it. */
static SweepReport *shard_of(const char *full_text, guint k, guint n)
{
    SweepReport *s = reparse(full_text);
    guint from, to;

    s->shard_index = k;
    s->shard_count = n;
    sweep_report_shard_range(s, &from, &to);
    for (guint i = 0; i < s->results->len; i++) {
        if (i < from || i >= to) {
            g_clear_pointer(&s->results->pdata[i], sweep_result_free);
        }
    }
    return s;
}

static void test_merge_equals_unsharded(void **state)
{
    g_autoptr(SweepReport) full = synthetic_report(2);
    g_autofree char *full_text = NULL;

    /* The unsharded run has one run record; shards have one each. */
    full_text = to_text(full);
    for (guint n = 1; n <= 5; n++) {
        g_autoptr(GPtrArray) shards =
            g_ptr_array_new_with_free_func((GDestroyNotify)sweep_report_free);
        g_autoptr(SweepReport) merged = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *merged_text = NULL;

        for (guint k = 1; k <= n; k++) {
            g_autoptr(SweepReport) s = shard_of(full_text, k, n);
            g_autofree char *shard_text = to_text(s);

            if (n > 1) {
                assert_false(sweep_report_is_complete(full) &&
                             strstr(shard_text, "\"complete\" : false"));
            }
            g_ptr_array_add(shards, reparse(shard_text));
            /* Keep one run record in all, as the unsharded report has. */
            if (k > 1) {
                g_ptr_array_set_size(
                    ((SweepReport *)shards->pdata[k - 1])->runs, 0);
            }
        }
        merged = sweep_merge(shards, &error);
        assert_non_null(merged);
        merged_text = to_text(merged);
        assert_string_equal(merged_text, full_text);
        {
            g_autofree char *a = sweep_report_to_csv(merged);
            g_autofree char *b = sweep_report_to_csv(full);
            g_autofree char *h1 = sweep_report_to_html(merged);
            g_autofree char *h2 = sweep_report_to_html(full);

            assert_string_equal(a, b);
            assert_string_equal(h1, h2);
        }
    }
}

static void test_merge_refuses(void **state)
{
    g_autoptr(SweepReport) full = synthetic_report(1);
    g_autofree char *text = to_text(full);
    g_autoptr(GPtrArray) shards =
        g_ptr_array_new_with_free_func((GDestroyNotify)sweep_report_free);
    g_autoptr(GError) error = NULL;
    SweepReport *other;

    /* The same shard twice. */
    g_ptr_array_add(shards, shard_of(text, 1, 2));
    g_ptr_array_add(shards, shard_of(text, 1, 2));
    assert_null(sweep_merge(shards, &error));
    assert_non_null(strstr(error->message, "two inputs"));
    g_clear_error(&error);
    /* Another grid. */
    g_ptr_array_set_size(shards, 1);
    other = shard_of(text, 2, 2);
    other->repeat = 5;
    g_ptr_array_add(shards, other);
    assert_null(sweep_merge(shards, &error));
    assert_non_null(strstr(error->message, "another sweep"));
    g_clear_error(&error);
    /* Another QEMU. */
    other->repeat = 1;
    g_free(other->qemu_version);
    other->qemu_version = g_strdup("7.2");
    assert_null(sweep_merge(shards, &error));
    assert_non_null(strstr(error->message, "another QEMU"));
    g_clear_error(&error);
    /* Incomplete: shard 1 of 2 alone. */
    g_ptr_array_set_size(shards, 1);
    {
        g_autoptr(SweepReport) m = sweep_merge(shards, &error);

        assert_non_null(m);
        assert_false(sweep_report_is_complete(m));
    }
}

static void test_csv(void **state)
{
    g_autoptr(SweepReport) r = synthetic_report(2);
    g_autofree char *csv = NULL;
    g_auto(GStrv) lines = NULL;
    g_auto(GStrv) header = NULL;
    SweepResult *res = r->results->pdata[2];

    res->error = g_strdup("QEMU said \"no\", then died");
    g_clear_pointer(&r->results->pdata[5], sweep_result_free);
    csv = sweep_report_to_csv(r);
    lines = g_strsplit(csv, "\r\n", -1);
    /* header + every point but one + the empty tail */
    assert_int_equal(g_strv_length(lines), 1 + r->points->len - 1 + 1);
    assert_string_equal(lines[g_strv_length(lines) - 1], "");
    header = g_strsplit(lines[0], ",", -1);
    assert_int_equal(g_strv_length(header), 11 + 2 * SWEEP_N_METRICS);
    assert_string_equal(header[0], "index");
    assert_string_equal(header[11], "segments_sent");
    assert_string_equal(header[12], "segments_sent_ci95");
    assert_non_null(strstr(lines[3], ",\"QEMU said \"\"no\"\", then died\","));
    assert_true(g_str_has_prefix(lines[1], "0,virtual,off,,100,1,1448,300,2,"));
    assert_true(
        g_str_has_prefix(lines[2], "1,virtual,on,50,100,1,1448,300,2,,0.5,"));
    assert_false(sweep_report_is_complete(r));
}

static void test_metric_names(void **state)
{
    for (guint m = 0; m < SWEEP_N_METRICS; m++) {
        const SweepMetricInfo *info = sweep_metric_info(m);

        assert_non_null(info->name);
        assert_non_null(info->what);
        assert_int_equal(sweep_metric_from_name(info->name), m);
    }
    assert_int_equal(sweep_metric_from_name("nope"), SWEEP_N_METRICS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_expand),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_shards_cover_once),
        cmocka_unit_test(test_view_figures),
        cmocka_unit_test(test_percentile_and_stat),
        cmocka_unit_test(test_recommend),
        cmocka_unit_test(test_json_roundtrip),
        cmocka_unit_test(test_json_reader_rejects),
        cmocka_unit_test(test_merge_equals_unsharded),
        cmocka_unit_test(test_merge_refuses),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_metric_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
