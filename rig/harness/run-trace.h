/*
 * `rig run --trace`: QEMU's RSC trace events for the scenarios that fail.
 *
 * QEMU runs with `-trace enable=virtio_net_rsc_*` and its log backend
 * writes every event to `-D DIR/PROFILE.qemu-trace` (one line per RSC
 * decision: cached, coalesced, bypassed, finalized, drained, drain failed;
 * names from qemu-patches' trace patch).  Each scenario remembers where the
 * file stood when it started; a scenario that fails (or fails as a known
 * failure, or errors) gets its slice written beside the results as
 * DIR/PROFILE--SCENARIO.trace and attached to its JSON result.
 */
#pragma once

#include <glib.h>

/* The trace events the rig enables (a QEMU trace pattern). */
#define RUN_TRACE_PATTERN "virtio_net_rsc_*"
/* At most this many lines of one scenario go into the JSON result. */
#define RUN_TRACE_JSON_MAX_LINES 2000

typedef struct RunTrace RunTrace;

/**
 * run_trace_new:
 * @dir: where the trace files go (created if needed)
 * @profile: the profile's name (names the files)
 * @error: return location
 *
 * Returns: (transfer full): the trace of one profile's QEMU, or NULL
 */
RunTrace *run_trace_new(const char *dir, const char *profile, GError **error);

/**
 * run_trace_free:
 * @trace: (nullable) (transfer full): a trace; the files stay
 */
void run_trace_free(RunTrace *trace);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RunTrace, run_trace_free)

/**
 * run_trace_add_args:
 * @trace: a trace
 * @argv: (element-type utf8): QEMU arguments to append `-trace` and `-D` to
 */
void run_trace_add_args(const RunTrace *trace, GPtrArray *argv);

/**
 * run_trace_mark:
 * @trace: a trace
 *
 * Returns: the position a scenario starting now reads its events from
 */
goffset run_trace_mark(const RunTrace *trace);

/**
 * run_trace_take:
 * @trace: a trace
 * @from: a position from run_trace_mark()
 * @scenario: the scenario's name (names the file)
 * @ret_path: (out) (transfer full): the file written
 * @ret_lines: (out) (transfer full): at most RUN_TRACE_JSON_MAX_LINES RSC
 *   event lines, plus a last line saying how many more the file has
 * @error: return location
 *
 * Writes the RSC events since @from to DIR/PROFILE--SCENARIO.trace.
 *
 * Returns: TRUE when the file was written (it may be empty of events)
 */
gboolean run_trace_take(RunTrace *trace, goffset from, const char *scenario,
                        char **ret_path, GPtrArray **ret_lines, GError **error);

/**
 * run_trace_is_event_line:
 * @line: one line of QEMU's log
 *
 * Returns: TRUE when it records an RSC trace event (log backend format:
 *   optional "PID@SECONDS:" then the event name)
 */
gboolean run_trace_is_event_line(const char *line);
