/*
 * The `rig` command: dispatches to a subcommand.
 */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "campaign/fuzz-cmd.h"
#include "harness/commands.h"
#include "harness/run.h"
#include "session/session.h"
#include "rig-config.h"
#include "sweep/sweep.h"

static const RigCommand COMMANDS[] = {
    {"smoke",
     "start QEMU with RSC on a tap in a private network namespace, read "
     "its RSC properties over QMP",
     rig_cmd_smoke},
    {"run", "run certification profiles (hck-profiles/NAME.ini)",
     run_command_main},
    {"session", "HCK studio sessions: up, status, stats, set-interval, rsc-cleanup, down",
     session_cli_main},
    {"caps", "show what a QEMU binary can do for the rig (probe)",
     rig_cmd_caps},
    {"sweep", "sweep rsc_interval over a grid: plots, table, recommendation",
     sweep_command_main},
    {"fuzz-device",
     "adversarial campaign: malformed and edge-case frames into QEMU's RSC "
     "path, conservation checked frame by frame",
     fuzz_device_main},
};

static void print_usage(FILE *out)
{
    fprintf(out, "Usage: rig COMMAND [OPTION...]\n"
                 "\n"
                 "Certification rig for QEMU virtio-net RSC "
                 "(VIRTIO_NET_F_RSC_EXT).\n"
                 "\n"
                 "Commands:\n");
    for (gsize i = 0; i < G_N_ELEMENTS(COMMANDS); i++) {
        fprintf(out, "  %-11s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    }
    fprintf(out,
            "\n"
            "Run `rig COMMAND --help` for the options of a command.\n"
            "\n"
            "Exit status: %d ok, %d a check failed, %d the rig could not "
            "run.\n",
            RIG_EXIT_OK, RIG_EXIT_CHECK_FAILED, RIG_EXIT_CANNOT_RUN);
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    if (argc < 2) {
        print_usage(stderr);
        return RIG_EXIT_CANNOT_RUN;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_usage(stdout);
        return RIG_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("rig %s\n", RIG_VERSION);
        return RIG_EXIT_OK;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(COMMANDS); i++) {
        if (strcmp(argv[1], COMMANDS[i].name) == 0) {
            g_autofree char *prgname = g_strdup_printf("rig %s", argv[1]);
            g_set_prgname(prgname);
            return COMMANDS[i].main(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "rig: unknown command '%s' (see `rig --help`)\n", argv[1]);
    return RIG_EXIT_CANNOT_RUN;
}
