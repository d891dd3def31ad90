/*
 * The `rig sweep` command line: options, the grid, progress, outputs,
 * SIGINT, exit status, and `rig sweep merge`.
 */
#include "sweep/sweep.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness/commands.h"
#include "harness/run.h"
#include "sweep/outputs.h"
#include "sweep/sweep-jobs.h"
#include "sweep/sweep-run.h"

#define DEFAULT_INTERVALS  "25,50,100,200,300,500,1000"
#define DEFAULT_OUT        "sweep-results"
#define DEFAULT_COUNT_VIRT 300
#define DEFAULT_COUNT_WALL 3000

typedef struct {
    char *intervals;
    char *periods;
    char *flows;
    char *payloads;
    char *clock;
    gint repeat;
    gint count;
    gint max_latency_us;
    char *out;
    char *qemu;
    char *shard;
    gint jobs;
    gboolean no_baseline;
    gboolean no_report;
    char **rest;
} SweepArgs;

static void sweep_args_clear(SweepArgs *a)
{
    g_free(a->intervals);
    g_free(a->periods);
    g_free(a->flows);
    g_free(a->payloads);
    g_free(a->clock);
    g_free(a->out);
    g_free(a->qemu);
    g_free(a->shard);
    g_strfreev(a->rest);
}

static const char sweep_description[] =
    "Runs the profile's scenario at every point of the grid: the product of\n"
    "the clock, period, flows, payload and rsc_interval lists (from the\n"
    "profile's [sweep] group; options override them), plus one RSC-off point\n"
    "per (clock, period, flows, payload) for the frames/s reduction.\n"
    "\n"
    "Clocks: virtual = the deterministic qtest clock (exact geometry of\n"
    "QEMU's rules, fast, reproducible); wall = QEMU's own timers on its real\n"
    "clock (profile clock free: what a running Windows VM sees, with noise;\n"
    "use --repeat for confidence intervals); both = virtual and wall;\n"
    "stepped = the reference guest's thread steps the virtual clock every\n"
    "20 us (profile clock realtime).\n"
    "\n"
    "Writes DIR/sweep.json and DIR/sweep.csv after every point (partial,\n"
    "\"complete\": false, until the end or after SIGINT), then the plots\n"
    "(PNG and SVG) and DIR/index.html.  Schema: hck-profiles/README.md.\n"
    "\n"
    "  rig sweep merge [--out DIR] SHARD_DIR...   joins --shard outputs into\n"
    "                                             the unsharded report\n"
    "\n"
    "Exit status: 0 every point ran and lost nothing; 1 a point lost bytes\n"
    "or failed a harness check; 2 the rig could not run (bad profile or\n"
    "option, outputs not writable, QEMU missing, a point could not run,\n"
    "interrupted).";

static gboolean grid_list(const char *what, const char *arg,
                          GArray *from_profile, const char *fallback, guint min,
                          guint max, GArray **ret, GError **error)
{
    if (arg) {
        return sweep_parse_list(what, arg, min, max, ret, error);
    }
    if (from_profile) {
        *ret = g_array_copy(from_profile);
        return TRUE;
    }
    return sweep_parse_list(what, fallback, min, max, ret, error);
}

static SweepReport *build_report(const SweepProfile *sp, const SweepArgs *a,
                                 GError **error)
{
    g_autoptr(SweepGrid) grid = sweep_grid_new();
    g_autoptr(SweepReport) r = NULL;
    g_autofree char *payload = NULL;
    g_autoptr(Profile) template = NULL;
    const ProfileScenario *sc;
    guint shard_k = 0, shard_n = 0;

    {
        g_autofree char *text = g_key_file_to_data(sp->template_kf, NULL, NULL);

        template = profile_load_data(sp->path, text, -1, NULL, NULL, error);
        if (!template) {
            return NULL;
        }
    }
    sc = g_ptr_array_index(template->scenarios, 0);
    payload = g_strdup_printf("%u", sc->payload);
    g_array_unref(grid->clocks);
    g_array_unref(grid->intervals);
    g_array_unref(grid->periods);
    g_array_unref(grid->flows);
    g_array_unref(grid->payloads);
    grid->clocks = grid->intervals = grid->periods = grid->flows =
        grid->payloads = NULL;
    if (a->clock) {
        if (!sweep_parse_clock(a->clock, &grid->clocks, error)) {
            return NULL;
        }
    } else if (sp->clocks) {
        grid->clocks = g_array_copy(sp->clocks);
    } else if (!sweep_parse_clock("virtual", &grid->clocks, error)) {
        return NULL;
    }
    if (!grid_list("--interval-us", a->intervals, sp->intervals,
                   DEFAULT_INTERVALS, 1, 10000000, &grid->intervals, error) ||
        !grid_list("--period-us", a->periods, sp->periods, "100", 1, 10000000,
                   &grid->periods, error) ||
        !grid_list("--flows", a->flows, sp->flows, "1", 1, 64, &grid->flows,
                   error) ||
        !grid_list("--payload", a->payloads, sp->payloads, payload, 1, 65495,
                   &grid->payloads, error)) {
        return NULL;
    }
    grid->baseline = sp->baseline && !a->no_baseline;
    if (a->shard && !sweep_parse_shard(a->shard, &shard_k, &shard_n, error)) {
        return NULL;
    }
    r = sweep_report_new(g_steal_pointer(&grid));
    r->profile_name = g_strdup(sp->name);
    r->profile_path = g_strdup(sp->path);
    r->profile_sha256 = g_strdup(sp->sha256);
    r->repeat = a->repeat > 0 ? (guint)a->repeat : MAX(sp->repeat, 1);
    for (guint c = 0; c < SWEEP_N_CLOCKS; c++) {
        guint fallback =
            c == SWEEP_CLOCK_VIRTUAL ? DEFAULT_COUNT_VIRT : DEFAULT_COUNT_WALL;

        r->count[c] = a->count > 0   ? (guint)a->count
                      : sp->count[c] ? sp->count[c]
                                     : fallback;
    }
    r->max_latency_us =
        a->max_latency_us > 0 ? (guint)a->max_latency_us : sp->max_latency_us;
    r->shard_index = shard_k;
    r->shard_count = shard_n;
    return g_steal_pointer(&r);
}

typedef struct {
    gboolean tty;
    gint64 started_us;
    const char *out;
    gboolean write_failed;
    GError *write_error;
} Progress;

static char *point_label(const SweepPoint *p)
{
    g_autofree char *iv =
        p->interval_us ? g_strdup_printf("interval %u us", p->interval_us)
                       : g_strdup("RSC off");

    return g_strdup_printf("%s period %u us flows %u payload %u %s",
                           sweep_clock_name(p->clock), p->period_us, p->flows,
                           p->payload, iv);
}

static void format_eta(char *buf, gsize size, double seconds)
{
    guint s = (guint)(seconds + 0.5);

    if (s >= 3600) {
        g_snprintf(buf, size, "%uh%02um", s / 3600, s / 60 % 60);
    } else {
        g_snprintf(buf, size, "%um%02us", s / 60, s % 60);
    }
}

static void progress_bar(Progress *pr, guint done, guint total,
                         const char *label)
{
    const guint width = 24;
    guint fill = total ? done * width / total : width;
    double elapsed = (double)(g_get_monotonic_time() - pr->started_us) / 1e6;
    char eta[32] = "?";
    char bar[32];

    if (done > 0) {
        format_eta(eta, sizeof(eta), elapsed / done * (total - done));
    }
    memset(bar, '#', fill);
    memset(bar + fill, '.', width - fill);
    bar[width] = '\0';
    printf("\r\033[K[%s] %u/%u points, ETA %s  %s", bar, done, total, eta,
           label);
    fflush(stdout);
}

static void on_point_start(const SweepPoint *p, guint done, guint total,
                           gpointer user_data)
{
    Progress *pr = user_data;
    g_autofree char *label = NULL;

    if (!pr->tty) {
        return;
    }
    label = point_label(p);
    progress_bar(pr, done, total, label);
}

static void on_point_done(const SweepReport *report, const SweepResult *res,
                          guint done, guint total, gpointer user_data)
{
    Progress *pr = user_data;
    g_autofree char *label = point_label(&res->point);
    SweepStat spf, pred, share, p99, lost;

    if (!pr->write_error &&
        !sweep_write_data(report, pr->out, &pr->write_error)) {
        g_printerr("\nrig sweep: %s\n", pr->write_error->message);
    }
    sweep_result_stat(res, SWEEP_M_SPF_MEAN, &spf);
    sweep_result_stat(res, SWEEP_M_PRED_SPF_MEAN, &pred);
    sweep_result_stat(res, SWEEP_M_COALESCED_SHARE, &share);
    sweep_result_stat(res, SWEEP_M_LATENCY_P99_US, &p99);
    sweep_result_stat(res, SWEEP_M_BYTES_LOST, &lost);
    if (pr->tty) {
        progress_bar(pr, done, total, label);
        if (res->error) {
            printf("\n  %s: ERROR %s\n", label, res->error);
        }
        return;
    }
    if (res->error) {
        printf("[%u/%u] %s: ERROR %s\n", done, total, label, res->error);
    } else {
        printf("[%u/%u] %s: %.2f segments/frame (predicted %.2f), %.1f %% "
               "coalesced, latency p99 %.0f us, %.0f bytes lost\n",
               done, total, label, spf.mean, pred.mean, share.mean * 100,
               p99.mean, lost.mean);
    }
    fflush(stdout);
}

/* 0, 1 or 2 as documented in sweep_description. */
static int exit_status(const SweepReport *r)
{
    int status = RIG_EXIT_OK;
    guint from, to;

    sweep_report_shard_range(r, &from, &to);
    for (guint i = from; i < to; i++) {
        const SweepResult *res = r->results->pdata[i];

        if (!res || res->error) {
            return RIG_EXIT_CANNOT_RUN;
        }
        for (guint k = 0; k < res->samples->len; k++) {
            const SweepSample *s = &g_array_index(res->samples, SweepSample, k);

            if (s->m[SWEEP_M_BYTES_LOST] != 0 ||
                (s->checks_failed && s->checks_failed[0])) {
                status = RIG_EXIT_CHECK_FAILED;
            }
        }
    }
    return status;
}

static gboolean any_result(const SweepReport *r)
{
    for (guint i = 0; i < r->results->len; i++) {
        if (r->results->pdata[i]) {
            return TRUE;
        }
    }
    return FALSE;
}

/* The end of a run or a merge: plots, page, summary; the exit status. */
static int finish(const SweepReport *report, const char *out,
                  gboolean with_report, int status)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *rec = NULL;

    if (!sweep_write_data(report, out, &error)) {
        g_printerr("rig sweep: %s\n", error->message);
        return RIG_EXIT_CANNOT_RUN;
    }
    if (with_report && any_result(report) &&
        !sweep_write_report(report, out, &error)) {
        g_printerr("rig sweep: %s\n", error->message);
        return RIG_EXIT_CANNOT_RUN;
    }
    rec = sweep_recommendation_text(report);
    printf("%s", rec);
    printf("results: %s/sweep.json %s/sweep.csv%s%s%s\n", out, out,
           with_report ? " " : "", with_report ? out : "",
           with_report ? "/index.html" : "");
    if (!sweep_report_is_complete(report)) {
        printf("(incomplete)\n");
    }
    fflush(stdout);
    return status;
}

static int merge_main(int argc, char **argv)
{
    g_autofree char *out = NULL;
    g_auto(GStrv) dirs = NULL;
    const GOptionEntry entries[] = {
        {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
         "Write the merged report into DIR (default: " DEFAULT_OUT ")", "DIR"},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &dirs, NULL,
         "SHARD_DIR..."},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- join rig sweep --shard outputs");
    g_autoptr(GError) error = NULL;
    g_autoptr(SweepReport) merged = NULL;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        g_printerr("rig sweep merge: %s\n", error->message);
        return RIG_EXIT_CANNOT_RUN;
    }
    if (!dirs || !dirs[0]) {
        g_printerr("rig sweep merge: no SHARD_DIR given (see rig sweep merge "
                   "--help)\n");
        return RIG_EXIT_CANNOT_RUN;
    }
    if (!out) {
        out = g_strdup(DEFAULT_OUT);
    }
    merged = sweep_merge_dirs((const char *const *)dirs, &error);
    if (!merged || !sweep_outputs_prepare(out, &error)) {
        g_printerr("rig sweep merge: %s\n", error->message);
        return RIG_EXIT_CANNOT_RUN;
    }
    if (!sweep_report_is_complete(merged)) {
        g_printerr("rig sweep merge: the shards do not cover the grid: the "
                   "merged report is incomplete\n");
    }
    return finish(merged, out, TRUE, exit_status(merged));
}

/* The arguments a --jobs child gets: the same grid, its own --out. */
static GPtrArray *job_args(const SweepArgs *a)
{
    GPtrArray *v = g_ptr_array_new_with_free_func(g_free);

    g_ptr_array_add(v, g_strdup(a->rest[0]));
    if (a->intervals) {
        g_ptr_array_add(v, g_strdup_printf("--interval-us=%s", a->intervals));
    }
    if (a->periods) {
        g_ptr_array_add(v, g_strdup_printf("--period-us=%s", a->periods));
    }
    if (a->flows) {
        g_ptr_array_add(v, g_strdup_printf("--flows=%s", a->flows));
    }
    if (a->payloads) {
        g_ptr_array_add(v, g_strdup_printf("--payload=%s", a->payloads));
    }
    if (a->clock) {
        g_ptr_array_add(v, g_strdup_printf("--clock=%s", a->clock));
    }
    if (a->repeat > 0) {
        g_ptr_array_add(v, g_strdup_printf("--repeat=%d", a->repeat));
    }
    if (a->count > 0) {
        g_ptr_array_add(v, g_strdup_printf("--count=%d", a->count));
    }
    if (a->max_latency_us > 0) {
        g_ptr_array_add(
            v, g_strdup_printf("--max-latency-us=%d", a->max_latency_us));
    }
    if (a->qemu) {
        g_ptr_array_add(v, g_strdup_printf("--qemu=%s", a->qemu));
    }
    if (a->no_baseline) {
        g_ptr_array_add(v, g_strdup("--no-baseline"));
    }
    /* The parent draws the merged report. */
    g_ptr_array_add(v, g_strdup("--no-report"));
    g_ptr_array_add(v, NULL);
    return v;
}

static void on_jobs_progress(guint done, guint total, gpointer user_data)
{
    Progress *pr = user_data;

    if (pr->tty) {
        progress_bar(pr, done, total, "");
    } else {
        printf("[%u/%u] points done\n", done, total);
        fflush(stdout);
    }
}

static int run_jobs(const SweepArgs *a, const SweepReport *grid, Progress *pr)
{
    g_autoptr(GPtrArray) args = job_args(a);
    g_autoptr(SweepReport) merged = NULL;
    g_autoptr(GError) error = NULL;
    SweepJobsConfig jc = {
        .jobs = (guint)a->jobs,
        .out = a->out,
        .args = (const char *const *)args->pdata,
        .total = grid->points->len,
        .stop = run_install_stop_signals(),
        .progress = on_jobs_progress,
        .user_data = pr,
    };
    int job_status = 0;

    printf("rig sweep: %u points in %d jobs (outputs and logs in %s/jobs/)\n",
           grid->points->len, a->jobs, a->out);
    fflush(stdout);
    merged = sweep_jobs_run(&jc, &job_status, &error);
    if (pr->tty) {
        printf("\n");
    }
    if (!merged) {
        g_printerr("rig sweep: %s\n", error->message);
        return RIG_EXIT_CANNOT_RUN;
    }
    if (!sweep_report_is_complete(merged)) {
        g_printerr("rig sweep: a job stopped early (see its log): the report "
                   "is incomplete\n");
    }
    return finish(merged, a->out, !a->no_report,
                  MAX(exit_status(merged), job_status));
}

int sweep_command_main(int argc, char **argv)
{
    SweepArgs a = {.repeat = 0};
    const GOptionEntry entries[] = {
        {"interval-us", 'i', 0, G_OPTION_ARG_STRING, &a.intervals,
         "rsc_interval values (default: the profile's, else " DEFAULT_INTERVALS
         ")",
         "LIST"},
        {"period-us", 'p', 0, G_OPTION_ARG_STRING, &a.periods,
         "Segment periods (default: the profile's, else 100)", "LIST"},
        {"flows", 'f', 0, G_OPTION_ARG_STRING, &a.flows,
         "Concurrent flows (default: the profile's, else 1)", "LIST"},
        {"payload", 0, 0, G_OPTION_ARG_STRING, &a.payloads,
         "Bytes per segment (default: the profile's, else the scenario's)",
         "LIST"},
        {"clock", 'c', 0, G_OPTION_ARG_STRING, &a.clock,
         "virtual, wall, both or stepped (default: the profile's, else "
         "virtual)",
         "CLOCK"},
        {"repeat", 'r', 0, G_OPTION_ARG_INT, &a.repeat,
         "Runs per wall or stepped point, for confidence intervals "
         "(default: the profile's, else 1; virtual points run once)",
         "N"},
        {"count", 'n', 0, G_OPTION_ARG_INT, &a.count,
         "Segments per flow at every point (default: the profile's "
         "count_virtual / count_wall, else 300 / 3000)",
         "N"},
        {"max-latency-us", 0, 0, G_OPTION_ARG_INT, &a.max_latency_us,
         "Also recommend the most coalescing interval whose latency p99 "
         "stays within US",
         "US"},
        {"out", 'o', 0, G_OPTION_ARG_FILENAME, &a.out,
         "Output directory (default: " DEFAULT_OUT ")", "DIR"},
        {"qemu", 0, 0, G_OPTION_ARG_FILENAME, &a.qemu,
         "QEMU binary (default: the profile's, else $RIG_QEMU, else the "
         "patched build)",
         "PATH"},
        {"shard", 0, 0, G_OPTION_ARG_STRING, &a.shard,
         "Run only share K of N of the grid (join with rig sweep merge)",
         "K/N"},
        {"jobs", 'j', 0, G_OPTION_ARG_INT, &a.jobs,
         "Run the grid as N shard processes on this machine, then merge "
         "them (default: 1)",
         "N"},
        {"no-report", 0, 0, G_OPTION_ARG_NONE, &a.no_report,
         "Write sweep.json and sweep.csv only, no plots or index.html (a "
         "shard whose outputs are merged later)",
         NULL},
        {"no-baseline", 0, 0, G_OPTION_ARG_NONE, &a.no_baseline,
         "No RSC-off point per group (no frames/s reduction)", NULL},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &a.rest, NULL,
         "PROFILE"},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- sweep rsc_interval over a grid");
    g_autoptr(GError) error = NULL;
    g_autoptr(SweepProfile) sp = NULL;
    g_autoptr(SweepReport) report = NULL;
    Progress pr = {0};
    SweepRunConfig cfg = {0};
    gboolean ran;
    int status;

    if (argc >= 2 && g_str_equal(argv[1], "merge")) {
        return merge_main(argc - 1, argv + 1);
    }
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(ctx, sweep_description);
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        g_printerr("rig sweep: %s (see rig sweep --help)\n", error->message);
        sweep_args_clear(&a);
        return RIG_EXIT_CANNOT_RUN;
    }
    if (!a.rest || !a.rest[0] || a.rest[1]) {
        g_printerr("rig sweep: give exactly one PROFILE, e.g. rig sweep "
                   "hck-profiles/sweep-whql.ini (see rig sweep --help)\n");
        sweep_args_clear(&a);
        return RIG_EXIT_CANNOT_RUN;
    }
    if (a.repeat < 0 || a.count < 0 || a.max_latency_us < 0 || a.jobs < 0 ||
        a.jobs > 64) {
        g_printerr("rig sweep: --repeat, --count, --max-latency-us and --jobs "
                   "take positive numbers (--jobs at most 64)\n");
        sweep_args_clear(&a);
        return RIG_EXIT_CANNOT_RUN;
    }
    if (!a.out) {
        a.out = g_strdup(DEFAULT_OUT);
    }
    sp = sweep_profile_load(a.rest[0], &error);
    report = sp ? build_report(sp, &a, &error) : NULL;
    if (!report || !sweep_outputs_prepare(a.out, &error)) {
        g_printerr("rig sweep: %s\n", error->message);
        sweep_args_clear(&a);
        return RIG_EXIT_CANNOT_RUN;
    }
    pr.tty = isatty(STDOUT_FILENO);
    pr.started_us = g_get_monotonic_time();
    pr.out = a.out;
    if (a.jobs > 1) {
        if (a.shard) {
            g_printerr("rig sweep: --jobs splits the whole grid; it does not "
                       "combine with --shard\n");
            status = RIG_EXIT_CANNOT_RUN;
        } else {
            status = run_jobs(&a, report, &pr);
        }
        sweep_args_clear(&a);
        return status;
    }
    cfg.profile = sp;
    cfg.qemu = a.qemu;
    cfg.stop = run_install_stop_signals();
    cfg.on_start = on_point_start;
    cfg.on_done = on_point_done;
    cfg.user_data = &pr;
    {
        guint from, to;

        sweep_report_shard_range(report, &from, &to);
        printf("rig sweep: %u of %u points%s, %u repeat%s each, into %s\n",
               to - from, report->points->len,
               report->shard_count ? " (this shard)" : "", report->repeat,
               report->repeat == 1 ? "" : "s", a.out);
        fflush(stdout);
    }
    ran = sweep_run(&cfg, report, &error);
    if (pr.tty) {
        printf("\n");
    }
    if (!ran) {
        g_printerr("rig sweep: %s: finished points are kept (\"complete\": "
                   "false)\n",
                   error->message);
    }
    {
        JsonNode *run = report->runs->len
                            ? report->runs->pdata[report->runs->len - 1]
                            : NULL;

        if (run && report->interval_writable == 1) {
            JsonObject *o = json_node_get_object(run);

            printf("rsc_interval changed on the running VM: %" G_GINT64_FORMAT
                   " VM starts for %" G_GINT64_FORMAT
                   " points, about %.1f s of VM start-up saved\n",
                   json_object_get_int_member(o, "vm_starts"),
                   json_object_get_int_member(o, "points_run"),
                   json_object_get_double_member(o, "vm_reuse_saved_s"));
        } else if (report->interval_writable == 0) {
            printf("this QEMU can not change rsc_interval on a running VM: "
                   "one VM per point\n");
        }
    }
    status = finish(report, a.out, !a.no_report,
                    ran ? exit_status(report) : RIG_EXIT_CANNOT_RUN);
    if (pr.write_error) {
        status = RIG_EXIT_CANNOT_RUN;
        g_clear_error(&pr.write_error);
    }
    sweep_args_clear(&a);
    return status;
}
