/*
 * QEMU's RSC trace of one profile, sliced per scenario.
 */
#include "harness/run-trace.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "harness/run.h"
#include "output/output-file.h"

struct RunTrace {
    char *dir;
    char *profile;
    char *log_path; /* QEMU's -D file */
};

static char *file_safe(const char *name)
{
    char *s = g_strdup(name);

    g_strdelimit(s, "/ ", '_');
    return s;
}

RunTrace *run_trace_new(const char *dir, const char *profile, GError **error)
{
    g_autoptr(RunTrace) t = g_new0(RunTrace, 1);
    g_autofree char *base = NULL;

    if (g_mkdir_with_parents(dir, 0755) < 0) {
        g_set_error(error, RUN_ERROR, RUN_ERROR_FAILED,
                    "--trace: can not create %s: %s", dir, g_strerror(errno));
        return NULL;
    }
    if (!rig_output_check_dir(dir, error)) {
        g_prefix_error(error, "--trace: ");
        return NULL;
    }
    t->dir = g_strdup(dir);
    t->profile = file_safe(profile);
    base = g_strdup_printf("%s.qemu-trace", t->profile);
    t->log_path = g_build_filename(dir, base, NULL);
    /* QEMU truncates it; a stale one must not be read as this run's. */
    if (g_unlink(t->log_path) < 0 && errno != ENOENT) {
        g_set_error(error, RUN_ERROR, RUN_ERROR_FAILED,
                    "--trace: can not replace %s: %s", t->log_path,
                    g_strerror(errno));
        return NULL;
    }
    return g_steal_pointer(&t);
}

void run_trace_free(RunTrace *trace)
{
    if (!trace) {
        return;
    }
    g_free(trace->dir);
    g_free(trace->profile);
    g_free(trace->log_path);
    g_free(trace);
}

void run_trace_add_args(const RunTrace *trace, GPtrArray *argv)
{
    g_ptr_array_add(argv, g_strdup("-trace"));
    g_ptr_array_add(argv, g_strdup("enable=" RUN_TRACE_PATTERN));
    g_ptr_array_add(argv, g_strdup("-D"));
    g_ptr_array_add(argv, g_strdup(trace->log_path));
}

goffset run_trace_mark(const RunTrace *trace)
{
    GStatBuf st;

    if (g_stat(trace->log_path, &st) < 0) {
        return 0;
    }
    return (goffset)st.st_size;
}

gboolean run_trace_is_event_line(const char *line)
{
    const char *p = line;

    /* The log backend's "PID@SECONDS.MICROS:" prefix (-msg timestamp). */
    if (g_ascii_isdigit(*p)) {
        const char *colon = strchr(p, ':');
        const char *at = strchr(p, '@');

        if (at && colon && at < colon) {
            p = colon + 1;
        }
    }
    return g_str_has_prefix(p, "virtio_net_rsc_");
}

/* The bytes QEMU appended to its log since @from. */
static char *read_since(const char *path, goffset from, GError **error)
{
    g_autofree char *all = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &all, &len, error)) {
        g_prefix_error(error, "--trace: ");
        return NULL;
    }
    if ((gsize)from > len) {
        from = 0;
    }
    return g_strndup(all + from, len - (gsize)from);
}

gboolean run_trace_take(RunTrace *trace, goffset from, const char *scenario,
                        char **ret_path, GPtrArray **ret_lines, GError **error)
{
    g_autofree char *text = read_since(trace->log_path, from, error);
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GString) out = g_string_new(NULL);
    g_autofree char *safe = NULL;
    g_autofree char *base = NULL;
    g_autofree char *path = NULL;
    g_auto(GStrv) all = NULL;
    guint events = 0;

    if (!text) {
        return FALSE;
    }
    all = g_strsplit(text, "\n", -1);
    for (guint i = 0; all[i]; i++) {
        if (!run_trace_is_event_line(all[i])) {
            continue;
        }
        events++;
        g_string_append_printf(out, "%s\n", all[i]);
        if (lines->len < RUN_TRACE_JSON_MAX_LINES) {
            g_ptr_array_add(lines, g_strdup(all[i]));
        }
    }
    safe = file_safe(scenario);
    base = g_strdup_printf("%s--%s.trace", trace->profile, safe);
    path = g_build_filename(trace->dir, base, NULL);
    if (!rig_output_write(path, out->str, out->len, error)) {
        g_prefix_error(error, "--trace: ");
        return FALSE;
    }
    if (events > lines->len) {
        g_ptr_array_add(lines, g_strdup_printf("... %u more events in %s",
                                               events - lines->len, path));
    }
    *ret_path = g_steal_pointer(&path);
    *ret_lines = g_steal_pointer(&lines);
    return TRUE;
}
