/*
 * pacer.h - real-time set-up and the sleep-then-spin wait of rsc-trafgen
 *
 * Waits are absolute (CLOCK_MONOTONIC, TIMER_ABSTIME): the task sleeps until
 * deadline - guard, then spins to the deadline.  The guard absorbs the
 * wake-up latency (6.5-35 us on a VM); the spin is bounded by the guard so
 * that SCHED_FIFO never spins long enough to hit RT throttling.
 */
#ifndef TRAFGEN_PACER_H
#define TRAFGEN_PACER_H

#include <gio/gio.h>
#include <stdint.h>

/* pacing.md: 50 us gave p99 0-7 us at ~47 % CPU, the best trade-off */
#define TRAFGEN_DEFAULT_GUARD_NS 50000

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
 * trafgen_pacer_wait_until:
 * @pacer: set-up pacer
 * @deadline_ns: absolute CLOCK_MONOTONIC deadline
 *
 * Sleeps until @deadline_ns - guard, then spins; returns at once when the
 * deadline has passed.
 */
void trafgen_pacer_wait_until(const TrafgenPacer *pacer, int64_t deadline_ns);

/**
 * trafgen_pacer_restore:
 * @pacer: set-up pacer
 *
 * Returns the calling thread to SCHED_OTHER (used before slow work such as
 * writing the report).
 */
void trafgen_pacer_restore(TrafgenPacer *pacer);

#endif
