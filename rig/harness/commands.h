/*
 * Subcommands of the `rig` tool.  Each one is a function with the shape of
 * main(): argv[0] is the subcommand name; it returns a RIG_EXIT_* code.
 * A new subcommand is one declaration here and one row in rig.c.
 */
#pragma once

/* Exit codes shared by every subcommand. */
#define RIG_EXIT_OK           0 /* the checks passed */
#define RIG_EXIT_CHECK_FAILED 1 /* the rig ran, a check failed */
#define RIG_EXIT_CANNOT_RUN   2 /* the rig could not run (usage, setup) */

typedef struct {
    const char *name;
    const char *summary;
    int (*main)(int argc, char **argv);
} RigCommand;

/**
 * rig_cmd_smoke:
 * @argc: argument count, argv[0] being "smoke"
 * @argv: (transfer none): the arguments
 *
 * `rig smoke`: starts QEMU with a virtio-net-pci (guest_rsc_ext=on) on a
 * tap in a private network namespace, reads rsc_interval and rsc-stats over
 * QMP, prints them, optionally holds, then shuts down and cleans up.
 *
 * Returns: RIG_EXIT_OK, RIG_EXIT_CHECK_FAILED or RIG_EXIT_CANNOT_RUN.
 */
int rig_cmd_smoke(int argc, char **argv);

/**
 * rig_cmd_caps:
 * @argc: argument count, argv[0] being "caps"
 * @argv: (transfer none): the arguments
 *
 * `rig caps`: probes a QEMU binary (rig/qemu/caps.h) and prints what it can
 * do for the rig, as a table or --json.
 *
 * Returns: RIG_EXIT_OK or RIG_EXIT_CANNOT_RUN.
 */
int rig_cmd_caps(int argc, char **argv);
