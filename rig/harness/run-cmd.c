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
#include "output/output-file.h"

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
    gboolean trace;
    char *trace_dir;
    char **profiles;
    FILE *out;            /* progress and table: stderr when "-" is an output */
    gboolean json_stream; /* a device, FIFO or "-": written once, at the end */
    gboolean json_warned; /* a failed rewrite was reported */
    gboolean json_ok;     /* the final write succeeded */
    gboolean junit_ok;
} RunArgs;

static void run_args_clear(RunArgs *a)
{
    g_free(a->json);
    g_free(a->junit);
    g_free(a->pcap);
    g_free(a->qemu);
    g_free(a->trace_dir);
    g_strfreev(a->profiles);
}

static const char run_description[] =
    "Runs each PROFILE (hck-profiles/*.ini) end to end: a private network\n"
    "namespace and tap, the patched QEMU with the profile's virtio-net\n"
    "options, the reference guest with its feature set, every scenario's\n"
    "traffic, then the checks of the sent, device, guest and oracle views.\n"
    "Everything is torn down on every exit path.\n"
    "\n"
    "QEMU: --qemu fixed (the default: ci/build-qemu's build with the RSC\n"
    "fixes; $RIG_QEMU overrides its path), --qemu stock (observability\n"
    "patches only; $RIG_QEMU_STOCK) or --qemu PATH; without --qemu, the\n"
    "profile's qemu key.  On fixed every scenario must match the oracle's\n"
    "spec mode; on stock the profile's stock_known_failures are expected,\n"
    "each naming the patch that fixes it.  Results record the build, its\n"
    "QEMU version and patch series hash.\n"
    "\n"
    "--trace enables QEMU's RSC trace events (virtio_net_rsc_*) and attaches\n"
    "the events of every failing scenario to its result: in the JSON and as\n"
    "TRACE_DIR/PROFILE--SCENARIO.trace (the whole trace is\n"
    "TRACE_DIR/PROFILE.qemu-trace).\n"
    "\n"
    "Exit status:\n"
    "  0  every check passed (known failures listed in the profile allowed)\n"
    "  1  a check failed (the table names it, with expected and observed)\n"
    "  2  the rig could not run: bad profile, QEMU missing, not root, QEMU\n"
    "     died mid-run, interrupted (SIGINT/SIGTERM)\n"
    "\n"
    "     or a requested output (--json, --junit, --pcap) can not be\n"
    "     written: checked before the first scenario, and a later write\n"
    "     failure names the file and the reason\n"
    "\n"
    "The --json file is rewritten after every scenario, so a run that\n"
    "stops early still leaves its partial results (\"complete\": false).\n"
    "Outputs are replaced atomically when they are regular files; a\n"
    "symlink is followed, a device or FIFO written through (once, at the\n"
    "end), and - is standard output (the table then goes to stderr).\n"
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
        if (!run_check_frame_sizes(p, error)) {
            return NULL;
        }
    }
    return g_steal_pointer(&profiles);
}

/*
 * Two profiles with one name would mix in the JSON and the JUnit (suites
 * are named after profiles) and overwrite each other's captures; names
 * that differ can still map to one capture file ("a b" and "a_b").
 */
static gboolean check_unique_names(GPtrArray *profiles, gboolean pcap,
                                   GError **error)
{
    g_autoptr(GHashTable) files =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

    for (guint i = 0; i < profiles->len; i++) {
        const Profile *p = g_ptr_array_index(profiles, i);

        for (guint j = 0; j < i; j++) {
            const Profile *o = g_ptr_array_index(profiles, j);

            if (g_str_equal(p->name, o->name)) {
                g_set_error(error, PROFILE_ERROR, PROFILE_ERROR_INVALID,
                            "%s: [profile] name: \"%s\" is also the name of "
                            "%s; results of both would mix (JSON, JUnit "
                            "suites, pcap files): rename one",
                            p->path, p->name, o->path);
                return FALSE;
            }
        }
        for (guint k = 0; pcap && k < p->scenarios->len; k++) {
            const ProfileScenario *s = g_ptr_array_index(p->scenarios, k);
            char *file = run_pcap_basename(p->name, s->name, "sent");
            const char *other = g_hash_table_lookup(files, file);

            if (other) {
                g_set_error(error, PROFILE_ERROR, PROFILE_ERROR_INVALID,
                            "%s: [scenario %s]: its capture %s would "
                            "overwrite the one of %s: rename one",
                            p->path, s->name, file, other);
                g_free(file);
                return FALSE;
            }
            g_hash_table_insert(
                files, file,
                g_strdup_printf("%s [scenario %s]", p->path, s->name));
        }
    }
    return TRUE;
}

static guint count_scenarios(GPtrArray *profiles)
{
    guint n = 0;

    for (guint i = 0; i < profiles->len; i++) {
        n += ((Profile *)g_ptr_array_index(profiles, i))->scenarios->len;
    }
    return n;
}

/*
 * Before any work: every requested output must be writable, or the run
 * would end without the results it was asked for.
 */
static gboolean check_outputs(const RunArgs *args, GError **error)
{
    if (args->json && args->junit &&
        (g_str_equal(args->json, args->junit) ||
         (rig_output_is_stdout(args->json) &&
          rig_output_is_stdout(args->junit)))) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--json and --junit name the same file %s", args->json);
        return FALSE;
    }
    if (args->json && !rig_output_check(args->json, error)) {
        g_prefix_error(error, "--json ");
        return FALSE;
    }
    if (args->junit && !rig_output_check(args->junit, error)) {
        g_prefix_error(error, "--junit ");
        return FALSE;
    }
    if (args->pcap) {
        if (g_mkdir_with_parents(args->pcap, 0755) < 0) {
            g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                        "--pcap %s: can not create the directory: %s",
                        args->pcap, g_strerror(errno));
            return FALSE;
        }
        if (!rig_output_check_dir(args->pcap, error)) {
            g_prefix_error(error, "--pcap ");
            return FALSE;
        }
    }
    return TRUE;
}

/*
 * The JSON after every scenario (a partial report survives a crash), the
 * JUnit at the end.  A failed final write is an error of the run: the
 * JUnit's goes into the JSON written after it.
 */
static void write_outputs(Report *report, RunArgs *args, gboolean final)
{
    g_autoptr(GError) error = NULL;

    if (final && args->junit) {
        args->junit_ok = report_write_junit(report, args->junit, &error);
        if (!args->junit_ok) {
            g_printerr("rig run: --junit %s\n", error->message);
            report_set_error(report, "results not written: %s", error->message);
            g_clear_error(&error);
        }
    }
    if (!args->json || (!final && args->json_stream)) {
        return;
    }
    if (report_write_json(report, args->json, &error)) {
        args->json_ok = final;
        return;
    }
    if (final || !args->json_warned) {
        g_printerr("rig run: --json %s%s\n", error->message,
                   final ? "" : " (retried after every scenario)");
    }
    args->json_warned = TRUE;
    if (final) {
        report_set_error(report, "results not written: %s", error->message);
    }
}

static void print_results(const RunArgs *args)
{
    if (!(args->json_ok || args->junit_ok || args->pcap || args->trace)) {
        return;
    }
    fprintf(args->out, "results:%s%s%s%s%s%s%s%s\n",
            args->json_ok ? " json " : "", args->json_ok ? args->json : "",
            args->junit_ok ? " junit " : "", args->junit_ok ? args->junit : "",
            args->pcap ? " pcap " : "", args->pcap ? args->pcap : "",
            args->trace ? " trace " : "", args->trace ? args->trace_dir : "");
}

static void print_progress(FILE *out, const RunOptions *o, guint done,
                           guint total, const ReportScenario *rs,
                           gboolean finished)
{
    guint counts[CHECK_SKIP + 1] = {0};
    const char *status = "PASS";

    if (!finished) {
        if (o->tty) {
            fprintf(out, "\r\033[K[%u/%u] %s/%s: running...", done + 1, total,
                    rs->profile, rs->name);
            fflush(out);
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
    fprintf(out,
            "%s[%u/%u] %s/%s: %s (%u passed, %u failed, %u known failures, "
            "%u skipped) %.2f s\n",
            o->tty ? "\r\033[K" : "", done + 1, total, rs->profile, rs->name,
            status, counts[CHECK_PASS] + counts[CHECK_XPASS],
            counts[CHECK_FAIL], counts[CHECK_XFAIL], counts[CHECK_SKIP],
            rs->duration_s);
    fflush(out);
}

/* Runs every scenario of @profile; FALSE stops the whole run. */
static gboolean run_profile(const Profile *profile, const RunOptions *o,
                            Report *report, RunArgs *args, guint *done,
                            guint total)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(RunEnv) env = NULL;

    ReportProfile *rp = report_add_profile(report, profile);
    g_autoptr(QemuBuild) build = NULL;

    build = qemu_build_resolve(o->qemu ? o->qemu : profile->qemu, &error);
    if (!build) {
        report_set_error(report, "%s: %s", profile->path, error->message);
        return FALSE;
    }
    report_set_profile_qemu(report, rp, build);
    if (!o->tty) {
        fprintf(args->out,
                "profile %s (%s): starting QEMU (%s build, %s) and the "
                "reference guest\n",
                profile->name, profile->path, qemu_build_kind_name(build->kind),
                build->path);
        fflush(args->out);
    }
    env = run_env_start(profile, o, build, report, &error);
    if (!env) {
        report_set_error(report, "%s: %s", profile->path, error->message);
        return FALSE;
    }
    /* QEMU's own version, when the build record had none. */
    report_set_profile_qemu(report, rp, build);
    for (guint i = 0; i < profile->scenarios->len; i++) {
        const ProfileScenario *sc = g_ptr_array_index(profile->scenarios, i);
        ReportScenario *rs = report_add_scenario(report, profile, sc);
        gint64 t0 = g_get_monotonic_time();
        gboolean ok;

        print_progress(args->out, o, *done, total, rs, FALSE);
        ok = run_scenario(env, i, sc, rs, &error);
        rs->duration_s = (double)(g_get_monotonic_time() - t0) / 1e6;
        if (!ok) {
            rs->error = g_strdup(error->message);
            report_set_error(report, "%s/%s: %s", profile->name, sc->name,
                             error->message);
        }
        print_progress(args->out, o, *done, total, rs, TRUE);
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

volatile sig_atomic_t *run_install_stop_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    return &run_stop;
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
         "QEMU to run: fixed (default), stock or a PATH; overrides the "
         "profile's qemu key",
         "fixed|stock|PATH"},
        {"trace", 0, 0, G_OPTION_ARG_NONE, &args.trace,
         "Enable QEMU's RSC trace events; attach those of failing "
         "scenarios to their results",
         NULL},
        {"trace-dir", 0, 0, G_OPTION_ARG_FILENAME, &args.trace_dir,
         "Where --trace writes its files (default: trace/ beside --json, "
         "else ./rig-trace)",
         "DIR"},
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
    if (!check_outputs(&args, &error)) {
        g_printerr("rig run: %s\n", error->message);
        run_args_clear(&args);
        return REPORT_EXIT_ERROR;
    }
    args.json_stream = args.json && rig_output_is_stream(args.json);
    args.out =
        rig_output_is_stdout(args.json) || rig_output_is_stdout(args.junit)
            ? stderr
            : stdout;
    if (args.trace_dir && !args.trace) {
        g_printerr("rig run: --trace-dir needs --trace\n");
        run_args_clear(&args);
        return REPORT_EXIT_ERROR;
    }
    if (args.trace && !args.trace_dir) {
        g_autofree char *json_dir = args.json && !args.json_stream
                                        ? g_path_get_dirname(args.json)
                                        : NULL;

        args.trace_dir = json_dir ? g_build_filename(json_dir, "trace", NULL)
                                  : g_strdup("rig-trace");
    }
    o.qemu = args.qemu;
    o.pcap_dir = args.pcap;
    o.trace = args.trace;
    o.trace_dir = args.trace_dir;
    o.tty = isatty(fileno(args.out));
    run_install_stop_signals();

    profiles = load_profiles(args.profiles, &error);
    if (profiles && !check_unique_names(profiles, args.pcap != NULL, &error)) {
        g_clear_pointer(&profiles, g_ptr_array_unref);
    }
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
    fprintf(args.out, "\n");
    report_print_table(report, args.out);
    fflush(args.out);
    write_outputs(report, &args, TRUE);
    print_results(&args);
    fflush(args.out);
    verdict = report_verdict(report);
    status = report_exit_code(verdict);
    if (args.json && !args.json_ok) {
        status = REPORT_EXIT_ERROR;
    }
    if (report->error) {
        g_printerr("rig run: %s\n", report->error);
    }
    run_args_clear(&args);
    return status;
}
