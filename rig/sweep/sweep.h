/*
 * `rig sweep`: tuning sweeps of rsc_interval over a grid of points, run on
 * the harness's scenario runner, with plots, a table, a recommendation and
 * sharding over several machines.
 */
#pragma once

#include "sweep/result.h"

/**
 * sweep_command_main:
 * @argc: argument count, argv[0] being "sweep"
 * @argv: (array length=argc): the arguments after "rig"
 *
 * `rig sweep PROFILE [OPTION...]` and `rig sweep merge DIR...`.
 *
 * Returns: 0 every point ran and lost nothing, 1 a point lost bytes or
 *   failed a check, 2 the rig could not run
 */
int sweep_command_main(int argc, char **argv);

/**
 * sweep_merge:
 * @shards: (element-type SweepReport): reports of one grid (borrowed)
 * @error: return location (SWEEP_ERROR_MERGE): which input does not fit
 *
 * Joins shard reports: they must have the same profile, QEMU and grid and
 * no point twice.  The result is what an unsharded run of the grid reports
 * (shard null); its "runs" are the shards' runs in input order.
 *
 * Returns: (transfer full): the merged report, or NULL
 */
SweepReport *sweep_merge(GPtrArray *shards, GError **error);

/**
 * sweep_merge_dirs:
 * @dirs: (array zero-terminated=1): output directories of `rig sweep
 *   --shard`, each holding sweep.json
 * @error: return location
 *
 * Returns: (transfer full): the merged report, or NULL
 */
SweepReport *sweep_merge_dirs(const char *const *dirs, GError **error);
