/*
 * The `rig run` command line: options, progress, outputs, exit status.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "harness/run.h"

static volatile sig_atomic_t run_stop;

static void on_signal(int sig)
{
    run_stop = sig;
}

typedef struct {
    char *json;
    char *junit;
    char *pcap;
    char *qemu;
    char **profiles;
} RunArgs;

static void run_args_clear(RunArgs *a)
{
    g_free(a->json);
    g_free(a->junit);
    g_free(a->pcap);
    g_free(a->qemu);
    g_strfreev(a->profiles);
}

static const char run_description[] =
    "Runs each PROFILE (hck-profiles/*.ini) end to end: a private network\n"
    "namespace and tap, the patched QEMU with the profile's virtio-net\n"
    "options, the reference guest with its feature set, every scenario's\n"
    "traffic, then the checks of the sent, device, guest and oracle views.\n"
    "Everything is torn down on every exit path.\n"
    "\n"
    "Exit status:\n"
    "  0  every check passed (known failures listed in the profile allowed)\n"
    "  1  a check failed (the table names it, with expected and observed)\n"
    "  2  the rig could not run: bad profile, QEMU missing, not root, QEMU\n"
    "     died mid-run, interrupted (SIGINT/SIGTERM)\n"
    "\n"
    "The --json file is rewritten after every scenario, so a run that\n"
    "stops early still leaves its partial results (\"complete\": false).\n"
    "Schemas of profiles and results: hck-profiles/README.md.";

/* Loads every profile; the first error is returned with file/group/key. */
static GPtrArray *load_profiles(char **paths, GError **error)
{
    g_autoptr(GPtrArray) profiles =
        g_ptr_array_new_with_free_func((GDestroyNotify)profile_free);

    for (guint i = 0; paths[i]; i++) {
        Profile *p = profile_load(paths[i], run_validate_pattern, NULL, error);

        if (!p) {
            return NULL;
        }
        g_ptr_array_add(profiles, p);
    }
    return g_steal_pointer(&profiles);
}

static guint count_scenarios(GPtrArray *profiles)
{
    guint n = 0;

    for (guint i = 0; i < profiles->len; i++) {
        n += ((Profile *)g_ptr_array_index(profiles, i))->scenarios->len;
    }
    return n;
}

static void write_outputs(const Report *report, const RunArgs *args,
                          gboolean final)
{
    g_autoptr(GError) error = NULL;

    if (args->json && !report_write_json(report, args->json, &error)) {
        g_printerr("rig run: writing %s: %s\n", args->json, error->message);
        g_clear_error(&error);
    }
    if (final && args->junit &&
        !report_write_junit(report, args->junit, &error)) {
        g_printerr("rig run: writing %s: %s\n", args->junit, error->message);
    }
}

static void print_progress(const RunOptions *o, guint done, guint total,
                           const ReportScenario *rs, gboolean finished)
{
    guint counts[CHECK_SKIP + 1] = {0};
    const char *status = "PASS";

    if (!finished) {
        if (o->tty) {
            printf("\r\033[K[%u/%u] %s/%s: running...", done + 1, total,
                   rs->profile, rs->name);
            fflush(stdout);
        }
        return;
    }
    for (guint i = 0; i < rs->checks->len; i++) {
        const CheckResult *c = g_ptr_array_index(rs->checks, i);

        counts[c->status]++;
    }
    if (rs->error) {
        status = "ERROR";
    } else if (counts[CHECK_FAIL]) {
        status = "FAIL";
    }
    printf("%s[%u/%u] %s/%s: %s (%u passed, %u failed, %u known failures, "
           "%u skipped) %.2f s\n",
           o->tty ? "\r\033[K" : "", done + 1, total, rs->profile, rs->name,
           status, counts[CHECK_PASS] + counts[CHECK_XPASS], counts[CHECK_FAIL],
           counts[CHECK_XFAIL], counts[CHECK_SKIP], rs->duration_s);
    fflush(stdout);
}

/* Runs every scenario of @profile; FALSE stops the whole run. */
static gboolean run_profile(const Profile *profile, const RunOptions *o,
                            Report *report, const RunArgs *args, guint *done,
                            guint total)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(RunEnv) env = NULL;

    report_add_profile(report, profile);
    if (!o->tty) {
        printf("profile %s (%s): starting QEMU and the reference guest\n",
               profile->name, profile->path);
        fflush(stdout);
    }
    env = run_env_start(profile, o, report, &error);
    if (!env) {
        report_set_error(report, "%s: %s", profile->path, error->message);
        return FALSE;
    }
    for (guint i = 0; i < profile->scenarios->len; i++) {
        const ProfileScenario *sc = g_ptr_array_index(profile->scenarios, i);
        ReportScenario *rs = report_add_scenario(report, profile, sc);
        gint64 t0 = g_get_monotonic_time();
        gboolean ok;

        print_progress(o, *done, total, rs, FALSE);
        ok = run_scenario(env, i, sc, rs, &error);
        rs->duration_s = (double)(g_get_monotonic_time() - t0) / 1e6;
        if (!ok) {
            rs->error = g_strdup(error->message);
            report_set_error(report, "%s/%s: %s", profile->name, sc->name,
                             error->message);
        }
        print_progress(o, *done, total, rs, TRUE);
        (*done)++;
        report->duration_s =
            (double)(g_get_real_time() - report->started_unix_us) / 1e6;
        write_outputs(report, args, FALSE);
        if (!ok) {
            return FALSE;
        }
    }
    return TRUE;
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

int run_command_main(int argc, char **argv)
{
    RunArgs args = {0};
    const GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_FILENAME, &args.json,
         "Write every view and check as JSON to FILE", "FILE"},
        {"junit", 0, 0, G_OPTION_ARG_FILENAME, &args.junit,
         "Write JUnit XML (one testcase per scenario check) to FILE", "FILE"},
        {"pcap", 0, 0, G_OPTION_ARG_FILENAME, &args.pcap,
         "Write sent and received frames of each scenario as pcap into DIR",
         "DIR"},
        {"qemu", 0, 0, G_OPTION_ARG_FILENAME, &args.qemu,
         "QEMU binary (default: the profile's, else $RIG_QEMU, else the "
         "patched build)",
         "PATH"},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &args.profiles,
         NULL, "PROFILE..."},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- run certification profiles");
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) profiles = NULL;
    g_autoptr(Report) report = report_new();
    RunOptions o = {.stop = &run_stop};
    ReportVerdict verdict;
    guint done = 0, total;
    int status;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(ctx, run_description);
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        g_printerr("rig run: %s (see rig run --help)\n", error->message);
        run_args_clear(&args);
        return REPORT_EXIT_ERROR;
    }
    if (!args.profiles || !args.profiles[0]) {
        g_printerr("rig run: no PROFILE given, e.g. rig run "
                   "hck-profiles/whql-rsc.ini (see rig run --help)\n");
        run_args_clear(&args);
        return REPORT_EXIT_ERROR;
    }
    if (args.pcap && g_mkdir_with_parents(args.pcap, 0755) < 0) {
        g_printerr("rig run: can not create --pcap directory %s: %s\n",
                   args.pcap, g_strerror(errno));
        run_args_clear(&args);
        return REPORT_EXIT_ERROR;
    }
    o.qemu = args.qemu;
    o.pcap_dir = args.pcap;
    o.tty = isatty(STDOUT_FILENO);
    install_signals();

    profiles = load_profiles(args.profiles, &error);
    if (!profiles) {
        g_printerr("rig run: %s\n", error->message);
        report_set_error(report, "%s", error->message);
        write_outputs(report, &args, TRUE);
        run_args_clear(&args);
        return REPORT_EXIT_ERROR;
    }
    total = count_scenarios(profiles);
    for (guint i = 0; i < profiles->len; i++) {
        if (!run_profile(g_ptr_array_index(profiles, i), &o, report, &args,
                         &done, total)) {
            break;
        }
    }
    report->complete = report->error == NULL && done == total;
    report->duration_s =
        (double)(g_get_real_time() - report->started_unix_us) / 1e6;
    printf("\n");
    report_print_table(report, stdout);
    write_outputs(report, &args, TRUE);
    if (args.json || args.junit || args.pcap) {
        printf("results:%s%s%s%s%s%s\n", args.json ? " json " : "",
               args.json ? args.json : "", args.junit ? " junit " : "",
               args.junit ? args.junit : "", args.pcap ? " pcap " : "",
               args.pcap ? args.pcap : "");
    }
    fflush(stdout);
    verdict = report_verdict(report);
    status = report_exit_code(verdict);
    if (report->error) {
        g_printerr("rig run: %s\n", report->error);
    }
    run_args_clear(&args);
    return status;
}
