/*
 * The tap's counters from a /proc/net/dev text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "campaign/tapstats.h"

static const char DEV[] =
    "Inter-|   Receive                                                |  "
    "Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes"
    "    packets errs drop fifo colls carrier compressed\n"
    "    lo:       0       0    0    0    0     0          0         0      "
    "  0       0    0    0    0     0       0          0\n"
    "rigfz0: 123456     789    0    1    0     0          0         0 "
    "98765432   43210    0   17    0     0       0          0\n"
    "rigfz01:  1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";

static void test_reads_tx_packets_and_drops(void **state)
{
    FuzzTapStats s = {0};

    assert_true(fuzz_tap_stats_parse(DEV, "rigfz0", &s));
    assert_int_equal(s.tx_packets, 43210);
    assert_int_equal(s.tx_dropped, 17);
}

static void test_name_must_match_exactly(void **state)
{
    FuzzTapStats s = {0};

    assert_true(fuzz_tap_stats_parse(DEV, "rigfz01", &s));
    assert_int_equal(s.tx_packets, 10);
    assert_int_equal(s.tx_dropped, 12);
    assert_false(fuzz_tap_stats_parse(DEV, "rigfz", &s));
    assert_false(fuzz_tap_stats_parse(DEV, "eth0", &s));
}

static void test_short_line_is_refused(void **state)
{
    FuzzTapStats s = {.tx_packets = 5};

    assert_false(fuzz_tap_stats_parse("rigfz0: 1 2 3\n", "rigfz0", &s));
    assert_int_equal(s.tx_packets, 5);
    assert_false(fuzz_tap_stats_parse("", "rigfz0", &s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_tx_packets_and_drops),
        cmocka_unit_test(test_name_must_match_exactly),
        cmocka_unit_test(test_short_line_is_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
