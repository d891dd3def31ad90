/*
 * Schedule arithmetic: the grid, the phase offset and each late policy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "trafgen/pacer.h"
#include "trafgen/schedule.h"

#define P 100000 /* 100 us */
#define Q 52000  /* catchup: the shortest gap, 52 % of P */

static void test_grid_on_time(void **state)
{
    TrafgenSchedule s;

    trafgen_schedule_init(&s, 1000000, P, 0, 10000, TRAFGEN_LATE_KEEP);
    for (uint64_t k = 0; k < 5; k++) {
        /* arriving early never changes the grid */
        assert_int_equal(
            trafgen_schedule_next(&s, 1000000 + (int64_t)k * P - 50000),
            1000000 + (int64_t)k * P);
        trafgen_schedule_advance(&s);
    }
    assert_int_equal(s.late_slots, 0);
    assert_int_equal(trafgen_schedule_deadline(&s, 1000), 1000000 + 1000 * P);
}

static void test_phase_offset(void **state)
{
    TrafgenSchedule s;

    trafgen_schedule_init(&s, 1000000, P, 30000, 0, TRAFGEN_LATE_KEEP);
    assert_int_equal(trafgen_schedule_next(&s, 0), 1030000);
    trafgen_schedule_advance(&s);
    assert_int_equal(trafgen_schedule_next(&s, 0), 1130000);

    trafgen_schedule_init(&s, 1000000, P, -40000, 0, TRAFGEN_LATE_KEEP);
    assert_int_equal(trafgen_schedule_deadline(&s, 2), 960000 + 2 * P);
}

static void test_threshold_boundary(void **state)
{
    TrafgenSchedule s;

    trafgen_schedule_init(&s, 0, P, 0, 10000, TRAFGEN_LATE_SKIP);
    /* exactly at the threshold: not late */
    assert_int_equal(trafgen_schedule_next(&s, 10000), 0);
    assert_int_equal(s.late_slots, 0);
    trafgen_schedule_advance(&s);
    /* one ns more: late */
    assert_int_equal(trafgen_schedule_next(&s, P + 10001), 2 * P);
    assert_int_equal(s.late_slots, 1);
}

static void test_late_keep(void **state)
{
    TrafgenSchedule s;

    trafgen_schedule_init(&s, 0, P, 0, 10000, TRAFGEN_LATE_KEEP);
    trafgen_schedule_advance(&s);
    /* 3.5 periods late: the overdue deadline is returned (send now) ... */
    assert_int_equal(trafgen_schedule_next(&s, P + 350000), P);
    assert_int_equal(s.late_slots, 1);
    trafgen_schedule_advance(&s);
    /* ... and the grid is kept: the next slots are overdue too (burst) */
    assert_int_equal(trafgen_schedule_next(&s, P + 350001), 2 * P);
    assert_int_equal(s.late_slots, 2);
    assert_int_equal(s.skipped_slots, 0);
    assert_int_equal(s.reanchors, 0);
}

static void test_late_skip(void **state)
{
    TrafgenSchedule s;

    trafgen_schedule_init(&s, 0, P, 5000, 10000, TRAFGEN_LATE_SKIP);
    trafgen_schedule_advance(&s); /* slot 1 due at 105000 */
    /* now = 355000: slots 1, 2, 3 have passed; slot 4 (405000) is ahead */
    assert_int_equal(trafgen_schedule_next(&s, 355000), 405000);
    assert_int_equal(s.slot, 4);
    assert_int_equal(s.skipped_slots, 3);
    assert_int_equal(s.late_slots, 1);
    trafgen_schedule_advance(&s);
    /* phase kept: the grid did not move */
    assert_int_equal(trafgen_schedule_next(&s, 406000), 505000);
    assert_int_equal(s.late_slots, 1);
}

static void test_late_skip_exact_deadline(void **state)
{
    TrafgenSchedule s;

    trafgen_schedule_init(&s, 0, P, 0, 0, TRAFGEN_LATE_SKIP);
    /* now exactly on slot 3's deadline: the first slot still ahead is 4 */
    assert_int_equal(trafgen_schedule_next(&s, 3 * P), 4 * P);
    assert_int_equal(s.skipped_slots, 4);
}

static void test_late_reanchor(void **state)
{
    TrafgenSchedule s;

    trafgen_schedule_init(&s, 0, P, 0, 10000, TRAFGEN_LATE_REANCHOR);
    trafgen_schedule_advance(&s);
    trafgen_schedule_advance(&s); /* slot 2 due at 200000 */
    assert_int_equal(trafgen_schedule_next(&s, 475000), 475000);
    assert_int_equal(s.reanchors, 1);
    assert_int_equal(s.late_slots, 1);
    trafgen_schedule_advance(&s);
    /* the grid restarts from the late send */
    assert_int_equal(trafgen_schedule_next(&s, 476000), 575000);
    trafgen_schedule_advance(&s);
    assert_int_equal(trafgen_schedule_next(&s, 576000), 675000);
    assert_int_equal(s.reanchors, 1);
}

static void test_late_catchup(void **state)
{
    TrafgenSchedule s;

    trafgen_schedule_init(&s, 0, P, 0, 10000, TRAFGEN_LATE_CATCHUP);
    assert_int_equal(trafgen_schedule_next(&s, -5000), 0);
    trafgen_schedule_advance(&s);
    /* slot 1 reached 40 us late: it goes now and slot 2 stays on the grid
     * (a 60 us gap, as with keep) */
    assert_int_equal(trafgen_schedule_next(&s, P + 40000), P);
    trafgen_schedule_advance(&s);
    assert_int_equal(trafgen_schedule_next(&s, P + 45000), 2 * P);
    assert_int_equal(s.late_slots, 1);
    trafgen_schedule_advance(&s);
    /* slot 3 reached 80 us late: it goes now, the grid is kept ... */
    assert_int_equal(trafgen_schedule_next(&s, 3 * P + 80000), 3 * P);
    assert_int_equal(s.late_slots, 2);
    trafgen_schedule_advance(&s);
    /* ... but slot 4 waits 52 us after it, not 20 us (a burst) */
    assert_int_equal(trafgen_schedule_next(&s, 3 * P + 85000),
                     3 * P + 80000 + Q);
    trafgen_schedule_advance(&s);
    /* and slot 5 is back on the grid */
    assert_int_equal(trafgen_schedule_next(&s, 4 * P + 33000), 5 * P);
    assert_int_equal(s.late_slots, 2);
    assert_int_equal(s.skipped_slots, 0);
    assert_int_equal(s.reanchors, 0);
}

static void test_catchup_from_the_real_send(void **state)
{
    TrafgenSchedule s;

    trafgen_schedule_init(&s, 0, P, 0, 10000, TRAFGEN_LATE_CATCHUP);
    /* slot 0 reached on time, but a stall held its send until 70 us */
    assert_int_equal(trafgen_schedule_next(&s, -20000), 0);
    trafgen_schedule_sent(&s, 70000);
    trafgen_schedule_advance(&s);
    assert_int_equal(trafgen_schedule_next(&s, 71000), 70000 + Q);
    trafgen_schedule_sent(&s, 122000);
    trafgen_schedule_advance(&s);
    assert_int_equal(trafgen_schedule_next(&s, 123000), 2 * P);
    /* an earlier report changes nothing */
    trafgen_schedule_sent(&s, 100);
    trafgen_schedule_advance(&s);
    assert_int_equal(trafgen_schedule_next(&s, 201000), 3 * P);
}

static void test_catchup_long_stall(void **state)
{
    TrafgenSchedule s;
    int64_t previous;
    uint64_t k;

    trafgen_schedule_init(&s, 0, P, 0, 10000, TRAFGEN_LATE_CATCHUP);
    trafgen_schedule_next(&s, 0);
    trafgen_schedule_advance(&s);
    /* 1 ms stall: slot 1 goes at 1.1 ms, 10 periods behind */
    assert_int_equal(trafgen_schedule_next(&s, 1100000), P);
    previous = 1100000;
    for (k = 2; k < 60; k++) {
        int64_t d;

        trafgen_schedule_advance(&s);
        d = trafgen_schedule_next(&s, previous + 1000);
        assert_true(d >= (int64_t)k * P);
        if (d == (int64_t)k * P) {
            break;
        }
        /* the overdue ones follow 52 us apart: never a burst */
        assert_int_equal(d - previous, Q);
        previous = d;
    }
    /* 1000 us made up 48 us at a time, none dropped */
    assert_int_equal(k, 2 + 1000000 / (P - Q));
    assert_int_equal(s.skipped_slots, 0);
}

static void test_policy_names(void **state)
{
    TrafgenLatePolicy p = TRAFGEN_LATE_KEEP;

    assert_true(trafgen_late_policy_from_string("skip", &p));
    assert_int_equal(p, TRAFGEN_LATE_SKIP);
    assert_true(trafgen_late_policy_from_string("reanchor", &p));
    assert_int_equal(p, TRAFGEN_LATE_REANCHOR);
    assert_true(trafgen_late_policy_from_string("keep", &p));
    assert_int_equal(p, TRAFGEN_LATE_KEEP);
    assert_true(trafgen_late_policy_from_string("catchup", &p));
    assert_int_equal(p, TRAFGEN_LATE_CATCHUP);
    assert_string_equal(trafgen_late_policy_to_string(TRAFGEN_LATE_CATCHUP),
                        "catchup");
    assert_false(trafgen_late_policy_from_string("drop", &p));
    assert_false(trafgen_late_policy_from_string(NULL, &p));
    assert_string_equal(trafgen_late_policy_to_string(TRAFGEN_LATE_SKIP),
                        "skip");
}

/* The guard leaves every period 15 % asleep: no RT throttling. */
static void test_pacer_max_guard(void **state)
{
    assert_int_equal(trafgen_pacer_max_guard(100000), 85000);
    assert_int_equal(trafgen_pacer_max_guard(20000), 17000);
    assert_true(TRAFGEN_DEFAULT_GUARD_NS <= trafgen_pacer_max_guard(100000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_on_time),
        cmocka_unit_test(test_pacer_max_guard),
        cmocka_unit_test(test_phase_offset),
        cmocka_unit_test(test_threshold_boundary),
        cmocka_unit_test(test_late_keep),
        cmocka_unit_test(test_late_skip),
        cmocka_unit_test(test_late_skip_exact_deadline),
        cmocka_unit_test(test_late_reanchor),
        cmocka_unit_test(test_late_catchup),
        cmocka_unit_test(test_catchup_from_the_real_send),
        cmocka_unit_test(test_catchup_long_stall),
        cmocka_unit_test(test_policy_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
