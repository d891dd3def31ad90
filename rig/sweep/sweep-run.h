/*
 * Running the points of a sweep on the harness's scenario runner
 * (run_env_start + run_scenario of rig/harness/run.h): one RunEnv (QEMU,
 * namespace, tap, reference guest) per point, or per group of points that
 * differ only in rsc_interval when the QEMU lets qom-set change it on the
 * running device.
 */
#pragma once

#include <signal.h>

#include <glib.h>

#include "sweep/result.h"
#include "sweep/sweep-profile.h"

/* Called after every finished point (outputs, progress). */
typedef void (*SweepPointDone)(const SweepReport *report,
                               const SweepResult *result, guint done,
                               guint total, gpointer user_data);

/* Called before a point starts (the live progress line). */
typedef void (*SweepPointStart)(const SweepPoint *point, guint done,
                                guint total, gpointer user_data);

typedef struct {
    const SweepProfile *profile;
    const char *qemu; /* NULL: the profile's, else the default */
    volatile sig_atomic_t *stop;
    SweepPointStart on_start;
    SweepPointDone on_done;
    gpointer user_data;
} SweepRunConfig;

/**
 * sweep_run:
 * @config: what to run and whom to tell
 * @report: the report: its grid and shard say which points run; results
 *   and one "runs" record are added
 * @error: return location; RUN_ERROR_INTERRUPTED when stopped by a signal
 *   (finished points are kept in @report)
 *
 * A point the rig could not run (QEMU died, ...) gets its error in its
 * result and the sweep goes on with a new VM.
 *
 * Returns: TRUE when every point of the shard has a result
 */
gboolean sweep_run(const SweepRunConfig *config, SweepReport *report,
                   GError **error);

/**
 * sweep_qemu_cpu_ns:
 * @pid: a process
 *
 * Returns: CPU time of all its threads so far
 *   (/proc/PID/task/TID/schedstat), or -1 when unreadable
 */
gint64 sweep_qemu_cpu_ns(GPid pid);
