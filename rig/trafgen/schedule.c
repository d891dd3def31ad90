/*
 * schedule.c - absolute deadline grid and late policies
 */
#include "trafgen/schedule.h"

#include <string.h>

void trafgen_schedule_init(TrafgenSchedule *schedule, int64_t start_ns,
                           int64_t period_ns, int64_t phase_ns,
                           int64_t late_threshold_ns, TrafgenLatePolicy policy)
{
    g_return_if_fail(period_ns > 0);
    memset(schedule, 0, sizeof(*schedule));
    schedule->origin_ns = start_ns + phase_ns;
    schedule->period_ns = period_ns;
    schedule->late_threshold_ns = MAX(late_threshold_ns, 0);
    schedule->policy = policy;
}

int64_t trafgen_schedule_deadline(const TrafgenSchedule *schedule,
                                  uint64_t slot)
{
    return schedule->origin_ns + (int64_t)slot * schedule->period_ns;
}

#define CATCHUP_GAP(s) ((s)->period_ns / 2 + (s)->period_ns / 50)

/* Remembers when the slot goes: now, or at its deadline if that is later. */
static int64_t due(TrafgenSchedule *schedule, int64_t deadline, int64_t now_ns)
{
    schedule->previous_ns = MAX(deadline, now_ns);
    schedule->started = TRUE;
    return deadline;
}

int64_t trafgen_schedule_next(TrafgenSchedule *schedule, int64_t now_ns)
{
    int64_t deadline = trafgen_schedule_deadline(schedule, schedule->slot);
    uint64_t first_ahead;

    if (schedule->policy == TRAFGEN_LATE_CATCHUP && schedule->started) {
        /* just over half a period: a frame up to ~half a period late is
         * followed on the grid, as with KEEP; later ones never leave a
         * burst, and the backlog is made up in as few gaps as that allows */
        deadline = MAX(deadline, schedule->previous_ns + CATCHUP_GAP(schedule));
    }
    if (now_ns - deadline <= schedule->late_threshold_ns) {
        return due(schedule, deadline, now_ns);
    }
    schedule->late_slots++;
    switch (schedule->policy) {
    case TRAFGEN_LATE_KEEP:
    case TRAFGEN_LATE_CATCHUP:
        return due(schedule, deadline, now_ns);
    case TRAFGEN_LATE_SKIP:
        /* first slot whose deadline is still ahead of now */
        first_ahead =
            (uint64_t)((now_ns - schedule->origin_ns) / schedule->period_ns) +
            1;
        schedule->skipped_slots += first_ahead - schedule->slot;
        schedule->slot = first_ahead;
        return due(schedule,
                   trafgen_schedule_deadline(schedule, schedule->slot), now_ns);
    case TRAFGEN_LATE_REANCHOR:
        schedule->reanchors++;
        schedule->origin_ns =
            now_ns - (int64_t)schedule->slot * schedule->period_ns;
        return due(schedule, now_ns, now_ns);
    }
    return deadline;
}

void trafgen_schedule_sent(TrafgenSchedule *schedule, int64_t sent_ns)
{
    schedule->previous_ns = MAX(schedule->previous_ns, sent_ns);
}

void trafgen_schedule_advance(TrafgenSchedule *schedule)
{
    schedule->slot++;
}

gboolean trafgen_late_policy_from_string(const char *text,
                                         TrafgenLatePolicy *ret_policy)
{
    static const struct {
        const char *name;
        TrafgenLatePolicy policy;
    } names[] = {
        {"keep", TRAFGEN_LATE_KEEP},
        {"skip", TRAFGEN_LATE_SKIP},
        {"reanchor", TRAFGEN_LATE_REANCHOR},
        {"catchup", TRAFGEN_LATE_CATCHUP},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        if (g_strcmp0(text, names[i].name) == 0) {
            *ret_policy = names[i].policy;
            return TRUE;
        }
    }
    return FALSE;
}

const char *trafgen_late_policy_to_string(TrafgenLatePolicy policy)
{
    switch (policy) {
    case TRAFGEN_LATE_KEEP:
        return "keep";
    case TRAFGEN_LATE_SKIP:
        return "skip";
    case TRAFGEN_LATE_REANCHOR:
        return "reanchor";
    case TRAFGEN_LATE_CATCHUP:
        return "catchup";
    }
    return "?";
}
