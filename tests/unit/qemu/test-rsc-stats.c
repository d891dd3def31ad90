/*
 * rsc-stats parsing: the property value of the patched QEMU, complete and
 * broken in each way a reader must notice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "qemu/rsc-stats.h"

/* QEMU's property value; each counter gets a distinct value. */
static JsonNode *build_stats(const char *skip_family, const char *skip_name,
                             const char *bad_name, const char *bad_json)
{
    g_autoptr(GString) text = g_string_new("{");
    const char *const families[] = {"ipv4", "ipv6"};

    for (int f = 0; f < 2; f++) {
        g_string_append_printf(text, "%s\"%s\": {", f ? ", " : "", families[f]);
        gboolean first = TRUE;
        for (guint i = 0; i < RSC_STATS_N_FIELDS; i++) {
            const char *name = rsc_stats_field_name(i);
            if (g_strcmp0(skip_family, families[f]) == 0 &&
                g_strcmp0(skip_name, name) == 0) {
                continue;
            }
            g_string_append_printf(text, "%s\"%s\": ", first ? "" : ", ", name);
            if (f == 1 && g_strcmp0(bad_name, name) == 0) {
                g_string_append(text, bad_json);
            } else {
                g_string_append_printf(text, "%u", f * 1000 + i);
            }
            first = FALSE;
        }
        g_string_append(text, ", \"future_counter\": 9}");
    }
    g_string_append(text, "}");

    g_autoptr(GError) error = NULL;
    JsonNode *node = json_from_string(text->str, &error);
    assert_non_null(node);
    return node;
}

static void test_names(void **state)
{
    assert_string_equal(rsc_stats_field_name(RSC_STATS_INDEX(received)),
                        "received");
    assert_string_equal(
        rsc_stats_field_name(RSC_STATS_INDEX(data_after_pure_ack)),
        "data_after_pure_ack");
    assert_string_equal(rsc_stats_field_name(RSC_STATS_INDEX(timer)), "timer");
    assert_null(rsc_stats_field_name(RSC_STATS_N_FIELDS));
    assert_int_equal(RSC_STATS_N_FIELDS, 27);
    for (guint i = 0; i < RSC_STATS_N_FIELDS; i++) {
        assert_non_null(rsc_stats_field_name(i));
        for (guint j = 0; j < i; j++) {
            assert_string_not_equal(rsc_stats_field_name(i),
                                    rsc_stats_field_name(j));
        }
    }
}

static void test_complete(void **state)
{
    g_autoptr(JsonNode) node = build_stats(NULL, NULL, NULL, NULL);
    g_autoptr(GError) error = NULL;
    RigRscStats stats;

    assert_true(rig_rsc_stats_parse(node, &stats, &error));
    for (guint i = 0; i < RSC_STATS_N_FIELDS; i++) {
        assert_int_equal(stats.ipv4.counter[i], i);
        assert_int_equal(stats.ipv6.counter[i], 1000 + i);
    }
    assert_int_equal(stats.ipv4.coalesced, RSC_STATS_INDEX(coalesced));
    assert_int_equal(stats.ipv6.ip_ecn, 1000 + RSC_STATS_INDEX(ip_ecn));
    assert_int_equal(stats.ipv6.timer, 1000 + RSC_STATS_INDEX(timer));
}

static void test_round_trip(void **state)
{
    g_autoptr(JsonNode) node = build_stats(NULL, NULL, NULL, NULL);
    RigRscStats stats;
    RigRscStats again;

    assert_true(rig_rsc_stats_parse(node, &stats, NULL));
    g_autoptr(JsonNode) written = rig_rsc_stats_to_json(&stats);
    assert_true(rig_rsc_stats_parse(written, &again, NULL));
    assert_memory_equal(&stats, &again, sizeof(stats));
    JsonObject *ipv4 =
        json_object_get_object_member(json_node_get_object(written), "ipv4");
    assert_int_equal(json_object_get_size(ipv4), RSC_STATS_N_FIELDS);
}

static void assert_rejected(JsonNode *node, const char *fragment)
{
    g_autoptr(GError) error = NULL;
    RigRscStats stats;

    memset(&stats, 0xa5, sizeof(stats));
    RigRscStats untouched = stats;
    assert_false(rig_rsc_stats_parse(node, &stats, &error));
    assert_true(
        g_error_matches(error, RIG_QMP_ERROR, RIG_QMP_ERROR_INVALID_REPLY));
    if (strstr(error->message, fragment) == NULL) {
        fail_msg("\"%s\" does not mention \"%s\"", error->message, fragment);
    }
    /* ret_ parameters are set only on success. */
    assert_memory_equal(&stats, &untouched, sizeof(stats));
}

static void test_missing_counter(void **state)
{
    g_autoptr(JsonNode) v4 = build_stats("ipv4", "coalesced", NULL, NULL);
    g_autoptr(JsonNode) v6 = build_stats("ipv6", "timer", NULL, NULL);

    assert_rejected(v4, "ipv4.coalesced is missing");
    assert_rejected(v6, "ipv6.timer is missing");
}

static void test_wrong_type(void **state)
{
    static const char *const bad[] = {"\"12\"", "1.5", "true", "null",
                                      "{}",     "[]",  "-1"};

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(JsonNode) node = build_stats(NULL, NULL, "dup_ack", bad[i]);
        assert_rejected(node, "ipv6.dup_ack is not a non-negative integer");
    }
}

static void test_wrong_shape(void **state)
{
    static const struct {
        const char *json;
        const char *fragment;
    } cases[] = {
        {"[]", "not a JSON object"},
        {"7", "not a JSON object"},
        {"{}", "\"ipv4\" is missing"},
        {"{\"ipv4\": [], \"ipv6\": {}}", "\"ipv4\" is not an object"},
        {"{\"ipv4\": {}, \"ipv6\": {}}", "ipv4.received is missing"},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(JsonNode) node = json_from_string(cases[i].json, NULL);
        assert_rejected(node, cases[i].fragment);
    }
    assert_rejected(NULL, "not a JSON object");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_complete),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_missing_counter),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_wrong_shape),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
