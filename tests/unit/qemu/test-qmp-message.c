/*
 * QMP message parsing: every message kind, QMP errors as GError, and
 * malformed input that must give an error instead of a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "qemu/qmp-message.h"

static RigQmpMessage *parse_ok(const char *text)
{
    g_autoptr(GError) error = NULL;
    RigQmpMessage *message = rig_qmp_message_parse(text, -1, &error);

    if (message == NULL) {
        fail_msg("parse failed: %s", error->message);
    }
    return message;
}

static void test_greeting(void **state)
{
    g_autoptr(RigQmpMessage) message = parse_ok(
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 13, \"minor\": 0, "
        "\"major\": 10}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}"
        "\r\n");

    assert_int_equal(message->kind, RIG_QMP_MESSAGE_GREETING);
    assert_non_null(message->payload);
    JsonObject *qmp = json_node_get_object(message->payload);
    JsonObject *version = json_object_get_object_member(qmp, "version");
    JsonObject *qemu = json_object_get_object_member(version, "qemu");
    assert_int_equal(json_object_get_int_member(qemu, "major"), 10);
    assert_null(message->id);
}

static void test_return(void **state)
{
    g_autoptr(RigQmpMessage) message =
        parse_ok("{\"return\": 250000, \"id\": \"rig-7\"}");

    assert_int_equal(message->kind, RIG_QMP_MESSAGE_RETURN);
    assert_string_equal(message->id, "rig-7");
    assert_int_equal(json_node_get_int(message->payload), 250000);
}

static void test_return_empty_object(void **state)
{
    g_autoptr(RigQmpMessage) message = parse_ok("{\"return\": {}}");

    assert_int_equal(message->kind, RIG_QMP_MESSAGE_RETURN);
    assert_true(JSON_NODE_HOLDS_OBJECT(message->payload));
    assert_null(message->id);
}

static void test_non_string_id_is_ignored(void **state)
{
    g_autoptr(RigQmpMessage) message = parse_ok("{\"return\": {}, \"id\": 42}");

    assert_null(message->id);
}

static void test_error_to_gerror(void **state)
{
    g_autoptr(RigQmpMessage) message =
        parse_ok("{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"Property 'virtio-net-pci.rsc-stats' not found\"}, "
                 "\"id\": \"rig-2\"}");
    g_autoptr(GError) error = NULL;

    assert_int_equal(message->kind, RIG_QMP_MESSAGE_ERROR);
    assert_string_equal(message->error_class, "GenericError");
    assert_string_equal(message->id, "rig-2");
    rig_qmp_message_to_error(message, &error);
    assert_true(
        g_error_matches(error, RIG_QMP_ERROR, RIG_QMP_ERROR_GENERIC_ERROR));
    assert_string_equal(error->message,
                        "GenericError: Property 'virtio-net-pci.rsc-stats' "
                        "not found");
}

static void test_error_classes(void **state)
{
    static const struct {
        const char *name;
        RigQmpError code;
    } cases[] = {
        {"CommandNotFound", RIG_QMP_ERROR_COMMAND_NOT_FOUND},
        {"DeviceNotFound", RIG_QMP_ERROR_DEVICE_NOT_FOUND},
        {"DeviceNotActive", RIG_QMP_ERROR_DEVICE_NOT_ACTIVE},
        {"KVMMissingCap", RIG_QMP_ERROR_KVM_MISSING_CAP},
        {"SomethingNew", RIG_QMP_ERROR_UNKNOWN_CLASS},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *text = g_strdup_printf(
            "{\"error\": {\"class\": \"%s\", \"desc\": \"d\"}}", cases[i].name);
        g_autoptr(RigQmpMessage) message = parse_ok(text);
        g_autoptr(GError) error = NULL;

        rig_qmp_message_to_error(message, &error);
        assert_int_equal(error->code, cases[i].code);
        g_autofree char *expected = g_strdup_printf("%s: d", cases[i].name);
        assert_string_equal(error->message, expected);
    }
    assert_string_equal(
        rig_qmp_error_class_from_code(RIG_QMP_ERROR_DEVICE_NOT_FOUND),
        "DeviceNotFound");
    assert_null(rig_qmp_error_class_from_code(RIG_QMP_ERROR_TIMEOUT));
}

static void test_event(void **state)
{
    g_autoptr(RigQmpMessage) message = parse_ok(
        "{\"timestamp\": {\"seconds\": 1700000000, "
        "\"microseconds\": 250}, \"event\": \"SHUTDOWN\", "
        "\"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}");

    assert_int_equal(message->kind, RIG_QMP_MESSAGE_EVENT);
    assert_string_equal(message->event, "SHUTDOWN");
    assert_int_equal(message->timestamp_us, 1700000000LL * 1000000 + 250);
    assert_string_equal(json_object_get_string_member(
                            json_node_get_object(message->payload), "reason"),
                        "host-qmp-quit");
}

static void test_event_without_data(void **state)
{
    g_autoptr(RigQmpMessage) message = parse_ok("{\"event\": \"RESUME\"}");

    assert_int_equal(message->kind, RIG_QMP_MESSAGE_EVENT);
    assert_null(message->payload);
    assert_int_equal(message->timestamp_us, 0);
}

static void assert_invalid(const char *text, gssize length)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(RigQmpMessage) message =
        rig_qmp_message_parse(text, length, &error);

    assert_null(message);
    assert_non_null(error);
    assert_true(
        g_error_matches(error, RIG_QMP_ERROR, RIG_QMP_ERROR_INVALID_MESSAGE));
}

static void test_malformed(void **state)
{
    static const char *const cases[] = {
        "",
        "   \r\n",
        "{",
        "{\"return\": ",
        "{\"return\": {}",
        "{\"QMP\": {\"version\"",
        "not json",
        "[]",
        "42",
        "\"return\"",
        "null",
        "{}",
        "{\"unknown\": 1}",
        "{\"QMP\": 1}",
        "{\"error\": \"oops\"}",
        "{\"error\": {\"class\": \"GenericError\"}}",
        "{\"error\": {\"desc\": \"x\"}}",
        "{\"error\": {\"class\": 3, \"desc\": \"x\"}}",
        "{\"event\": 5}",
        "{\"event\": null}",
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        assert_invalid(cases[i], -1);
    }
}

static void test_truncated_prefixes(void **state)
{
    static const char full[] =
        "{\"event\": \"NIC_RX_FILTER_CHANGED\", \"data\": {\"name\": \"net0\", "
        "\"path\": \"/machine/peripheral/net0/virtio-backend\"}, "
        "\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}";

    /* Every proper prefix is invalid and must not crash. */
    for (gssize length = 0; length < (gssize)sizeof(full) - 1; length++) {
        assert_invalid(full, length);
    }
}

static void test_embedded_nul(void **state)
{
    static const char text[] = "{\"return\": {}}\0garbage";

    assert_invalid(text, sizeof(text) - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greeting),
        cmocka_unit_test(test_return),
        cmocka_unit_test(test_return_empty_object),
        cmocka_unit_test(test_non_string_id_is_ignored),
        cmocka_unit_test(test_error_to_gerror),
        cmocka_unit_test(test_error_classes),
        cmocka_unit_test(test_event),
        cmocka_unit_test(test_event_without_data),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_truncated_prefixes),
        cmocka_unit_test(test_embedded_nul),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
