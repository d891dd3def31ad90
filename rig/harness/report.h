/*
 * The result of `rig run`: every scenario of every profile with its views
 * and check results, and the writers for it (JSON, JUnit XML, the human
 * table).  The JSON schema is documented in hck-profiles/README.md
 * ("Results JSON"); REPORT_JSON_SCHEMA names its version.
 */
#pragma once

#include <stdio.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "harness/check.h"
#include "harness/profile.h"
#include "harness/qemu-build.h"

#define REPORT_JSON_SCHEMA "rsc-rig-run/1"

typedef enum {
    REPORT_PASS,  /* every check passed (or failed as a known failure) */
    REPORT_FAIL,  /* a check failed */
    REPORT_ERROR, /* the rig could not run (exit 2) */
} ReportVerdict;

/* Exit codes of `rig run`, documented in its --help. */
#define REPORT_EXIT_PASS  0
#define REPORT_EXIT_FAIL  1
#define REPORT_EXIT_ERROR 2

typedef struct {
    char *name;
    char *path;
    char *sha256;
    ProfileClock clock;   /* the clock it ran on */
    char *clock_fallback; /* why that is not the profile's, else NULL */
    guint rsc_interval_us;
    char *guest_features;
    JsonNode *qemu_capabilities; /* rig_qemu_caps_to_json(), NULL if the
                                  * QEMU was never probed */
    QemuBuild *qemu;    /* owned; NULL until the profile's QEMU is resolved */
    char *oracle_fixes; /* the fixes spec mode models ("all", ...) */
    char *unknown_fix_patches; /* fix patches it does not know, or NULL */
} ReportProfile;

typedef struct {
    char *profile; /* ReportProfile.name */
    char *name;    /* scenario name */
    char *family;  /* "ipv4" / "ipv6" */
    char *qemu_build; /* kind of the build it ran on ("fixed", ...) */
    char *fixed_by;   /* the profile's fixed_by: the patch for stock */
    char *pattern;
    double duration_s;
    char *error;          /* set when the scenario could not run */
    char *trace_file;     /* --trace: the QEMU trace of a failed scenario */
    GPtrArray *trace;     /* char *, its RSC trace lines; NULL: none kept */
    CheckScenario *views; /* owned; NULL when it never got that far */
    GPtrArray *checks;    /* CheckResult *, owned; empty on error */
} ReportScenario;

typedef struct {
    char *rig_version;
    QemuBuild *qemu; /* the first profile's build, owned; NULL before */
    JsonNode *qemu_capabilities; /* the probe of its binary, or NULL */
    gint64 started_unix_us;
    double duration_s;
    char *error;          /* run-level error (exit 2), NULL otherwise */
    gboolean complete;    /* every scenario ran; FALSE in partial reports */
    GPtrArray *profiles;  /* ReportProfile * */
    GPtrArray *scenarios; /* ReportScenario * */
} Report;

/**
 * report_new:
 *
 * Returns: (transfer full): an empty report stamped with the current time;
 *   free with report_free()
 */
Report *report_new(void);

/**
 * report_free:
 * @report: (nullable) (transfer full): a report
 */
void report_free(Report *report);

/**
 * report_add_profile:
 * @report: the report
 * @profile: (transfer none): a loaded profile (its metadata is copied)
 *
 * Returns: (transfer none): the entry, owned by @report
 */
ReportProfile *report_add_profile(Report *report, const Profile *profile);

/**
 * report_set_profile_qemu:
 * @report: the report
 * @profile: (transfer none): an entry of @report
 * @build: (transfer none): the QEMU build the profile runs on (copied)
 *
 * Records the build in the profile entry, and as the report's "qemu" when
 * it is the first profile's (a second call replaces the first).
 */
void report_set_profile_qemu(Report *report, ReportProfile *profile,
                             const QemuBuild *build);

/**
 * report_add_scenario:
 * @report: the report
 * @profile: (transfer none): the scenario's profile
 * @scenario: (transfer none): the scenario (name, family, pattern copied)
 *
 * Returns: (transfer none): an entry without views or checks yet, owned by
 *   @report
 */
ReportScenario *report_add_scenario(Report *report, const Profile *profile,
                                    const ProfileScenario *scenario);

/**
 * report_set_error:
 * @report: the report
 * @fmt: printf format of the run-level error
 * @...: arguments
 *
 * Makes the verdict "error"; a second call keeps the first message.
 */
void report_set_error(Report *report, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/**
 * report_verdict:
 * @report: the report
 *
 * Returns: ERROR when the run or a scenario had an error or the report is
 *   incomplete, FAIL when a check failed (CHECK_FAIL), PASS otherwise
 */
ReportVerdict report_verdict(const Report *report);

/**
 * report_verdict_name:
 * @verdict: a verdict
 *
 * Returns: (transfer none): "pass", "fail" or "error"
 */
const char *report_verdict_name(ReportVerdict verdict);

/**
 * report_exit_code:
 * @verdict: a verdict
 *
 * Returns: REPORT_EXIT_PASS, REPORT_EXIT_FAIL or REPORT_EXIT_ERROR
 */
int report_exit_code(ReportVerdict verdict);

/**
 * report_to_json:
 * @report: the report
 *
 * Returns: (transfer full): the whole report as the documented JSON object
 *   (json_node_unref)
 */
JsonNode *report_to_json(const Report *report);

/**
 * report_write_json:
 * @report: the report
 * @path: file to write; replaced atomically, so a reader never sees half
 * @error: return location
 *
 * Returns: TRUE on success
 */
gboolean report_write_json(const Report *report, const char *path,
                           GError **error);

/**
 * report_to_junit:
 * @report: the report
 *
 * One <testsuite> per profile, one <testcase> per scenario check
 * (classname "PROFILE.SCENARIO", name = check name); a failed check is a
 * <failure>, a skipped or known-failing one <skipped> with the reason, a
 * scenario that could not run an <error>.
 *
 * Returns: (transfer full): the XML document (g_free)
 */
char *report_to_junit(const Report *report);

/**
 * report_write_junit:
 * @report: the report
 * @path: file to write (atomically)
 * @error: return location
 *
 * Returns: TRUE on success
 */
gboolean report_write_junit(const Report *report, const char *path,
                            GError **error);

/**
 * report_print_table:
 * @report: the report
 * @out: where to print (stdout normally)
 *
 * Prints one line per check (scenario, check, status, expected, observed)
 * followed by the one-line verdict.
 */
void report_print_table(const Report *report, FILE *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Report, report_free)
