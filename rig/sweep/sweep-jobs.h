/*
 * `rig sweep --jobs N`: N shard processes on one machine, then their merge.
 */
#pragma once

#include <signal.h>

#include <glib.h>

#include "sweep/result.h"

typedef struct {
    guint jobs;              /* N >= 2 */
    const char *out;         /* the sweep's DIR; jobs write DIR/jobs/K */
    const char *const *args; /* rig sweep's arguments but --out, --jobs */
    guint total;             /* points in the grid */
    volatile sig_atomic_t *stop;
    void (*progress)(guint done, guint total, gpointer user_data);
    gpointer user_data;
} SweepJobsConfig;

/**
 * sweep_jobs_run:
 * @cfg: what to run
 * @ret_status: (out): the highest exit status of the jobs
 * @error: return location: a job could not start, or the merge failed
 *
 * Starts `rig sweep ARGS --shard K/N --out DIR/jobs/K` for K = 1..N, waits
 * for all (forwarding a stop request as SIGINT), then merges their
 * outputs (partial ones too).
 *
 * Returns: (transfer full): the merged report, or NULL
 */
SweepReport *sweep_jobs_run(const SweepJobsConfig *cfg, int *ret_status,
                            GError **error);
