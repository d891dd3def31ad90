/*
 * Profile loader: the shipped profiles load, and every kind of schema
 * violation is refused with a message naming file, group and key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness/profile.h"

#define HEAD                                                                   \
    "[profile]\nversion = 1\nname = t\n"                                       \
    "[device]\nrsc_interval_us = 300\n"

#define SCENARIO "[scenario a]\nfamily = ipv4\npattern = whql\n"

static char *profile_path(const char *name)
{
    const char *src = g_getenv("RIG_SOURCE_DIR");

    return g_build_filename(src ? src : ".", "hck-profiles", name, NULL);
}

static void test_minimal_defaults(void **state)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Profile) p =
        profile_load_data("mem.ini", HEAD SCENARIO, -1, NULL, NULL, &error);
    const ProfileScenario *s;

    assert_non_null(p);
    assert_null(error);
    assert_string_equal(p->name, "t");
    assert_null(p->qemu);
    assert_int_equal(p->clock, PROFILE_CLOCK_FREE);
    assert_int_equal(p->rsc_interval_us, 300);
    assert_int_equal(p->families, PROFILE_FAMILY_IPV4 | PROFILE_FAMILY_IPV6);
    assert_int_equal(p->queue_size, 256);
    assert_string_equal(p->guest_features, "netkvm");
    assert_int_equal(p->scenarios->len, 1);
    assert_int_equal(strlen(p->sha256), 64);
    s = g_ptr_array_index(p->scenarios, 0);
    assert_string_equal(s->name, "a");
    assert_int_equal(s->family, PROFILE_FAMILY_IPV4);
    assert_int_equal(s->expect_frames, -1);
    assert_int_equal(s->expect_coalesced_frames, -1);
    assert_int_equal(s->payload, 1000);
    assert_int_equal(s->flows, 1);
    assert_true(s->oracle);
    assert_null(s->known_failures);
    assert_false(profile_scenario_is_known_failure(s, "frame-count"));
}

static void test_full_scenario(void **state)
{
    static const char text[] =
        "[profile]\nversion = 1\nname = t\nclock = qtest\n"
        "[device]\nrsc_interval_us = 300\n"
        "[guest]\nfeatures = no-rsc\nrx_buffers = 8\n"
        "[scenario b c]\nfamily = ipv6\npattern = data*3,fin\n"
        "count = 0\nperiod_us = 10\npayload = 1440\nflows = 2\n"
        "rx_ring = full-at-drain\nexpect_frames = 3\n"
        "expect_coalesced_frames = 0\nmin_coalescing_ratio = 2.5\n"
        "min_coalesced_share = 0.7\ncsum_flags = needs-csum\n"
        "expect_counters = tcp_syn=1; coalesced = 4\noracle = false\n"
        "known_failures = oracle-spec;frame-count\n"
        "known_failure_reason = because\n"
        "stock_known_failures = no-cross-boundary; oracle-spec\n"
        "stock_failure_reason = stock masks ECE\n"
        "fixed_by = 0003-x.patch\n";
    g_autoptr(GError) error = NULL;
    g_autoptr(Profile) p =
        profile_load_data("mem.ini", text, -1, NULL, NULL, &error);
    const ProfileScenario *s;
    const ProfileCounter *c;

    assert_non_null(p);
    s = g_ptr_array_index(p->scenarios, 0);
    assert_string_equal(s->name, "b c");
    assert_int_equal(s->family, PROFILE_FAMILY_IPV6);
    assert_int_equal(s->flows, 2);
    assert_int_equal(s->rx_ring, PROFILE_RX_FULL_AT_DRAIN);
    assert_int_equal(s->expect_frames, 3);
    assert_int_equal(s->expect_coalesced_frames, 0);
    assert_true(s->min_coalescing_ratio == 2.5);
    assert_true(s->min_coalesced_share == 0.7);
    assert_int_equal(s->csum_flags, PROFILE_CSUM_NEEDS_CSUM);
    assert_false(s->oracle);
    assert_int_equal(s->expect_counters->len, 2);
    c = &g_array_index(s->expect_counters, ProfileCounter, 1);
    assert_string_equal(c->name, "coalesced");
    assert_int_equal(c->value, 4);
    assert_true(profile_scenario_is_known_failure(s, "frame-count"));
    assert_false(profile_scenario_is_known_failure(s, "rsc-info"));
    assert_string_equal(s->known_failure_reason, "because");
    assert_true(profile_scenario_is_stock_failure(s, "no-cross-boundary"));
    assert_false(profile_scenario_is_stock_failure(s, "frame-count"));
    assert_string_equal(s->stock_failure_reason, "stock masks ECE");
    assert_string_equal(s->fixed_by[0], "0003-x.patch");
    assert_null(s->fixed_by[1]);
    assert_string_equal(p->guest_features, "no-rsc");
    assert_int_equal(p->rx_buffers, 8);
}

typedef struct {
    const char *text;
    ProfileErrorCode code;
    const char *message; /* substring the message must contain */
} BadCase;

static const BadCase bad_cases[] = {
    {"not an ini", PROFILE_ERROR_READ, "bad.ini: not a valid .ini"},
    /* issue 11 item 8: GKeyFile merged these silently */
    {HEAD SCENARIO "count = 3\n[scenario b]\nfamily = ipv4\npattern = whql\n"
                   "[scenario a]\nfamily = ipv6\npattern = whql\n",
     PROFILE_ERROR_READ,
     "bad.ini: [scenario a]: the group appears twice (lines 6 and 13)"},
    {HEAD SCENARIO "count = 3\ncount = 5\n", PROFILE_ERROR_READ,
     "bad.ini: [scenario a] count: given twice (lines 9 and 10)"},
    {"[profile]\nversion = 1\nname = t\n  name=u\n", PROFILE_ERROR_READ,
     "bad.ini: [profile] name: given twice (lines 3 and 4)"},
    /* issue 11 item 9: above the MSS failed at run time (Message too long) */
    {HEAD SCENARIO "payload = 1461\n", PROFILE_ERROR_INVALID,
     "bad.ini: [scenario a] payload: expected an integer from 1 to 1460 (the "
     "IPv4 MSS at the tap's MTU of 1500), got 1461"},
    {HEAD "[scenario b]\nfamily = ipv6\npattern = whql\npayload = 1441\n",
     PROFILE_ERROR_INVALID,
     "[scenario b] payload: expected an integer from 1 to 1440 (the IPv6 MSS"},
    /* issue 11: full-at-drain did nothing off the qtest clock */
    {HEAD SCENARIO "rx_ring = full-at-drain\n", PROFILE_ERROR_INVALID,
     "bad.ini: [scenario a] rx_ring: full-at-drain needs [profile] clock = "
     "qtest, got clock = free"},
    {"[profile]\nversion = 1\nname = t\nclock = realtime\n[device]\n"
     "rsc_interval_us = 300\n" SCENARIO "rx_ring = full-at-drain\n",
     PROFILE_ERROR_INVALID, "got clock = realtime"},
    {"[device]\n" SCENARIO, PROFILE_ERROR_MISSING, "bad.ini: [profile]:"},
    {"[profile]\nname = t\n", PROFILE_ERROR_VERSION,
     "bad.ini: [profile] version: required key is missing; expected 1"},
    {"[profile]\nversion = 2\nname = t\n", PROFILE_ERROR_VERSION,
     "bad.ini: [profile] version: expected 1"},
    {"[profile]\nversion = one\n", PROFILE_ERROR_VERSION,
     "[profile] version: expected 1 (the schema this rig reads), got \"one\""},
    {"[profile]\nversion = 1\n[device]\n" SCENARIO, PROFILE_ERROR_MISSING,
     "bad.ini: [profile] name: required key is missing"},
    {"[profile]\nversion = 1\nname = t\nnmae = x\n", PROFILE_ERROR_UNKNOWN,
     "bad.ini: [profile] nmae: unknown key; expected one of: version"},
    {"[profile]\nversion = 1\nname = t\nclock = fast\n[device]\n" SCENARIO,
     PROFILE_ERROR_INVALID,
     "[profile] clock: expected one of: realtime, qtest, free, got \"fast\""},
    {"[profile]\nversion = 1\nname = t\nqemu = "
     "qemu-system\n[device]\n" SCENARIO,
     PROFILE_ERROR_INVALID, "[profile] qemu: expected fixed, stock or an"},
    {"[profile]\nversion = 1\nname = t\n" SCENARIO, PROFILE_ERROR_MISSING,
     "bad.ini: [device]: required group is missing"},
    {HEAD "rsc_intervall_us = 3\n" SCENARIO, PROFILE_ERROR_UNKNOWN,
     "[device] rsc_intervall_us: unknown key"},
    {"[profile]\nversion = 1\nname = t\n[device]\nrsc_interval_us = "
     "0\n" SCENARIO,
     PROFILE_ERROR_INVALID,
     "[device] rsc_interval_us: expected an integer from 1 to 10000000, got "
     "\"0\""},
    {"[profile]\nversion = 1\nname = t\n[device]\nrsc_interval_us = "
     "3x\n" SCENARIO,
     PROFILE_ERROR_INVALID, "[device] rsc_interval_us: expected an integer"},
    {HEAD "queue_size = 300\n" SCENARIO, PROFILE_ERROR_INVALID,
     "[device] queue_size: expected a power of two"},
    {HEAD "queue_size = 128\n" SCENARIO, PROFILE_ERROR_INVALID,
     "[device] queue_size: expected an integer from 256 to 1024"},
    {HEAD "families = ipv5\n" SCENARIO, PROFILE_ERROR_INVALID,
     "[device] families: expected a list of ipv4 and ipv6"},
    {HEAD "families = ipv4;ipv4\n" SCENARIO, PROFILE_ERROR_INVALID,
     "[device] families: \"ipv4\" is listed twice"},
    {HEAD "mrg_rxbuf = yes\n" SCENARIO, PROFILE_ERROR_INVALID,
     "[device] mrg_rxbuf: expected true or false, got \"yes\""},
    {HEAD "[guest]\nfeatures = linux\n" SCENARIO, PROFILE_ERROR_INVALID,
     "[guest] features: expected one of: netkvm, no-rsc"},
    {HEAD, PROFILE_ERROR_MISSING, "at least one scenario"},
    {HEAD "[extra]\nx = 1\n", PROFILE_ERROR_UNKNOWN,
     "bad.ini: [extra]: unknown group"},
    {HEAD "[scenario ]\nfamily = ipv4\n", PROFILE_ERROR_INVALID,
     "needs a name"},
    {HEAD "[scenario a]\npattern = whql\n", PROFILE_ERROR_MISSING,
     "bad.ini: [scenario a] family: required key is missing"},
    {HEAD "[scenario a]\nfamily = ipv4\n", PROFILE_ERROR_MISSING,
     "bad.ini: [scenario a] pattern: required key is missing"},
    {HEAD SCENARIO "expect_frame = 3\n", PROFILE_ERROR_UNKNOWN,
     "[scenario a] expect_frame: unknown key"},
    {HEAD SCENARIO "expect_frames = -1\n", PROFILE_ERROR_INVALID,
     "[scenario a] expect_frames: expected an integer"},
    {HEAD SCENARIO "payload = 70000\n", PROFILE_ERROR_INVALID,
     "[scenario a] payload: expected an integer from 1 to 65495"},
    {HEAD SCENARIO "min_coalescing_ratio = 0.5\n", PROFILE_ERROR_INVALID,
     "[scenario a] min_coalescing_ratio: expected a number from 1 to 65535"},
    {HEAD SCENARIO "min_coalesced_share = 70%\n", PROFILE_ERROR_INVALID,
     "[scenario a] min_coalesced_share: expected a number from 0 to 1"},
    {HEAD SCENARIO "csum_flags = valid\n", PROFILE_ERROR_INVALID,
     "[scenario a] csum_flags: expected one of: any, none"},
    {HEAD SCENARIO "expect_counters = tcp_syns=1\n", PROFILE_ERROR_INVALID,
     "[scenario a] expect_counters: \"tcp_syns\" is not a QEMU RSC counter"},
    {HEAD SCENARIO "expect_counters = tcp_syn\n", PROFILE_ERROR_INVALID,
     "[scenario a] expect_counters: expected COUNTER=VALUE"},
    {HEAD SCENARIO "expect_counters = tcp_syn=x\n", PROFILE_ERROR_INVALID,
     "counter tcp_syn: expected a non-negative integer"},
    {HEAD SCENARIO "known_failures = frame-counts\n"
                   "known_failure_reason = x\n",
     PROFILE_ERROR_INVALID,
     "[scenario a] known_failures: \"frame-counts\" is not a check name"},
    {HEAD SCENARIO "known_failures = frame-count\n", PROFILE_ERROR_MISSING,
     "[scenario a] known_failure_reason: required key is missing"},
    {HEAD SCENARIO "known_failure_reason = x\n", PROFILE_ERROR_INVALID,
     "[scenario a] known_failure_reason: only allowed together"},
    {HEAD SCENARIO "stock_known_failures = oracle-spec\n"
                   "stock_failure_reason = x\n",
     PROFILE_ERROR_MISSING, "[scenario a] fixed_by: required with"},
    {HEAD SCENARIO "stock_known_failures = oracle-spec\nfixed_by = p\n",
     PROFILE_ERROR_MISSING,
     "[scenario a] stock_failure_reason: required key is missing"},
    {HEAD SCENARIO "fixed_by = p\n", PROFILE_ERROR_INVALID,
     "[scenario a] fixed_by: only allowed together with"},
    {HEAD SCENARIO "stock_known_failures = oracle-qemus\n"
                   "stock_failure_reason = x\nfixed_by = p\n",
     PROFILE_ERROR_INVALID,
     "[scenario a] stock_known_failures: \"oracle-qemus\" is not a check"},
    {"[profile]\nversion = 1\nname = t\n[device]\nfamilies = ipv4\n"
     "[scenario a]\nfamily = ipv6\npattern = whql\n",
     PROFILE_ERROR_INVALID,
     "[scenario a] family: ipv6 is not in [device] families"},
    {"[profile]\nversion = 1\nname = t\nwindow_tolerance = "
     "2\n[device]\n" SCENARIO,
     PROFILE_ERROR_INVALID,
     "[profile] window_tolerance: expected a number from 0 to 1, got \"2\""},
    {"[profile]\nversion = 1\nname = t\nwindow_tolerance = "
     "2\n[device]\n" SCENARIO,
     PROFILE_ERROR_INVALID,
     "[profile] window_tolerance: expected a number from 0 to 1, got \"2\""},
    {HEAD SCENARIO "description =\n", PROFILE_ERROR_INVALID,
     "[scenario a] description: expected a non-empty string"},
};

static void test_bad_profiles(void **state)
{
    for (guint i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(Profile) p = profile_load_data("bad.ini", bad_cases[i].text,
                                                 -1, NULL, NULL, &error);

        if (p || !error || error->code != (gint)bad_cases[i].code ||
            !strstr(error->message, bad_cases[i].message)) {
            print_error("case %u: got %s (code %d), want code %d with "
                        "\"%s\"\n",
                        i, error ? error->message : "success",
                        error ? error->code : -1, bad_cases[i].code,
                        bad_cases[i].message);
            fail();
        }
        assert_true(g_error_matches(error, PROFILE_ERROR, bad_cases[i].code));
    }
}

static gboolean reject_x(const char *pattern, ProfileFamily family,
                         gpointer user_data, GError **error)
{
    guint *calls = user_data;

    (*calls)++;
    if (strchr(pattern, 'x')) {
        g_set_error(error, PROFILE_ERROR, PROFILE_ERROR_INVALID,
                    "step \"%s\" is unknown", pattern);
        return FALSE;
    }
    return TRUE;
}

static void test_pattern_validator(void **state)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Profile) ok = NULL;
    g_autoptr(Profile) bad = NULL;
    guint calls = 0;

    ok =
        profile_load_data("v.ini", HEAD SCENARIO, -1, reject_x, &calls, &error);
    assert_non_null(ok);
    assert_int_equal(calls, 1);
    bad = profile_load_data("v.ini",
                            HEAD "[scenario s]\nfamily = ipv4\npattern = xyz\n",
                            -1, reject_x, &calls, &error);
    assert_null(bad);
    assert_non_null(strstr(error->message,
                           "v.ini: [scenario s] pattern: step \"xyz\" is "
                           "unknown"));
}

static void test_missing_file(void **state)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Profile) p =
        profile_load("/nonexistent/x.ini", NULL, NULL, &error);

    assert_null(p);
    assert_true(g_error_matches(error, PROFILE_ERROR, PROFILE_ERROR_READ));
    assert_non_null(strstr(error->message, "/nonexistent/x.ini: can not"));
}

static guint count_family(const Profile *p, ProfileFamily family)
{
    guint n = 0;

    for (guint i = 0; i < p->scenarios->len; i++) {
        const ProfileScenario *s = g_ptr_array_index(p->scenarios, i);

        n += s->family == family;
    }
    return n;
}

static void test_shipped_profiles(void **state)
{
    static const char *const names[] = {"whql-rsc.ini", "conformance.ini",
                                        "no-rsc.ini", "starvation.ini"};

    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *path = profile_path(names[i]);
        g_autoptr(GError) error = NULL;
        g_autoptr(Profile) p = profile_load(path, NULL, NULL, &error);

        if (!p) {
            print_error("%s\n", error->message);
            fail();
        }
        assert_true(count_family(p, PROFILE_FAMILY_IPV4) > 0);
        assert_true(count_family(p, PROFILE_FAMILY_IPV6) > 0);
    }
}

static void test_shipped_conformance(void **state)
{
    g_autofree char *path = profile_path("conformance.ini");
    g_autoptr(Profile) p = profile_load(path, NULL, NULL, NULL);

    assert_non_null(p);
    assert_int_equal(p->clock, PROFILE_CLOCK_QTEST);
    /* Certification: spec mode on fixed, deviations per build only. */
    assert_true(p->spec_must_pass);
    assert_true(p->scenarios->len >= 30);
    for (guint i = 0; i < p->scenarios->len; i++) {
        const ProfileScenario *s = g_ptr_array_index(p->scenarios, i);

        assert_true(s->oracle);
        assert_null(s->known_failures);
        assert_true(!s->stock_known_failures || s->fixed_by);
    }
}

static void test_shipped_whql(void **state)
{
    g_autofree char *path = profile_path("whql-rsc.ini");
    g_autoptr(Profile) p = profile_load(path, NULL, NULL, NULL);
    const ProfileScenario *s;

    assert_non_null(p);
    assert_int_equal(p->rsc_interval_us, 300);
    assert_int_equal(p->clock, PROFILE_CLOCK_FREE);
    s = g_ptr_array_index(p->scenarios, 0);
    assert_string_equal(s->pattern, "whql");
    assert_int_equal(s->period_us, 100);
    assert_true(s->min_coalesced_share >= 0.70);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_defaults),
        cmocka_unit_test(test_full_scenario),
        cmocka_unit_test(test_bad_profiles),
        cmocka_unit_test(test_pattern_validator),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_shipped_profiles),
        cmocka_unit_test(test_shipped_conformance),
        cmocka_unit_test(test_shipped_whql),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
