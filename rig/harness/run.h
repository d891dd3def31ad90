/*
 * `rig run`: runs certification profiles end to end.
 *
 * Per profile, a RunEnv holds the real components: a private network
 * namespace with a vnet_hdr tap, the patched QEMU (-accel qtest) with the
 * profile's virtio-net options, the reference guest attached over qtest
 * with the profile's feature set, and an AF_PACKET injector on the tap's
 * host side.  Each scenario then sends its pattern (deterministically
 * stepped, or paced in real time by rsc-trafgen), collects the sent,
 * device, guest and oracle views, and runs the checks.
 */
#pragma once

#include <signal.h>

#include <glib.h>

#include "harness/profile.h"
#include "harness/qemu-build.h"
#include "harness/report.h"
#include "trafgen/pattern.h"

#define RUN_ERROR (run_error_quark())

typedef enum {
    RUN_ERROR_FAILED,      /* the rig could not run the scenario */
    RUN_ERROR_QEMU_EXITED, /* QEMU died (killed, crashed) mid-run */
    RUN_ERROR_INTERRUPTED, /* SIGINT / SIGTERM */
} RunErrorCode;

typedef struct {
    const char *qemu;      /* --qemu; NULL: the profile's, else "fixed" */
    const char *pcap_dir;  /* --pcap; NULL: no captures */
    gboolean trace;        /* --trace: QEMU's RSC trace events */
    const char *trace_dir; /* where trace files go (with trace) */
    gboolean tty;         /* live progress line instead of plain lines */
    volatile sig_atomic_t *stop; /* set by the signal handler */
} RunOptions;

typedef struct RunEnv RunEnv;

/**
 * run_error_quark:
 *
 * Returns: the GError domain of run errors.
 */
GQuark run_error_quark(void);

/**
 * run_env_start:
 * @profile: the profile (borrowed; must outlive the environment)
 * @options: run options (borrowed; must outlive the environment)
 * @build: (transfer none): the resolved QEMU (must outlive the
 *   environment); its version is filled from QMP when the build record
 *   had none
 * @report: (transfer none): the QEMU's capability probe is recorded here
 * @error: return location; says what to do (run as root, ...)
 *
 * Returns: (transfer full): the running environment; run_env_free()
 *   tears it down (guest, QEMU, tap, namespace), or NULL
 */
RunEnv *run_env_start(const Profile *profile, const RunOptions *options,
                      QemuBuild *build, Report *report, GError **error);

/**
 * run_env_free:
 * @env: (nullable) (transfer full): an environment; everything it created
 *   is stopped and removed
 */
void run_env_free(RunEnv *env);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RunEnv, run_env_free)

/**
 * run_env_qemu_exited:
 * @env: an environment
 *
 * Returns: (transfer full) (nullable): how QEMU ended ("was killed by
 *   signal 9 ...") when it is no longer running, else NULL
 */
char *run_env_qemu_exited(RunEnv *env);

/**
 * run_scenario:
 * @env: the profile's environment
 * @index: the scenario's position in the profile (keeps flows apart)
 * @scenario: (transfer none): what to run
 * @rs: (transfer none): where views and check results go
 * @error: return location (RUN_ERROR)
 *
 * Returns: TRUE when the scenario ran (its checks may still fail)
 */
gboolean run_scenario(RunEnv *env, guint index, const ProfileScenario *scenario,
                      ReportScenario *rs, GError **error);

/**
 * run_pcap_basename:
 * @profile: a profile's name
 * @scenario: one of its scenarios' name
 * @what: "sent" or "received"
 *
 * Returns: (transfer full): the file name run_scenario() gives that
 *   capture in --pcap DIR (PROFILE--SCENARIO-WHAT.pcap, '/' and ' ' as
 *   '_'); rig run refuses a run in which two captures would share one.
 */
char *run_pcap_basename(const char *profile, const char *scenario,
                        const char *what);

/**
 * run_check_frame_sizes:
 * @profile: a loaded profile
 * @error: return location; names the file, the scenario and the step
 *
 * Builds every step of every scenario with the scenario's payload: a
 * frame above the tap's MTU (payload plus a step's TCP/IP options) is
 * refused before any work instead of failing mid-run.
 *
 * Returns: TRUE when every frame fits.
 */
gboolean run_check_frame_sizes(const Profile *profile, GError **error);

/**
 * run_validate_pattern:
 * @pattern: a scenario's pattern (rsc-trafgen built-in name or text)
 * @family: the scenario's family (some knobs exist in one family only)
 * @user_data: unused
 * @error: return location; says what is wrong in the pattern
 *
 * A ProfilePatternValidator backed by rsc-trafgen's pattern parser.
 *
 * Returns: TRUE when rsc-trafgen can send the pattern
 */
gboolean run_validate_pattern(const char *pattern, ProfileFamily family,
                              gpointer user_data, GError **error);

/**
 * run_scenario_pattern:
 * @pattern: a scenario's pattern (rsc-trafgen built-in name or text)
 * @family: the scenario's family
 * @count: segments (whql) or repetitions of a built-in; 0 = 1
 * @error: return location
 *
 * Returns: (transfer full): the traffic run_scenario() sends, or NULL
 */
TrafgenPattern *run_scenario_pattern(const char *pattern, ProfileFamily family,
                                     guint count, GError **error);

/**
 * run_install_stop_signals:
 *
 * Installs handlers for SIGINT, SIGTERM and SIGHUP that store the signal's
 * number in one flag: RunOptions.stop, checked between frames, so that a
 * run ends cleanly with its partial results.
 *
 * Returns: (transfer none): the flag
 */
volatile sig_atomic_t *run_install_stop_signals(void);

/**
 * run_command_main:
 * @argc: argument count, argv[0] being "run"
 * @argv: (array length=argc): the arguments after "rig"
 *
 * The `rig run` subcommand: parses options, runs every profile, prints
 * progress, the table and the verdict, writes --json / --junit / --pcap.
 *
 * Returns: the exit status: 0 all passed, 1 a check failed, 2 the rig
 *   could not run (bad profile, QEMU missing, not root, QEMU died,
 *   interrupted)
 */
int run_command_main(int argc, char **argv);
