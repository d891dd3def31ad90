/*
 * run.h - the paced (or unpaced, or offline) sending loop
 *
 * Each slot of the grid sends the next segment of every flow, back to back,
 * flow 0 first.  Frames are built before the wait so that the time between
 * the deadline and the send is only the send.  The report samples are
 * appended to memory reserved up front.
 */
#pragma once

#include <glib.h>
#include <signal.h>

#include "trafgen/frame.h"
#include "trafgen/pacer.h"
#include "trafgen/pattern.h"
#include "trafgen/report.h"
#include "trafgen/schedule.h"
#include "trafgen/transport.h"

typedef struct {
    const TrafgenPattern *pattern; /* borrowed */
    guint flows;
    uint32_t payload;
    TrafgenEndpoints endpoints;
    int64_t period_ns;
    int64_t phase_ns;
    int64_t duration_ns; /* stop after this long; 0 = pattern end */
    int64_t late_threshold_ns;
    int64_t rsc_interval_ns; /* for the report's gap count */
    TrafgenLatePolicy late_policy;
    TrafgenPacerConfig pacer;
    gboolean dodge;    /* move the grid away from periodic stalls (dodge.h) */
    gboolean unpaced;  /* send as fast as possible, in batches */
    gboolean progress; /* a line per second on stderr */
    volatile sig_atomic_t *stop; /* (nullable) set to stop early */
} TrafgenRunConfig;

/**
 * trafgen_run_config_init:
 * @config: filled with the defaults (whql timing: 100 us period, 300 us
 *   RSC interval, late policy catchup, guard TRAFGEN_DEFAULT_GUARD_NS, SCHED_FIFO, mlockall,
 *   stall dodging)
 */
void trafgen_run_config_init(TrafgenRunConfig *config);

/**
 * trafgen_run:
 * @config: what to send
 * @transport: where to send it (a pcap transport runs offline: no waits,
 *   the schedule becomes the timestamps)
 * @ret_report: (transfer full): set to the computed report on success
 * @error: set on a send error or a frame the builder refuses
 *
 * Returns: TRUE when every frame was sent.
 */
gboolean trafgen_run(const TrafgenRunConfig *config,
                     TrafgenTransport *transport, TrafgenReport **ret_report,
                     GError **error);
