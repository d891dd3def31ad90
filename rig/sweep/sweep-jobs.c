/*
 * `rig sweep --jobs N`: the grid's N shards as N `rig sweep --shard K/N`
 * processes on this machine (each its own namespace, tap and QEMU), then
 * `rig sweep merge` of their outputs: the report an unsharded run gives,
 * sooner on a machine with cores to spare.
 */
#include "sweep/sweep-jobs.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "sweep/sweep.h"

#define JOBS_DIR "jobs"

typedef struct {
    GSubprocess *proc;
    char *dir;
    gboolean done;
    int status;
} Job;

static void job_done(GObject *source, GAsyncResult *res, gpointer data)
{
    Job *job = data;

    g_subprocess_wait_finish(G_SUBPROCESS(source), res, NULL);
    job->status = g_subprocess_get_if_exited(job->proc)
                      ? g_subprocess_get_exit_status(job->proc)
                      : 2;
    job->done = TRUE;
}

/* Points a job has written so far (its sweep.json, rewritten per point). */
static guint job_points(const Job *job)
{
    g_autofree char *path = g_build_filename(job->dir, "sweep.json", NULL);
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonNode *root;
    JsonArray *points;

    if (!json_parser_load_from_file(parser, path, NULL)) {
        return 0;
    }
    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        return 0;
    }
    points = json_object_get_array_member(json_node_get_object(root), "points");
    return points ? json_array_get_length(points) : 0;
}

static gboolean spawn_jobs(const SweepJobsConfig *cfg, Job *jobs,
                           GError **error)
{
    for (guint k = 0; k < cfg->jobs; k++) {
        g_autoptr(GSubprocessLauncher) launcher =
            g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_INHERIT);
        g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
        g_autofree char *name = g_strdup_printf("%u", k + 1);
        g_autofree char *log = NULL;

        jobs[k].dir = g_build_filename(cfg->out, JOBS_DIR, name, NULL);
        if (g_mkdir_with_parents(jobs[k].dir, 0755) < 0) {
            g_set_error(error, SWEEP_ERROR, SWEEP_ERROR_IO,
                        "can not create %s: %s", jobs[k].dir,
                        g_strerror(errno));
            return FALSE;
        }
        log = g_build_filename(jobs[k].dir, "log", NULL);
        g_subprocess_launcher_set_stdout_file_path(launcher, log);
        g_subprocess_launcher_set_stderr_file_path(launcher, log);
        g_ptr_array_add(argv, g_strdup("/proc/self/exe"));
        g_ptr_array_add(argv, g_strdup("sweep"));
        for (guint i = 0; cfg->args[i]; i++) {
            g_ptr_array_add(argv, g_strdup(cfg->args[i]));
        }
        g_ptr_array_add(argv, g_strdup("--out"));
        g_ptr_array_add(argv, g_strdup(jobs[k].dir));
        g_ptr_array_add(argv,
                        g_strdup_printf("--shard=%u/%u", k + 1, cfg->jobs));
        g_ptr_array_add(argv, NULL);
        jobs[k].proc = g_subprocess_launcher_spawnv(
            launcher, (const char *const *)argv->pdata, error);
        if (!jobs[k].proc) {
            return FALSE;
        }
        g_subprocess_wait_async(jobs[k].proc, NULL, job_done, &jobs[k]);
    }
    return TRUE;
}

static void report_progress(const SweepJobsConfig *cfg, Job *jobs, guint *last)
{
    guint done = 0;

    for (guint k = 0; k < cfg->jobs; k++) {
        done += job_points(&jobs[k]);
    }
    if (done != *last && cfg->progress) {
        cfg->progress(done, cfg->total, cfg->user_data);
    }
    *last = done;
}

SweepReport *sweep_jobs_run(const SweepJobsConfig *cfg, int *ret_status,
                            GError **error)
{
    g_autofree Job *jobs = g_new0(Job, cfg->jobs);
    g_autoptr(GPtrArray) dirs = g_ptr_array_new();
    SweepReport *merged = NULL;
    gboolean forwarded = FALSE;
    guint last = 0, left;
    int status = 0;

    if (!spawn_jobs(cfg, jobs, error)) {
        for (guint k = 0; k < cfg->jobs; k++) {
            if (jobs[k].proc) {
                g_subprocess_send_signal(jobs[k].proc, SIGTERM);
            }
        }
    }
    do {
        left = 0;
        g_main_context_iteration(NULL, FALSE);
        for (guint k = 0; k < cfg->jobs; k++) {
            left += jobs[k].proc && !jobs[k].done;
        }
        /* A signal sent to this process alone reaches the jobs too. */
        if (cfg->stop && *cfg->stop && !forwarded) {
            for (guint k = 0; k < cfg->jobs; k++) {
                if (jobs[k].proc && !jobs[k].done) {
                    g_subprocess_send_signal(jobs[k].proc, SIGINT);
                }
            }
            forwarded = TRUE;
        }
        report_progress(cfg, jobs, &last);
        if (left) {
            g_usleep(100 * 1000);
        }
    } while (left);
    for (guint k = 0; k < cfg->jobs; k++) {
        if (jobs[k].proc) {
            status = MAX(status, jobs[k].status);
            g_ptr_array_add(dirs, jobs[k].dir);
        }
    }
    g_ptr_array_add(dirs, NULL);
    if (!error || !*error) {
        merged = sweep_merge_dirs((const char *const *)dirs->pdata, error);
    }
    for (guint k = 0; k < cfg->jobs; k++) {
        g_clear_object(&jobs[k].proc);
        g_free(jobs[k].dir);
    }
    *ret_status = status;
    return merged;
}
