/*
 * schedule.h - the absolute deadline grid of rsc-trafgen
 *
 * Pure arithmetic, no clock reads: the pacer feeds it the current time so
 * that the grid and the late policies are unit-testable.  Slot k is due at
 * origin + k * period where origin = start + phase.  A slot is "late" when
 * the pacer comes to it more than late_threshold after its deadline; what
 * happens then is the late policy.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

typedef enum {
    /* send the late slot at once and keep the grid: catch-up bursts */
    TRAFGEN_LATE_KEEP,
    /* jump to the first grid slot still ahead; frames are not dropped,
     * they move to that slot (no bursts, phase kept, gap grows) */
    TRAFGEN_LATE_SKIP,
    /* send now and restart the grid from now (no bursts, phase lost) */
    TRAFGEN_LATE_REANCHOR,
    /* send late and keep the grid, but never sooner than 52 % of a period
     * after the previous slot: back on the grid without a burst */
    TRAFGEN_LATE_CATCHUP,
} TrafgenLatePolicy;

typedef struct {
    int64_t origin_ns;
    int64_t period_ns;
    int64_t late_threshold_ns;
    TrafgenLatePolicy policy;
    uint64_t slot;
    int64_t previous_ns; /* when the previous slot went (catchup) */
    gboolean started;
    uint64_t late_slots;
    uint64_t skipped_slots;
    uint64_t reanchors;
} TrafgenSchedule;

/**
 * trafgen_schedule_init:
 * @schedule: caller-owned schedule to fill
 * @start_ns: CLOCK_MONOTONIC time of the grid's start
 * @period_ns: slot period, > 0
 * @phase_ns: offset added to every deadline (may be negative)
 * @late_threshold_ns: lateness from which a slot counts as late, >= 0
 * @policy: what to do with a late slot
 */
void trafgen_schedule_init(TrafgenSchedule *schedule, int64_t start_ns,
                           int64_t period_ns, int64_t phase_ns,
                           int64_t late_threshold_ns, TrafgenLatePolicy policy);

/**
 * trafgen_schedule_next:
 * @schedule: the grid
 * @now_ns: current CLOCK_MONOTONIC time
 *
 * Applies the late policy to the current slot and returns its deadline.
 * Call once per slot, then trafgen_schedule_advance() after sending.
 *
 * Returns: the deadline to wait for (may be in the past with KEEP and
 *   CATCHUP; with CATCHUP, at least 52 % of a period after the previous
 *   one went).
 */
int64_t trafgen_schedule_next(TrafgenSchedule *schedule, int64_t now_ns);

/**
 * trafgen_schedule_sent:
 * @schedule: the grid
 * @sent_ns: when the current slot's last send returned
 *
 * Tells CATCHUP when the slot really went: a stall after the wait delays
 * the send past the deadline without the schedule seeing it.  The frame
 * left at the latest then, so the next one, 52 % of a period later, can
 * never be closer to it.
 */
void trafgen_schedule_sent(TrafgenSchedule *schedule, int64_t sent_ns);

/**
 * trafgen_schedule_advance:
 * @schedule: the grid
 *
 * Marks the current slot as used.
 */
void trafgen_schedule_advance(TrafgenSchedule *schedule);

/**
 * trafgen_schedule_deadline:
 * @schedule: the grid
 * @slot: slot index in the current grid
 *
 * Returns: deadline of @slot, without applying any policy.
 */
int64_t trafgen_schedule_deadline(const TrafgenSchedule *schedule,
                                  uint64_t slot);

/**
 * trafgen_late_policy_from_string:
 * @text: "keep", "skip", "reanchor" or "catchup"
 * @ret_policy: set on success
 *
 * Returns: TRUE when @text names a policy.
 */
gboolean trafgen_late_policy_from_string(const char *text,
                                         TrafgenLatePolicy *ret_policy);

/**
 * trafgen_late_policy_to_string:
 * @policy: a policy
 *
 * Returns: static name of @policy.
 */
const char *trafgen_late_policy_to_string(TrafgenLatePolicy policy);
