/*
 * dodge.c - choosing the grid offset that keeps deadlines out of stalls
 */
#include "trafgen/dodge.h"

#include <string.h>

/* pacing.md: wake-ups at deadline - guard come 7-15 us late */
#define WAKE_LATENCY_NS 15000
/* the time from the deadline to the frame leaving: the start of send() */
#define SEND_START_NS 3000
/* 30 ppm of drift over one probe interval, with room to spare */
#define DRIFT_MARGIN_NS   2000
#define CANDIDATE_STEP_NS 1000
/* an offset this far from the nearest hit one is kept: 3 probes of drift */
#define KEEP_CLEARANCE_NS 6000
/* ... and left for 0 when 0 is this far from any */
#define HOME_CLEARANCE_NS 12000

gboolean trafgen_dodge_supported(int64_t period_ns)
{
    return period_ns > 0 && TRAFGEN_DODGE_WINDOW_NS % period_ns == 0;
}

void trafgen_dodger_init(TrafgenDodger *dodger, int64_t period_ns)
{
    memset(dodger, 0, sizeof(*dodger));
    dodger->period_ns = period_ns;
    dodger->before_ns = DRIFT_MARGIN_NS;
    dodger->after_ns = SEND_START_NS + DRIFT_MARGIN_NS;
    dodger->max_offset_ns = period_ns * 45 / 100;
    dodger->max_earlier_ns = period_ns * 40 / 100;
    dodger->max_stall_ns = period_ns * 80 / 100;
}

void trafgen_dodger_begin_probe(TrafgenDodger *dodger)
{
    guint kept = 0;

    dodger->probe++;
    for (guint i = 0; i < dodger->n_stalls; i++) {
        if (dodger->stalls[i].probe + TRAFGEN_DODGE_PROBES_KEPT >
            dodger->probe) {
            dodger->stalls[kept++] = dodger->stalls[i];
        }
    }
    dodger->n_stalls = kept;
    dodger->overflow = FALSE;
}

void trafgen_dodger_note_stall(TrafgenDodger *dodger, int64_t start_ns,
                               int64_t end_ns)
{
    dodger->stats.stalls_seen++;
    if (end_ns - start_ns > dodger->max_stall_ns) {
        return; /* no offset avoids it: not a tick, a preemption */
    }
    if (dodger->n_stalls == TRAFGEN_DODGE_STALLS_MAX) {
        dodger->overflow = TRUE;
        return;
    }
    dodger->stalls[dodger->n_stalls++] =
        (TrafgenStall){start_ns, end_ns, dodger->probe};
}

/* floor division for a possibly negative numerator */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && a < 0) ? q - 1 : q;
}

int64_t trafgen_dodger_risk(const TrafgenDodger *dodger, int64_t origin_ns,
                            int64_t offset_ns)
{
    int64_t base = origin_ns + offset_ns;
    int64_t lateness = 0;

    for (guint i = 0; i < dodger->n_stalls; i++) {
        const TrafgenStall *s = &dodger->stalls[i];
        /* a deadline d is hit when start < d + after and end > d - before:
         * look for the first deadline above start - after */
        int64_t low = s->start_ns - dodger->after_ns - base;
        int64_t d =
            base + (floor_div(low, dodger->period_ns) + 1) * dodger->period_ns;

        /* its frame leaves when the stall is over */
        lateness += MAX(s->end_ns + dodger->before_ns - d, 0);
    }
    return lateness;
}

int64_t trafgen_dodger_wake_time(const TrafgenDodger *dodger, int64_t wake_ns,
                                 int64_t deadline_ns)
{
    int64_t wake = wake_ns;

    for (guint i = 0; i < dodger->n_stalls; i++) {
        const TrafgenStall *s = &dodger->stalls[i];
        /* its recurrence in the window that ends at the deadline */
        int64_t shift =
            floor_div(deadline_ns - s->start_ns, TRAFGEN_DODGE_WINDOW_NS) *
            TRAFGEN_DODGE_WINDOW_NS;
        int64_t start = s->start_ns + shift;
        int64_t end = s->end_ns + shift;

        /* it would delay the wake-up past the deadline: be up before it */
        if (start < wake_ns + WAKE_LATENCY_NS + DRIFT_MARGIN_NS &&
            end + WAKE_LATENCY_NS > deadline_ns - DRIFT_MARGIN_NS) {
            wake = MIN(wake, start - WAKE_LATENCY_NS - DRIFT_MARGIN_NS);
        }
    }
    return wake;
}

/* Distance, in candidates, from each candidate to the nearest one some
 * stall hits (n when none is hit). */
static void clearances(const int64_t *risk, int64_t *clear, guint n)
{
    int64_t last = -1;

    for (guint i = 0; i < n; i++) {
        if (risk[i] > 0) {
            last = i;
        }
        clear[i] = last < 0 ? (int64_t)n : (int64_t)i - last;
    }
    last = -1;
    for (guint i = n; i-- > 0;) {
        if (risk[i] > 0) {
            last = i;
        }
        if (last >= 0) {
            clear[i] = MIN(clear[i], last - (int64_t)i);
        }
    }
}

int64_t trafgen_dodger_end_probe(TrafgenDodger *dodger, int64_t origin_ns)
{
    /* candidates every CANDIDATE_STEP_NS over one period each side */
    enum { MAX_CANDIDATES = 2 * 1000 + 1 };
    int64_t step = MAX(CANDIDATE_STEP_NS, dodger->period_ns / 1000);
    guint half = (guint)(dodger->period_ns / step);
    guint n = MIN(2 * half + 1, (guint)MAX_CANDIDATES);
    int64_t risk[MAX_CANDIDATES];
    int64_t clear[MAX_CANDIDATES];
    int64_t current = dodger->offset_ns;
    int64_t lowest =
        MAX(-dodger->max_offset_ns, current - dodger->max_earlier_ns);
    int64_t best = current;
    int64_t best_score = -1;
    int64_t best_risk = G_MAXINT64;
    guint now_i = (guint)(half + current / step);
    guint zero_i = half;

    dodger->stats.probes++;
    if (dodger->overflow) {
        return 0;
    }
    for (guint i = 0; i < n; i++) {
        risk[i] =
            trafgen_dodger_risk(dodger, origin_ns, ((int64_t)i - half) * step);
    }
    clearances(risk, clear, n);
    if (risk[now_i] == 0 && clear[now_i] * step >= KEEP_CLEARANCE_NS &&
        (current == 0 || lowest > 0 ||
         clear[zero_i] * step < HOME_CLEARANCE_NS)) {
        return 0; /* clear with room to drift: stay */
    }
    for (guint i = 0; i < n; i++) {
        int64_t o = ((int64_t)i - half) * step;
        /* enough room to drift is all that counts; then closeness to 0 */
        int64_t score =
            MIN(clear[i] * step, HOME_CLEARANCE_NS) * (4 * dodger->period_ns) -
            ABS(o);

        if (o < lowest || o > dodger->max_offset_ns) {
            continue;
        }
        if (risk[i] < best_risk ||
            (risk[i] == best_risk &&
             (risk[i] > 0 ? ABS(o - current) < ABS(best - current)
                          : score > best_score))) {
            best_risk = risk[i];
            best_score = score;
            best = o;
        }
    }
    if (best_risk > 0) {
        dodger->stats.unavoidable++;
    }
    if (best == current) {
        return 0;
    }
    dodger->offset_ns = best;
    dodger->stats.moves++;
    dodger->stats.max_abs_offset_ns =
        MAX(dodger->stats.max_abs_offset_ns, ABS(best));
    return best - current;
}
