/*
 * Report writers: the verdict rules, the JSON document read back with
 * json-glib's strict parser, the JUnit XML read back with GMarkup (a
 * well-formedness-checking XML parser) and counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "harness/report.h"

typedef struct {
    Profile *profile;
    Report *report;
} Fixture;

static const char profile_text[] =
    "[profile]\nversion = 1\nname = demo\nclock = qtest\n"
    "[device]\nrsc_interval_us = 300\n"
    "[scenario one]\nfamily = ipv4\npattern = whql\n"
    "[scenario two <&>]\nfamily = ipv6\npattern = data*3,fin\n";

static CheckResult *result(const char *name, CheckStatus status)
{
    CheckResult *r = g_new0(CheckResult, 1);

    r->name = g_strdup(name);
    r->status = status;
    r->expected = g_strdup("4 frames");
    r->observed = g_strdup("3 frames \"<odd>\" & more");
    r->detail = status == CHECK_PASS ? NULL : g_strdup("frame 2 differs");
    return r;
}

static int setup(void **state)
{
    Fixture *fx = g_new0(Fixture, 1);
    ReportScenario *s;
    CheckFrame f = {.flow = 0,
                    .family = 4,
                    .is_tcp = TRUE,
                    .seq = 1,
                    .payload_len = 3,
                    .hdr_flags = 4,
                    .csum_start = 2};
    static const guint8 bytes[3] = {1, 2, 3};

    fx->profile =
        profile_load_data("demo.ini", profile_text, -1, NULL, NULL, NULL);
    assert_non_null(fx->profile);
    fx->report = report_new();
    QemuBuild build = {.kind = QEMU_BUILD_STOCK,
                       .requested = (char *)"stock",
                       .path = (char *)"/opt/qemu/bin/qemu-system-x86_64",
                       .version = (char *)"10.0.13",
                       .series_hash = (char *)"abc"};
    report_set_profile_qemu(
        fx->report, report_add_profile(fx->report, fx->profile), &build);
    s = report_add_scenario(fx->report, fx->profile,
                            g_ptr_array_index(fx->profile->scenarios, 0));
    s->duration_s = 1.5;
    s->views = check_scenario_new(g_ptr_array_index(fx->profile->scenarios, 0));
    check_scenario_add_flow(s->views, "192.0.2.1:1 > 192.0.2.2:2 tcp", 4);
    check_view_add_frame(s->views->guest, &f, bytes);
    check_view_set_unavailable(s->views->oracle_spec, "no oracle");
    s->views->device.available = TRUE;
    s->views->device.delta.ipv4.coalesced = 1;
    g_ptr_array_add(s->checks, result("payload-conserved", CHECK_PASS));
    g_ptr_array_add(s->checks, result("oracle-spec", CHECK_XFAIL));
    g_ptr_array_add(s->checks, result("device-counters", CHECK_SKIP));
    s = report_add_scenario(fx->report, fx->profile,
                            g_ptr_array_index(fx->profile->scenarios, 1));
    g_ptr_array_add(s->checks, result("frame-count", CHECK_PASS));
    fx->report->complete = TRUE;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    Fixture *fx = *state;

    report_free(fx->report);
    profile_free(fx->profile);
    g_free(fx);
    return 0;
}

static ReportScenario *scenario(Fixture *fx, guint i)
{
    return g_ptr_array_index(fx->report->scenarios, i);
}

static void test_verdict(void **state)
{
    Fixture *fx = *state;

    assert_int_equal(report_verdict(fx->report), REPORT_PASS);
    assert_int_equal(report_exit_code(REPORT_PASS), 0);
    g_ptr_array_add(scenario(fx, 1)->checks, result("rsc-info", CHECK_FAIL));
    assert_int_equal(report_verdict(fx->report), REPORT_FAIL);
    assert_int_equal(report_exit_code(REPORT_FAIL), 1);
    scenario(fx, 1)->error = g_strdup("QEMU exited");
    assert_int_equal(report_verdict(fx->report), REPORT_ERROR);
    assert_int_equal(report_exit_code(REPORT_ERROR), 2);
}

static void test_verdict_incomplete(void **state)
{
    Fixture *fx = *state;

    fx->report->complete = FALSE;
    assert_int_equal(report_verdict(fx->report), REPORT_ERROR);
    fx->report->complete = TRUE;
    report_set_error(fx->report, "first %d", 1);
    report_set_error(fx->report, "second");
    assert_string_equal(fx->report->error, "first 1");
    assert_int_equal(report_verdict(fx->report), REPORT_ERROR);
}

static JsonObject *member_object(JsonObject *o, const char *name)
{
    JsonNode *n = json_object_get_member(o, name);

    assert_non_null(n);
    assert_int_equal(JSON_NODE_TYPE(n), JSON_NODE_OBJECT);
    return json_node_get_object(n);
}

static JsonArray *member_array(JsonObject *o, const char *name)
{
    JsonNode *n = json_object_get_member(o, name);

    assert_non_null(n);
    assert_int_equal(JSON_NODE_TYPE(n), JSON_NODE_ARRAY);
    return json_node_get_array(n);
}

static void test_json_roundtrip(void **state)
{
    Fixture *fx = *state;
    g_autofree char *dir = g_dir_make_tmp("rig-report-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "r.json", NULL);
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    JsonObject *root, *s0, *views, *guest, *totals, *device, *oracle;
    JsonArray *scenarios, *checks;

    g_ptr_array_add(scenario(fx, 1)->checks, result("rsc-info", CHECK_FAIL));
    assert_true(report_write_json(fx->report, path, &error));
    assert_true(json_parser_load_from_file(parser, path, &error));
    root = json_node_get_object(json_parser_get_root(parser));
    assert_string_equal(json_object_get_string_member(root, "schema"),
                        REPORT_JSON_SCHEMA);
    assert_string_equal(json_object_get_string_member(root, "verdict"), "fail");
    assert_int_equal(json_object_get_int_member(root, "exit_code"), 1);
    assert_true(json_object_get_boolean_member(root, "complete"));
    assert_string_equal(
        json_object_get_string_member(member_object(root, "qemu"), "version"),
        "10.0.13");
    assert_string_equal(json_object_get_string_member(
                            member_object(root, "qemu"), "patch_series_hash"),
                        "abc");
    assert_string_equal(
        json_object_get_string_member(member_object(root, "qemu"), "build"),
        "stock");
    assert_string_equal(json_object_get_string_member(
                            json_object_get_object_member(
                                json_array_get_object_element(
                                    member_array(root, "profiles"), 0),
                                "qemu"),
                            "build"),
                        "stock");
    assert_string_equal(
        json_object_get_string_member(
            json_array_get_object_element(member_array(root, "scenarios"), 0),
            "qemu_build"),
        "stock");
    assert_int_equal(json_array_get_length(member_array(root, "profiles")), 1);
    assert_string_equal(
        json_object_get_string_member(
            json_array_get_object_element(member_array(root, "profiles"), 0),
            "clock"),
        "qtest");
    assert_int_equal(
        strlen(json_object_get_string_member(
            json_array_get_object_element(member_array(root, "profiles"), 0),
            "sha256")),
        64);
    scenarios = member_array(root, "scenarios");
    assert_int_equal(json_array_get_length(scenarios), 2);
    s0 = json_array_get_object_element(scenarios, 0);
    assert_string_equal(json_object_get_string_member(s0, "profile"), "demo");
    checks = member_array(s0, "checks");
    assert_int_equal(json_array_get_length(checks), 3);
    assert_string_equal(json_object_get_string_member(
                            json_array_get_object_element(checks, 1), "status"),
                        "xfail");
    assert_string_equal(
        json_object_get_string_member(json_array_get_object_element(checks, 1),
                                      "observed"),
        "3 frames \"<odd>\" & more");
    views = member_object(s0, "views");
    guest = member_object(views, "guest");
    totals = member_object(guest, "totals");
    assert_int_equal(json_object_get_int_member(totals, "coalesced_frames"), 1);
    assert_int_equal(json_object_get_int_member(totals, "segments"), 2);
    assert_int_equal(json_array_get_length(member_array(guest, "frames")), 1);
    device = member_object(views, "device");
    assert_true(json_object_get_boolean_member(device, "available"));
    assert_int_equal(
        json_object_get_int_member(
            member_object(member_object(device, "counters"), "ipv4"),
            "coalesced"),
        1);
    oracle = member_object(views, "oracle");
    assert_false(json_object_get_boolean_member(member_object(oracle, "spec"),
                                                "available"));
    /* The second scenario never got views: no "views" member at all. */
    assert_false(json_object_has_member(
        json_array_get_object_element(scenarios, 1), "views"));
    g_unlink(path);
    g_rmdir(dir);
}

typedef struct {
    guint suites;
    guint cases;
    guint failures;
    guint skipped;
    guint errors;
    guint depth;
    GString *names;
} XmlCount;

static void xml_start(GMarkupParseContext *ctx, const char *element,
                      const char **names, const char **values,
                      gpointer user_data, GError **error)
{
    XmlCount *c = user_data;

    c->depth++;
    if (g_str_equal(element, "testsuites")) {
        assert_int_equal(c->depth, 1);
    } else if (g_str_equal(element, "testsuite")) {
        assert_int_equal(c->depth, 2);
        c->suites++;
    } else if (g_str_equal(element, "testcase")) {
        assert_int_equal(c->depth, 3);
        c->cases++;
        for (guint i = 0; names[i]; i++) {
            if (g_str_equal(names[i], "classname")) {
                g_string_append_printf(c->names, "%s|", values[i]);
            }
        }
    } else if (g_str_equal(element, "failure")) {
        c->failures++;
    } else if (g_str_equal(element, "skipped")) {
        c->skipped++;
    } else if (g_str_equal(element, "error")) {
        c->errors++;
    }
}

static void xml_end(GMarkupParseContext *ctx, const char *element,
                    gpointer user_data, GError **error)
{
    XmlCount *c = user_data;

    c->depth--;
}

static void parse_junit(const char *xml, XmlCount *c)
{
    static const GMarkupParser parser = {.start_element = xml_start,
                                         .end_element = xml_end};
    g_autoptr(GMarkupParseContext) ctx = NULL;
    g_autoptr(GError) error = NULL;
    const char *body = strstr(xml, "?>");

    /* GMarkup does not take the XML declaration: check and skip it. */
    assert_true(g_str_has_prefix(xml, "<?xml version=\"1.0\""));
    assert_non_null(body);
    ctx = g_markup_parse_context_new(&parser, 0, c, NULL);
    if (!g_markup_parse_context_parse(ctx, body + 2, -1, &error) ||
        !g_markup_parse_context_end_parse(ctx, &error)) {
        print_error("%s\n%s\n", error->message, xml);
        fail();
    }
    assert_int_equal(c->depth, 0);
}

static void test_junit(void **state)
{
    Fixture *fx = *state;
    g_autofree char *xml = NULL;
    XmlCount c = {0};

    g_ptr_array_add(scenario(fx, 1)->checks, result("rsc-info", CHECK_FAIL));
    xml = report_to_junit(fx->report);
    c.names = g_string_new(NULL);
    parse_junit(xml, &c);
    assert_int_equal(c.suites, 1);
    assert_int_equal(c.cases, 5);
    assert_int_equal(c.failures, 1);
    assert_int_equal(c.skipped, 2);
    assert_int_equal(c.errors, 0);
    assert_non_null(strstr(c.names->str, "demo.two <&>|"));
    assert_non_null(strstr(xml, "tests=\"5\" failures=\"1\" errors=\"0\" "
                                "skipped=\"2\""));
    /* Which build, version and series the suite ran on. */
    assert_non_null(
        strstr(xml, "<property name=\"qemu_build\" value=\"stock\"/>"));
    assert_non_null(
        strstr(xml, "<property name=\"qemu_version\" value=\"10.0.13\"/>"));
    assert_non_null(strstr(
        xml, "<property name=\"qemu_patch_series_hash\" value=\"abc\"/>"));
    g_string_free(c.names, TRUE);
}

static void test_junit_errors(void **state)
{
    Fixture *fx = *state;
    g_autofree char *xml = NULL;
    XmlCount c = {0};

    scenario(fx, 1)->error = g_strdup("QEMU killed by signal 9 <x>");
    report_set_error(fx->report, "aborted & cleaned up");
    xml = report_to_junit(fx->report);
    c.names = g_string_new(NULL);
    parse_junit(xml, &c);
    assert_int_equal(c.suites, 2);
    assert_int_equal(c.errors, 2);
    g_string_free(c.names, TRUE);
}

/*
 * Issue 11: a control character in a name (or a message) made the JUnit
 * file invalid XML 1.0: g_markup_escape_text() turns it into "&#x1;",
 * which XML 1.0 forbids too.
 */
static void test_junit_control_characters(void **state)
{
    Fixture *fx = *state;
    g_autofree char *xml = NULL;
    XmlCount c = {0};
    ReportScenario *s = scenario(fx, 0);

    g_free(s->name);
    s->name = g_strdup("bell\a-esc\x1b-ff\xef\xbf\xbf-bad\xff");
    s->error = g_strdup("QEMU said \x01\x02 and\ttabbed\nlines");
    xml = report_to_junit(fx->report);
    for (const char *p = xml; *p; p++) {
        guchar b = (guchar)*p;

        if (b < 0x20 && b != '\t' && b != '\n' && b != '\r') {
            fail_msg("control byte 0x%02x at offset %td", b, p - xml);
        }
    }
    assert_true(g_utf8_validate(xml, -1, NULL));
    assert_null(strstr(xml, "&#x"));
    assert_null(strstr(xml, "\xef\xbf\xbf"));
    assert_non_null(strstr(xml, "bell\xef\xbf\xbd-esc"));
    assert_non_null(strstr(xml, "tabbed"));
    c.names = g_string_new(NULL);
    parse_junit(xml, &c);
    g_string_free(c.names, TRUE);
}

/*
 * Issue 11 item 1: a device node is written through (here a private copy
 * of /dev/full: the write fails with its reason and the node stays), a
 * symlink is followed and kept.
 */
static void test_outputs_written_through(void **state)
{
    Fixture *fx = *state;
    g_autofree char *dir = g_dir_make_tmp("rig-report-XXXXXX", NULL);
    g_autofree char *full = g_build_filename(dir, "full", NULL);
    g_autofree char *target = g_build_filename(dir, "target.xml", NULL);
    g_autofree char *link = g_build_filename(dir, "link.xml", NULL);
    g_autofree char *jlink = g_build_filename(dir, "link.json", NULL);
    g_autofree char *jtarget = g_build_filename(dir, "target.json", NULL);
    g_autoptr(GError) error = NULL;
    struct stat st;

    if (mknod(full, S_IFCHR | 0666, makedev(1, 7)) == 0) {
        assert_false(report_write_json(fx->report, full, &error));
        assert_non_null(strstr(error->message, full));
        assert_non_null(strstr(error->message, g_strerror(ENOSPC)));
        g_clear_error(&error);
        assert_false(report_write_junit(fx->report, full, &error));
        g_clear_error(&error);
        assert_int_equal(lstat(full, &st), 0);
        assert_true(S_ISCHR(st.st_mode));
        g_unlink(full);
    }
    assert_int_equal(symlink(target, link), 0);
    assert_true(report_write_junit(fx->report, link, &error));
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_true(g_file_test(target, G_FILE_TEST_IS_REGULAR));
    assert_int_equal(symlink("target.json", jlink), 0);
    assert_true(report_write_json(fx->report, jlink, &error));
    assert_int_equal(lstat(jlink, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_true(g_file_test(jtarget, G_FILE_TEST_IS_REGULAR));
    g_unlink(link);
    g_unlink(target);
    g_unlink(jlink);
    g_unlink(jtarget);
    g_rmdir(dir);
}

static void test_table(void **state)
{
    Fixture *fx = *state;
    g_autofree char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    report_print_table(fx->report, out);
    fclose(out);
    assert_non_null(strstr(text, "demo/one"));
    assert_non_null(strstr(text, "XFAIL"));
    assert_non_null(strstr(text, "expected: 4 frames"));
    assert_non_null(strstr(text, "verdict: PASS (2 scenarios; checks: 2 "
                                 "passed, 0 failed, 1 known failures"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_verdict),
        T(test_verdict_incomplete),
        T(test_json_roundtrip),
        T(test_junit),
        T(test_junit_errors),
        T(test_table),
        T(test_outputs_written_through),
        T(test_junit_control_characters),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
