/*
 * Report statistics: nearest-rank percentiles, per-flow gaps, gaps above
 * the RSC interval, bursts, and the JSON form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "trafgen/report.h"

static void test_percentiles(void **state)
{
    int64_t v[1000];
    TrafgenPercentiles p;

    for (int i = 0; i < 1000; i++) {
        v[i] = 1000 - i; /* 1..1000, reversed */
    }
    trafgen_percentiles_compute(v, 1000, &p);
    assert_int_equal(p.count, 1000);
    assert_int_equal(p.min_ns, 1);
    assert_int_equal(p.p50_ns, 500);
    assert_int_equal(p.p99_ns, 990);
    assert_int_equal(p.p999_ns, 999);
    assert_int_equal(p.max_ns, 1000);
    assert_true(p.mean_ns > 500.4 && p.mean_ns < 500.6);

    trafgen_percentiles_compute(v, 0, &p);
    assert_int_equal(p.count, 0);
    assert_int_equal(p.max_ns, 0);
}

static void add(TrafgenReport *r, guint flow, int64_t deadline, int64_t sent)
{
    TrafgenSample s = {.flow = flow, .deadline_ns = deadline, .sent_ns = sent};

    g_array_append_val(r->samples, s);
}

static void test_gaps_per_flow(void **state)
{
    g_autoptr(TrafgenReport) r = trafgen_report_new(2, 0);

    r->period_ns = 100000;
    r->rsc_interval_ns = 300000;
    r->start_ns = 0;
    r->end_ns = 1000000;
    r->cpu_user_s = 0.0005;
    /* two flows sent back to back in each slot: per-flow gaps are the
     * period, never the 1 us between the flows */
    add(r, 0, 100000, 101000);
    add(r, 1, 100000, 102000);
    add(r, 0, 200000, 201000);
    add(r, 1, 200000, 202000);
    add(r, 0, 300000, 240000); /* burst: 39 us after the previous */
    add(r, 1, 300000, 302000);
    add(r, 0, 700000, 700500); /* 460.5 us: above the RSC interval */
    add(r, 1, 700000, 702000);
    trafgen_report_compute(r);

    assert_int_equal(r->gap.count, 6);
    assert_int_equal(r->gaps_over_rsc, 2);
    assert_int_equal(r->bursts, 1);
    assert_int_equal(r->gap.min_ns, 39000);
    assert_int_equal(r->gap.max_ns, 460500);
    assert_int_equal(r->lateness.count, 8);
    assert_int_equal(r->lateness.min_ns, -60000);
    assert_int_equal(r->lateness.max_ns, 2000);
    assert_true(r->frames_per_s > 7999 && r->frames_per_s < 8001);
    assert_true(r->cpu_percent > 49.9 && r->cpu_percent < 50.1);
}

static void test_json(void **state)
{
    g_autoptr(TrafgenReport) r = trafgen_report_new(1, 0);
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("trafgen-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "r.json", NULL);
    JsonObject *o;

    r->period_ns = 100000;
    r->end_ns = 1000;
    r->pattern = g_strdup("data*2");
    r->policy = g_strdup("SCHED_OTHER");
    g_array_index(r->flows, TrafgenFlowCounters, 0).segments = 2;
    add(r, 0, 0, 10);
    add(r, 0, 100000, 100020);
    trafgen_report_compute(r);
    assert_true(trafgen_report_write_json(r, path, &error));
    assert_true(json_parser_load_from_file(parser, path, &error));
    o = json_node_get_object(json_parser_get_root(parser));
    assert_string_equal(json_object_get_string_member(o, "pattern"), "data*2");
    assert_int_equal(json_object_get_int_member(o, "frames"), 2);
    assert_int_equal(json_object_get_int_member(
                         json_object_get_object_member(o, "gap"), "max_ns"),
                     100010);
    assert_int_equal(json_object_get_int_member(
                         json_array_get_object_element(
                             json_object_get_array_member(o, "flows"), 0),
                         "segments"),
                     2);
    g_unlink(path);
    g_rmdir(dir);
}

/* Issue 11 item 1: --json through a symlink or onto a device node. */
static void test_json_written_through(void **state)
{
    g_autoptr(TrafgenReport) r = trafgen_report_new(1, 0);
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("trafgen-XXXXXX", NULL);
    g_autofree char *null = g_build_filename(dir, "null", NULL);
    g_autofree char *link = g_build_filename(dir, "link.json", NULL);
    g_autofree char *target = g_build_filename(dir, "target.json", NULL);
    struct stat st;

    r->pattern = g_strdup("data*2");
    trafgen_report_compute(r);
    if (mknod(null, S_IFCHR | 0666, makedev(1, 3)) == 0) {
        assert_true(trafgen_report_write_json(r, null, &error));
        assert_int_equal(lstat(null, &st), 0);
        assert_true(S_ISCHR(st.st_mode));
        g_unlink(null);
    }
    assert_int_equal(symlink("target.json", link), 0);
    assert_true(trafgen_report_write_json(r, link, &error));
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_true(g_file_test(target, G_FILE_TEST_IS_REGULAR));
    g_unlink(link);
    g_unlink(target);
    g_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentiles),
        cmocka_unit_test(test_gaps_per_flow),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_json_written_through),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
