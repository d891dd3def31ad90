/*
 * Parsers of the Windows guest's RSC statistics, fed with PowerShell 5.1
 * ConvertTo-Json output in the shape Windows prints it.  The fixtures
 * (fixtures/docshape-windows-*) are written from Microsoft's documentation,
 * not recorded on a Windows machine: see fixtures/README.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "session/winstats.h"

static char *fixture(const char *name)
{
    g_autofree char *path = g_build_filename(SESSION_FIXTURE_DIR, name, NULL);
    char *text = NULL;

    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

static void test_rsc_statistics(void **state)
{
    g_autofree char *json = fixture("docshape-windows-ps51-rscstatistics.json");
    SessionWinRscStatistics s = {0};
    g_autoptr(GError) error = NULL;

    assert_true(session_winstats_parse_statistics(json, &s, &error));
    assert_int_equal(s.coalesced_packets, 1273);
    assert_int_equal(s.coalesced_bytes, 1838400);
    assert_int_equal(s.coalescing_events, 412);
    assert_int_equal(s.coalescing_exceptions, 0);
}

static void test_statistics_depth_truncated(void **state)
{
    g_autofree char *json =
        fixture("docshape-windows-ps51-netadapterstatistics-depth2.json");
    SessionWinRscStatistics s = {.coalesced_packets = 7};
    g_autoptr(GError) error = NULL;

    assert_false(session_winstats_parse_statistics(json, &s, &error));
    assert_true(g_error_matches(error, SESSION_WINSTATS_ERROR,
                                SESSION_WINSTATS_ERROR_SHAPE));
    assert_non_null(strstr(error->message, "-Depth"));
    assert_int_equal(s.coalesced_packets, 7); /* untouched on failure */
}

static void test_statistics_nested_and_errors(void **state)
{
    SessionWinRscStatistics s = {0};
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    g_autoptr(GError) e3 = NULL;

    assert_true(session_winstats_parse_statistics(
        "{\"Name\":\"Ethernet 2\",\"RscStatistics\":{\"CoalescedBytes\":5,"
        "\"CoalescedPackets\":\"4\",\"CoalescingEvents\":2,"
        "\"CoalescingExceptions\":0}}",
        &s, NULL));
    assert_int_equal(s.coalesced_packets, 4);
    assert_int_equal(s.coalesced_bytes, 5);
    assert_false(session_winstats_parse_statistics("not json", &s, &e1));
    assert_true(g_error_matches(e1, SESSION_WINSTATS_ERROR,
                                SESSION_WINSTATS_ERROR_JSON));
    assert_false(session_winstats_parse_statistics(
        "{\"CoalescedBytes\":-1,\"CoalescedPackets\":1,"
        "\"CoalescingEvents\":1,\"CoalescingExceptions\":0}",
        &s, &e2));
    assert_non_null(strstr(e2->message, "CoalescedBytes"));
    assert_false(session_winstats_parse_statistics("", &s, &e3));
}

static void test_get_netadapterrsc(void **state)
{
    g_autofree char *json =
        fixture("docshape-windows-ps51-get-netadapterrsc.json");
    SessionWinRscSetting r = {0};
    g_autoptr(GError) error = NULL;

    assert_true(session_winstats_parse_setting(json, &r, &error));
    assert_true(r.ipv4_enabled);
    assert_true(r.ipv6_enabled);
    assert_true(r.ipv4_operational);
    assert_false(r.ipv6_operational);
    assert_int_equal(r.ipv4_failure_reason, 0);
    assert_int_equal(r.ipv6_failure_reason, 4);
    assert_string_equal(session_win_failure_reason_name(0), "NoFailure");
    assert_null(session_win_failure_reason_name(4));
}

static void test_netkvm_diag(void **state)
{
    g_autofree char *json =
        fixture("docshape-windows-ps51-netkvm-diag-rx.json");
    SessionWinNetkvmDiag d = {0};
    g_autoptr(GError) error = NULL;

    assert_true(session_winstats_parse_diag(json, &d, &error));
    assert_int_equal(d.coalesced_win, 1273);
    assert_int_equal(d.coalesced_host, 0);
    /* The whole instance, rx nested, as an array of one adapter. */
    assert_true(session_winstats_parse_diag(
        "[{\"InstanceName\":\"x\",\"rx\":{\"CoalescedWin\":3,"
        "\"CoalescedHost\":9}}]",
        &d, NULL));
    assert_int_equal(d.coalesced_win, 3);
    assert_int_equal(d.coalesced_host, 9);
}

static void test_report(void **state)
{
    g_autofree char *text =
        fixture("docshape-windows-guest-exec-report-no-diag.txt");
    g_autoptr(GError) error = NULL;
    g_autoptr(SessionWinReport) r = session_winstats_parse_report(text, &error);
    g_autoptr(JsonNode) json = NULL;
    JsonObject *diag;

    assert_non_null(r);
    assert_string_equal(r->adapter, "Ethernet 2");
    assert_string_equal(r->description, "Red Hat VirtIO Ethernet Adapter #2");
    assert_int_equal(r->statistics_state, SESSION_WIN_OK);
    assert_int_equal(r->statistics.coalesced_packets, 1273);
    assert_int_equal(r->setting_state, SESSION_WIN_OK);
    assert_int_equal(r->diag_state, SESSION_WIN_FAILED);
    assert_non_null(strstr(r->diag_problem, "Invalid class"));
    json = session_win_report_to_json(r);
    diag = json_object_get_object_member(json_node_get_object(json),
                                         "netkvm_diag");
    assert_string_equal(json_object_get_string_member(diag, "state"), "failed");
}

static void test_report_no_adapter_and_garbage(void **state)
{
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;

    assert_null(session_winstats_parse_report(
        "##RIG no-adapter 52-54-00-01-02-01\r\n", &e1));
    assert_non_null(strstr(e1->message, "52-54-00-01-02-01"));
    assert_null(session_winstats_parse_report("hello\n", &e2));
    assert_true(g_error_matches(e2, SESSION_WINSTATS_ERROR,
                                SESSION_WINSTATS_ERROR_MISSING));
}

static void test_script_and_encoding(void **state)
{
    g_autofree char *script = session_winstats_script("52:54:00:0a:02:01");
    g_autofree char *enc = session_winstats_encode_command("ab");
    gsize len = 0;
    g_autofree guchar *raw = NULL;

    assert_non_null(strstr(script, "'52-54-00-0A-02-01'"));
    assert_non_null(strstr(script, "Get-NetAdapterRsc"));
    assert_non_null(strstr(script, "NetKvm_Diag"));
    raw = g_base64_decode(enc, &len);
    assert_int_equal(len, 4); /* UTF-16LE */
    assert_memory_equal(raw, "a\0b\0", 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsc_statistics),
        cmocka_unit_test(test_statistics_depth_truncated),
        cmocka_unit_test(test_statistics_nested_and_errors),
        cmocka_unit_test(test_get_netadapterrsc),
        cmocka_unit_test(test_netkvm_diag),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_report_no_adapter_and_garbage),
        cmocka_unit_test(test_script_and_encoding),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
