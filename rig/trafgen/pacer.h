/*
 * pacer.h - real-time set-up and the sleep-then-spin wait of rsc-trafgen
 *
 * Waits are absolute (CLOCK_MONOTONIC, TIMER_ABSTIME): the task sleeps until
 * deadline - guard, then spins to the deadline.  The guard absorbs the
 * wake-up latency (6.5-35 us on a quiet VM, more under load); it is capped
 * so that every period sleeps TRAFGEN_MIN_SLEEP_PERCENT and SCHED_FIFO
 * never runs long enough to hit RT throttling.
 */
#pragma once

#include <gio/gio.h>
#include <stdint.h>

#include "trafgen/dodge.h"

/*
 * The default trades CPU for precision: spin the last 85 us of each 100 us
 * period (85 % of a core, sleep 15 %: no RT throttling).  On a loaded
 * 2-vCPU VM (load 6-7) the receive-side p99 gap error was 10-19 us, the
 * floor of an ideal spinner 8-11 us, against 44 us with a 30 us guard at
 * 33 % CPU (wake-ups come late by more than 30 us under load; quiet, they
 * come 7-15 us late, pacing.md).  --guard-us 30 keeps the cheap setting.
 */
#define TRAFGEN_DEFAULT_GUARD_NS 85000

typedef struct {
    int64_t guard_ns;
    gboolean realtime; /* try SCHED_FIFO */
    int fifo_priority; /* 1..99, 0 = default (50) */
    int cpu;           /* pin to this CPU, -1 = no pinning */
    gboolean lock_memory;
} TrafgenPacerConfig;

typedef struct {
    int64_t guard_ns;
    char policy[32]; /* "SCHED_FIFO/50" or "SCHED_OTHER" */
    gboolean fifo;
    gboolean memory_locked;
    int cpu;
    char notice[256]; /* why something asked for was not obtained */
} TrafgenPacer;

/* Every period keeps at least this share asleep: a SCHED_FIFO task that
 * runs more than 95 % of a second is throttled (sched_rt_runtime_us). */
#define TRAFGEN_MIN_SLEEP_PERCENT 15

/**
 * trafgen_pacer_max_guard:
 * @period_ns: the grid's period
 *
 * Returns: the largest guard (spin before each deadline) that still sleeps
 *   TRAFGEN_MIN_SLEEP_PERCENT of every period.
 */
int64_t trafgen_pacer_max_guard(int64_t period_ns);

/**
 * trafgen_now_ns:
 *
 * Returns: CLOCK_MONOTONIC in nanoseconds.
 */
int64_t trafgen_now_ns(void);

/**
 * trafgen_pacer_setup:
 * @config: what to ask for
 * @ret_pacer: caller-owned, filled on success
 * @error: set when pinning to a CPU that does not exist fails
 *
 * Sets timer slack to 1 ns, then tries SCHED_FIFO, mlockall and CPU
 * pinning as asked.  FIFO and mlockall fall back with a notice in
 * @ret_pacer->notice instead of failing: pacing still works, only worse.
 *
 * Returns: TRUE on success.
 */
gboolean trafgen_pacer_setup(const TrafgenPacerConfig *config,
                             TrafgenPacer *ret_pacer, GError **error);

/**
 * trafgen_pacer_add_notice:
 * @pacer: set-up pacer
 * @text: why something asked for was not obtained
 *
 * Appends @text to the pacer's notice, "; "-separated.
 */
void trafgen_pacer_add_notice(TrafgenPacer *pacer, const char *text);

/**
 * trafgen_pacer_wait:
 * @wake_ns: when to stop sleeping: the deadline minus the pacer's guard,
 *   or earlier
 * @deadline_ns: absolute CLOCK_MONOTONIC deadline
 *
 * Sleeps until @wake_ns, then spins to @deadline_ns; returns at once when
 * the deadline has passed.  The spin is bounded by the guard: never a long
 * spin under SCHED_FIFO.
 *
 * Returns: the clock reading that ended the wait (>= @deadline_ns).
 */
int64_t trafgen_pacer_wait(int64_t wake_ns, int64_t deadline_ns);

/**
 * trafgen_pacer_spin_until:
 * @dodger: (nullable): where to log the stalls seen while spinning
 * @deadline_ns: absolute CLOCK_MONOTONIC deadline
 *
 * Spins to @deadline_ns without sleeping (a probe of the dodger: the gaps
 * between consecutive clock reads are the times the vCPU was away).
 * Under SCHED_FIFO only for a few ms at a time: RT throttling.
 *
 * Returns: the clock reading that ended the spin (>= @deadline_ns).
 */
int64_t trafgen_pacer_spin_until(TrafgenDodger *dodger, int64_t deadline_ns);

/**
 * trafgen_pacer_restore:
 * @pacer: set-up pacer
 *
 * Returns the calling thread to SCHED_OTHER (used before slow work such as
 * writing the report).
 */
void trafgen_pacer_restore(TrafgenPacer *pacer);
