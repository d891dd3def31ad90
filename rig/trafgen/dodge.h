/*
 * dodge.h - keeping the deadlines of the grid out of the machine's
 * periodic stalls
 *
 * On a VM the vCPU is taken away at regular instants.  On the CI machines
 * (nested KVM) a spinning thread loses 10-35 us every 1 ms to the
 * hypervisor, at a phase that drifts ~25 us per second against the guest's
 * CLOCK_MONOTONIC, and again to the guest's own 250 Hz tick.  A deadline
 * that falls in a stall is missed by up to the stall's length, whatever
 * the pacer does; with one stall per 10 slots that is 2-3 % of the slots.
 *
 * Every 53 ms the pacer spins through 1 ms instead of sleeping and logs
 * every stall it sees; successive probes move by 1 ms within the 4 ms
 * recurrence window (a multiple of both ticks' periods), so the last four
 * cover all of it.  (One 4 ms spin at a time, in a trace of this design's
 * first version, left deferred kernel work that made the first slot after
 * each probe late.)  The dodger then moves the
 * whole grid by an offset that keeps every deadline clear of the stalls
 * of the last four probes, on the assumption that they recur every 4 ms.
 * The offset stays within +-45 % of the period and goes back to 0 as soon
 * as 0 is clear: the grid never drifts, so the rate stays exact.  Moving
 * earlier is limited to 40 % of the period, so a move never makes a gap
 * shorter than 60 % of it.
 *
 * Pure arithmetic on times the pacer measured, so that it is unit-tested.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

/* 4 ms: the guest tick at HZ=250 and four hypervisor ticks at 1 kHz */
#define TRAFGEN_DODGE_WINDOW_NS G_GINT64_CONSTANT(4000000)
/* each probe spins through a quarter of the window ... */
#define TRAFGEN_DODGE_PROBE_NS    G_GINT64_CONSTANT(1000000)
#define TRAFGEN_DODGE_PROBES_KEPT 4
/* ... every 13 windows and a quarter (53 ms): ~1.5 % of a core */
#define TRAFGEN_DODGE_INTERVAL_NS                                              \
    (13 * TRAFGEN_DODGE_WINDOW_NS + TRAFGEN_DODGE_PROBE_NS)
/* clock reads further apart than this while spinning are a stall */
/* clock reads further apart than this while spinning are a stall (the
 * periodic ones last 8-65 us here) */
#define TRAFGEN_DODGE_STALL_MIN_NS 5000
#define TRAFGEN_DODGE_STALLS_MAX   128

typedef struct {
    int64_t start_ns;
    int64_t end_ns;
    uint64_t probe; /* number of the probe that saw it */
} TrafgenStall;

/* What the dodger did, as the report shows it. */
typedef struct {
    uint64_t probes;
    uint64_t moves;
    uint64_t stalls_seen;
    uint64_t unavoidable; /* probes where no offset was clear of all */
    int64_t max_abs_offset_ns;
} TrafgenDodgeStats;

typedef struct {
    int64_t period_ns;
    /* a stall ending less than this before a deadline makes it late: the
     * drift until the next probe (trafgen_dodger_wake_time() keeps stalls
     * from delaying the wake-up) */
    int64_t before_ns;
    /* a stall starting less than this after a deadline delays the frame:
     * the start of the send, plus drift margin */
    int64_t after_ns;
    int64_t max_offset_ns;  /* |offset| never exceeds this */
    int64_t max_stall_ns;   /* longer stalls are not dodged (80 % P) */
    int64_t max_earlier_ns; /* largest move towards earlier deadlines */
    int64_t offset_ns;      /* current offset of the grid */
    TrafgenStall stalls[TRAFGEN_DODGE_STALLS_MAX]; /* of the last probes */
    guint n_stalls;
    uint64_t probe;    /* number of the current probe, from 1 */
    gboolean overflow; /* more stalls than fit: the probe changes nothing */
    /* for the report */
    TrafgenDodgeStats stats;
} TrafgenDodger;

/**
 * trafgen_dodge_supported:
 * @period_ns: the grid's period
 *
 * Returns: TRUE when the period divides the probe window, so that the
 *   deadlines fall at the same places in every window.
 */
gboolean trafgen_dodge_supported(int64_t period_ns);

/**
 * trafgen_dodger_init:
 * @dodger: caller-owned, filled
 * @period_ns: the grid's period, for which trafgen_dodge_supported()
 */
void trafgen_dodger_init(TrafgenDodger *dodger, int64_t period_ns);

/**
 * trafgen_dodger_begin_probe:
 * @dodger: the dodger
 *
 * Starts a new probe; forgets the stalls of the probes that are no longer
 * among the last TRAFGEN_DODGE_PROBES_KEPT.
 */
void trafgen_dodger_begin_probe(TrafgenDodger *dodger);

/**
 * trafgen_dodger_note_stall:
 * @dodger: the dodger
 * @start_ns: last clock read before the vCPU was taken away
 * @end_ns: first clock read after
 *
 * Stalls longer than 80 % of the period are counted but not kept: no
 * offset could avoid them, and they are preemptions, not recurring ticks.
 */
void trafgen_dodger_note_stall(TrafgenDodger *dodger, int64_t start_ns,
                               int64_t end_ns);

/**
 * trafgen_dodger_risk:
 * @dodger: the dodger, with the stalls of its last probes
 * @origin_ns: deadline of slot 0 of the grid without offset
 * @offset_ns: candidate offset
 *
 * Returns: the lateness, summed over the stalls of the last probes, that
 *   they would cause, recurring, to the deadlines of the grid moved by
 *   @offset_ns (a frame leaves when the stall that hits it is over); 0
 *   when the grid is clear of them.
 */
int64_t trafgen_dodger_risk(const TrafgenDodger *dodger, int64_t origin_ns,
                            int64_t offset_ns);

/**
 * trafgen_dodger_wake_time:
 * @dodger: the dodger, with the stalls of its last probes
 * @wake_ns: when the pacer means to stop sleeping (deadline - guard)
 * @deadline_ns: the deadline
 *
 * A stall that comes just before or at the wake-up would delay it past the
 * deadline; waking before the stall turns it into a harmless pause of the
 * spin.
 *
 * Returns: @wake_ns, or an earlier time when a stall is due then.
 */
int64_t trafgen_dodger_wake_time(const TrafgenDodger *dodger, int64_t wake_ns,
                                 int64_t deadline_ns);

/**
 * trafgen_dodger_end_probe:
 * @dodger: the dodger
 * @origin_ns: deadline of slot 0 of the grid without offset
 *
 * Chooses the offset for the next interval.  The stalls drift (~3 us per
 * probe here), so an offset must be clear with room to spare: the current
 * one stays while it is 6 us or more from any offset a stall hits (each
 * move is one gap error of its size), unless 0 is 12 us or more from
 * them.  Otherwise the offset closest to 0 among those 12 us or more from
 * a hit one is taken (or the roomiest clear one); when none is clear, the
 * one with the least lateness (the grid may then sit at the end of a long
 * stall rather than in a frequent one), closest to the current.  A probe that
 * overflowed the stall log changes nothing.
 *
 * Returns: the change of offset to apply to the grid (0 = keep).
 */
int64_t trafgen_dodger_end_probe(TrafgenDodger *dodger, int64_t origin_ns);
