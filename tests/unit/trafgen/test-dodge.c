/*
 * Stall dodging: which grid offsets the stalls of the probes hit, which
 * offset the dodger moves to, and when it wakes the pacer early.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "trafgen/dodge.h"

#define P  100000 /* 100 us */
#define US 1000
#define MS 1000000 /* a hypervisor tick */

/* A probe that saw one stall of @length at @phase after each 1 ms tick of
 * the 4 ms window starting at @origin. */
static void probe_ticks(TrafgenDodger *d, int64_t origin, int64_t phase,
                        int64_t length)
{
    trafgen_dodger_begin_probe(d);
    for (int k = 0; k < 4; k++) {
        int64_t start = origin + k * MS + phase;

        trafgen_dodger_note_stall(d, start, start + length);
    }
}

static void test_supported_periods(void **state)
{
    assert_true(trafgen_dodge_supported(P));
    assert_true(trafgen_dodge_supported(50 * US));
    assert_true(trafgen_dodge_supported(4 * MS));
    assert_false(trafgen_dodge_supported(150 * US));
    assert_false(trafgen_dodge_supported(3 * MS));
    assert_false(trafgen_dodge_supported(0));
}

static void test_risk_is_the_lateness_caused(void **state)
{
    TrafgenDodger d;

    trafgen_dodger_init(&d, P);
    trafgen_dodger_begin_probe(&d);
    trafgen_dodger_note_stall(&d, 1020 * US, 1045 * US);
    /* deadlines at ...1000, 1100: the stall falls between them */
    assert_int_equal(trafgen_dodger_risk(&d, 0, 0), 0);
    /* moved by 30 us, a deadline at 1030 waits for the end at 1045 */
    assert_int_equal(trafgen_dodger_risk(&d, 0, 30 * US),
                     15 * US + d.before_ns);
    /* a stall starting just after a deadline still delays its frame */
    assert_true(trafgen_dodger_risk(&d, 0, 18 * US) > 0);
    assert_int_equal(trafgen_dodger_risk(&d, 0, 20 * US - d.after_ns), 0);
    /* a stall ending just before a deadline may not leave it late */
    assert_int_equal(trafgen_dodger_risk(&d, 0, 46 * US + d.before_ns), 0);
    /* the origin is anywhere: only its phase counts */
    assert_int_equal(trafgen_dodger_risk(&d, 7 * MS + 30 * US, 0),
                     15 * US + d.before_ns);
    assert_int_equal(trafgen_dodger_risk(&d, -3 * P, 30 * US),
                     15 * US + d.before_ns);
}

static void test_moves_out_of_a_tick_and_back(void **state)
{
    TrafgenDodger d;
    int64_t delta;

    trafgen_dodger_init(&d, P);
    /* a 25 us stall 2 us after every deadline */
    probe_ticks(&d, 0, 2 * US, 25 * US);
    assert_true(trafgen_dodger_risk(&d, 0, 0) > 0);
    delta = trafgen_dodger_end_probe(&d, 0);
    assert_int_not_equal(delta, 0);
    assert_int_equal(d.offset_ns, delta);
    assert_int_equal(d.stats.moves, 1);
    assert_int_equal(trafgen_dodger_risk(&d, 0, d.offset_ns), 0);
    /* with room to drift on both sides */
    assert_int_equal(trafgen_dodger_risk(&d, 0, d.offset_ns - 6 * US), 0);
    assert_int_equal(trafgen_dodger_risk(&d, 0, d.offset_ns + 6 * US), 0);
    assert_true(ABS(d.offset_ns) <= d.max_offset_ns);

    /* still clear: no move (each move is a gap error) */
    probe_ticks(&d, 0, 2 * US, 25 * US);
    assert_int_equal(trafgen_dodger_end_probe(&d, 0), 0);
    assert_int_equal(d.stats.moves, 1);

    /* the stalls went away: back to the exact grid once the old probes
     * are forgotten */
    for (int k = 0; k < TRAFGEN_DODGE_PROBES_KEPT; k++) {
        trafgen_dodger_begin_probe(&d);
        trafgen_dodger_end_probe(&d, 0);
    }
    assert_int_equal(d.offset_ns, 0);
    assert_int_equal(d.stats.moves, 2);
    assert_int_equal(d.stats.unavoidable, 0);
    assert_int_equal(d.stats.probes, 2 + TRAFGEN_DODGE_PROBES_KEPT);
}

static void test_follows_a_drifting_tick(void **state)
{
    TrafgenDodger d;

    trafgen_dodger_init(&d, P);
    /* 30 us per second against the guest clock: 1.6 us per 53 ms probe;
     * over two sweeps of the period no deadline is ever hit and the grid
     * never leaves +-45 % */
    for (int k = 0; k < 250; k++) {
        int64_t phase = 90 * US - k * 1600;

        probe_ticks(&d, 0, ((phase % P) + P) % P, 30 * US);
        trafgen_dodger_end_probe(&d, 0);
        assert_int_equal(trafgen_dodger_risk(&d, 0, d.offset_ns), 0);
        assert_true(ABS(d.offset_ns) <= d.max_offset_ns);
    }
    assert_int_equal(d.stats.unavoidable, 0);
    /* moves are rare: a few per sweep, not one per probe */
    assert_true(d.stats.moves < 250 / 10);
}

static void test_earlier_moves_are_bounded(void **state)
{
    TrafgenDodger d;
    int64_t before;

    trafgen_dodger_init(&d, P);
    /* from +40 us, a stall on the current deadline */
    probe_ticks(&d, 0, 45 * US, 40 * US);
    trafgen_dodger_end_probe(&d, 0);
    probe_ticks(&d, 0, 38 * US, 10 * US);
    before = d.offset_ns;
    trafgen_dodger_end_probe(&d, 0);
    /* never a gap below 60 % of the period */
    assert_true(d.offset_ns >= before - d.max_earlier_ns);
}

static void test_unavoidable_takes_the_least_lateness(void **state)
{
    TrafgenDodger d;

    trafgen_dodger_init(&d, P);
    trafgen_dodger_begin_probe(&d);
    /* four 45 us stalls per window at 0, one 60 us stall at 50: every
     * offset is hit; ending up near the end of the rare long one costs
     * less than sitting in the frequent one */
    for (int k = 0; k < 4; k++) {
        trafgen_dodger_note_stall(&d, k * MS, k * MS + 45 * US);
    }
    trafgen_dodger_note_stall(&d, 50 * US, 110 * US);
    trafgen_dodger_end_probe(&d, 0);
    assert_int_equal(d.stats.unavoidable, 1);
    assert_true(trafgen_dodger_risk(&d, 0, d.offset_ns) <
                trafgen_dodger_risk(&d, 0, 10 * US));
    assert_true(trafgen_dodger_risk(&d, 0, d.offset_ns) <= 15 * US);
}

static void test_long_stalls_are_not_dodged(void **state)
{
    TrafgenDodger d;

    trafgen_dodger_init(&d, P);
    trafgen_dodger_begin_probe(&d);
    trafgen_dodger_note_stall(&d, 0, 300 * US);
    assert_int_equal(d.stats.stalls_seen, 1);
    assert_int_equal(d.n_stalls, 0);
    assert_int_equal(trafgen_dodger_end_probe(&d, 0), 0);
    assert_int_equal(d.stats.unavoidable, 0);
}

static void test_overflow_changes_nothing(void **state)
{
    TrafgenDodger d;

    trafgen_dodger_init(&d, P);
    trafgen_dodger_begin_probe(&d);
    for (int k = 0; k <= TRAFGEN_DODGE_STALLS_MAX; k++) {
        trafgen_dodger_note_stall(&d, k * P + 1 * US, k * P + 20 * US);
    }
    assert_true(d.overflow);
    assert_int_equal(trafgen_dodger_end_probe(&d, 0), 0);
    assert_int_equal(d.offset_ns, 0);
    /* the next probe starts afresh */
    trafgen_dodger_begin_probe(&d);
    assert_false(d.overflow);
}

static void test_wake_before_a_stall(void **state)
{
    TrafgenDodger d;
    int64_t deadline = 10 * MS + 100 * US; /* window-aligned origin 0 */

    trafgen_dodger_init(&d, P);
    trafgen_dodger_begin_probe(&d);
    /* nothing logged: the guard decides */
    assert_int_equal(trafgen_dodger_wake_time(&d, deadline - 30 * US, deadline),
                     deadline - 30 * US);
    /* a 40 us stall from 45 us before the deadline (one window earlier)
     * would hold the wake-up at deadline - 30 until 5 us before it */
    trafgen_dodger_note_stall(&d, 6 * MS + 55 * US, 6 * MS + 95 * US);
    assert_true(trafgen_dodger_wake_time(&d, deadline - 30 * US, deadline) <
                deadline - 45 * US);
    /* a short one early in the sleep does no harm */
    trafgen_dodger_begin_probe(&d);
    for (int k = 0; k < TRAFGEN_DODGE_PROBES_KEPT; k++) {
        trafgen_dodger_begin_probe(&d);
    }
    trafgen_dodger_note_stall(&d, 6 * MS + 20 * US, 6 * MS + 30 * US);
    assert_int_equal(trafgen_dodger_wake_time(&d, deadline - 30 * US, deadline),
                     deadline - 30 * US);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_supported_periods),
        cmocka_unit_test(test_risk_is_the_lateness_caused),
        cmocka_unit_test(test_moves_out_of_a_tick_and_back),
        cmocka_unit_test(test_follows_a_drifting_tick),
        cmocka_unit_test(test_earlier_moves_are_bounded),
        cmocka_unit_test(test_unavoidable_takes_the_least_lateness),
        cmocka_unit_test(test_long_stalls_are_not_dodged),
        cmocka_unit_test(test_overflow_changes_nothing),
        cmocka_unit_test(test_wake_before_a_stall),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
