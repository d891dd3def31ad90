/*
 * The capability probe's interpretation of QMP replies, its names and its
 * sentences; the probe against real binaries is in
 * tests/integration/test_qemu_caps.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "qemu/caps.h"

static JsonNode *parse(const char *text)
{
    g_autoptr(GError) error = NULL;
    JsonNode *node = json_from_string(text, &error);

    assert_null(error);
    assert_non_null(node);
    return node;
}

static void test_accels(void **state)
{
    /* Debian 12's 7.2 and the rig's 10.0 build, as they answer. */
    g_autoptr(JsonNode) debian =
        parse("[{\"name\": \"tcg-accel\", \"parent\": \"accel\"}, {\"name\": "
              "\"kvm-accel\", \"parent\": \"accel\"}, {\"name\": \"accel\", "
              "\"parent\": \"object\"}]");
    g_autoptr(JsonNode) rig = parse("[{\"name\": \"qtest-accel\", \"parent\": "
                                    "\"accel\"}, {\"name\": \"tcg-accel\"}]");
    g_autoptr(JsonNode) odd = parse("[1, \"qtest-accel\", {\"name\": 3}]");
    g_autoptr(JsonNode) not_list = parse("{\"name\": \"qtest-accel\"}");

    (void)state;
    assert_false(rig_qemu_caps_parse_accels(debian));
    assert_true(rig_qemu_caps_parse_accels(rig));
    assert_false(rig_qemu_caps_parse_accels(odd));
    assert_false(rig_qemu_caps_parse_accels(not_list));
    assert_false(rig_qemu_caps_parse_accels(NULL));
}

static void test_trace_events(void **state)
{
    g_autoptr(JsonNode) events = parse(
        "[{\"name\": \"virtio_net_rsc_drained\", \"state\": \"disabled\"}, "
        "{\"name\": \"virtio_net_rsc_cached\", \"state\": \"disabled\"}, "
        "{\"name\": \"virtio_net_announce_timer\"}, {\"state\": \"x\"}, 7]");
    g_autoptr(JsonNode) none = parse("[]");
    g_auto(GStrv) names = rig_qemu_caps_parse_trace_events(events);
    g_auto(GStrv) empty = rig_qemu_caps_parse_trace_events(none);
    g_auto(GStrv) missing = rig_qemu_caps_parse_trace_events(NULL);

    (void)state;
    assert_int_equal(g_strv_length(names), 2);
    assert_string_equal(names[0], "virtio_net_rsc_cached");
    assert_string_equal(names[1], "virtio_net_rsc_drained");
    assert_null(empty[0]);
    assert_null(missing[0]);
}

static void test_version(void **state)
{
    g_autoptr(JsonNode) debian =
        parse("{\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
              "\"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}");
    g_autoptr(JsonNode) bare =
        parse("{\"qemu\": {\"micro\": 13, \"minor\": 0, \"major\": 10}}");
    g_autoptr(JsonNode) negative =
        parse("{\"qemu\": {\"micro\": -1, \"minor\": 0, \"major\": 10}}");
    g_autoptr(JsonNode) text =
        parse("{\"qemu\": {\"micro\": \"1\", \"minor\": 0, \"major\": 10}}");
    g_autoptr(JsonNode) no_qemu = parse("{\"package\": \"x\"}");
    g_autofree char *package = NULL;
    g_autofree char *bare_package = NULL;
    g_autofree char *v = rig_qemu_caps_parse_version(debian, &package);
    g_autofree char *v2 = rig_qemu_caps_parse_version(bare, &bare_package);
    char *untouched = NULL;

    (void)state;
    assert_string_equal(v, "7.2.22");
    assert_string_equal(package, "Debian 1:7.2+dfsg-7+deb12u18+b3");
    assert_string_equal(v2, "10.0.13");
    assert_string_equal(bare_package, "");
    assert_null(rig_qemu_caps_parse_version(negative, &untouched));
    assert_null(rig_qemu_caps_parse_version(text, &untouched));
    assert_null(rig_qemu_caps_parse_version(no_qemu, &untouched));
    assert_null(rig_qemu_caps_parse_version(NULL, &untouched));
    assert_null(untouched);
}

static void test_names_are_stable(void **state)
{
    static const char *const expected[RIG_QEMU_N_CAPS] = {
        "accel-qtest",           "rsc-ext", "rsc-stats", "rsc-trace",
        "rsc-interval-writable",
    };

    (void)state;
    for (guint i = 0; i < RIG_QEMU_N_CAPS; i++) {
        assert_string_equal(rig_qemu_cap_name(i), expected[i]);
        assert_true(strlen(rig_qemu_cap_description(i)) > 5);
    }
}

static void test_missing_and_json(void **state)
{
    g_autofree char *qemu = g_strdup("/usr/bin/qemu-system-x86_64");
    g_autofree char *version = g_strdup("7.2.22");
    g_autofree char *package = g_strdup("Debian 1:7.2+dfsg-7+deb12u18+b3");
    g_autofree char *detail = g_strdup("refused");
    g_auto(GStrv) events = g_strsplit("virtio_net_rsc_cached", ",", -1);
    RigQemuCaps caps = {
        .qemu = qemu,
        .version = version,
        .package = package,
        .has = {[RIG_QEMU_CAP_RSC_EXT] = TRUE, [RIG_QEMU_CAP_RSC_TRACE] = TRUE},
        .trace_events = events,
        .interval_detail = detail,
        .probe_s = 0.25,
    };
    g_autofree char *why =
        rig_qemu_caps_missing(&caps, RIG_QEMU_CAP_ACCEL_QTEST);
    g_autofree char *none = rig_qemu_caps_missing(&caps, RIG_QEMU_CAP_RSC_EXT);
    g_autoptr(JsonNode) node = rig_qemu_caps_to_json(&caps);
    JsonObject *o = json_node_get_object(node);
    JsonObject *has = json_object_get_object_member(o, "capabilities");
    JsonArray *missing = json_object_get_array_member(o, "missing");

    (void)state;
    assert_string_equal(why, "needs accel-qtest (the qtest accelerator, "
                             "-accel qtest), which QEMU 7.2.22 "
                             "(/usr/bin/qemu-system-x86_64) lacks");
    assert_null(none);
    assert_string_equal(json_object_get_string_member(o, "version"), "7.2.22");
    assert_false(json_object_get_boolean_member(has, "accel-qtest"));
    assert_true(json_object_get_boolean_member(has, "rsc-ext"));
    assert_true(json_object_get_boolean_member(has, "rsc-trace"));
    assert_int_equal(json_array_get_length(missing), 3);
    assert_string_equal(json_array_get_string_element(missing, 0),
                        "accel-qtest");
    assert_string_equal(json_array_get_string_element(missing, 2),
                        "rsc-interval-writable");
    assert_string_equal(json_array_get_string_element(
                            json_object_get_array_member(o, "trace_events"), 0),
                        "virtio_net_rsc_cached");
    assert_string_equal(json_object_get_string_member(o, "rsc_interval_detail"),
                        "refused");
}

static void test_probe_refuses_a_missing_binary(void **state)
{
    g_autoptr(GError) error = NULL;

    (void)state;
    assert_null(rig_qemu_caps_probe("/nonexistent/qemu-system-x86_64", &error));
    assert_non_null(error);
    assert_non_null(strstr(error->message, "/nonexistent/qemu-system-x86_64"));
}

static void test_probe_reports_a_binary_that_is_not_qemu(void **state)
{
    g_autoptr(GError) error = NULL;

    (void)state;
    /* Exits at once: the probe says it could not probe, and why. */
    assert_null(rig_qemu_caps_probe("/bin/false", &error));
    assert_non_null(error);
    assert_non_null(strstr(error->message, "/bin/false could not be probed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accels),
        cmocka_unit_test(test_trace_events),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_names_are_stable),
        cmocka_unit_test(test_missing_and_json),
        cmocka_unit_test(test_probe_refuses_a_missing_binary),
        cmocka_unit_test(test_probe_reports_a_binary_that_is_not_qemu),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
