/*
 * rsc-cleanup: the script names the three helper drivers and uses
 * pnputil; its report reads as done only when nothing is left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "session/cleanup.h"

static void test_script(void **unused)
{
    g_autofree char *script = session_cleanup_script();

    assert_non_null(strstr(script, "coalesce.sys"));
    assert_non_null(strstr(script, "spartadrv.sys"));
    assert_non_null(strstr(script, "netcapdrv6.sys"));
    assert_non_null(strstr(script, "pnputil.exe /delete-driver"));
    assert_non_null(strstr(script, "'##RIG end'"));
}

static void test_parse(void **unused)
{
    g_autofree char *removed = NULL;
    g_autoptr(GError) error = NULL;

    assert_true(session_cleanup_parse(
        "##RIG removed oem12.inf coalesce.sys\r\n##RIG deleted "
        "spartadrv.sys\r\n##RIG left 0\r\n##RIG end\r\n",
        &removed, &error));
    assert_string_equal(
        removed, "removed oem12.inf coalesce.sys\ndeleted spartadrv.sys\n");
    g_clear_pointer(&removed, g_free);
    assert_false(session_cleanup_parse(
        "##RIG failed oem3.inf: access denied\n##RIG left 1\n##RIG end\n",
        &removed, &error));
    assert_non_null(strstr(error->message, "1 of the RSC test's helper"));
    assert_non_null(strstr(error->message, "access denied"));
    g_clear_error(&error);
    assert_false(session_cleanup_parse("garbage", &removed, &error));
    assert_non_null(strstr(error->message, "did not run to its end"));
    assert_null(removed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_script),
        cmocka_unit_test(test_parse),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
