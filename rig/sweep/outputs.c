/*
 * Writing the output directory of `rig sweep` (see outputs.h).
 */
#include "sweep/outputs.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "output/output-file.h"
#include "rig-config.h"

gboolean sweep_outputs_prepare(const char *dir, GError **error)
{
    if (g_mkdir_with_parents(dir, 0755) < 0) {
        g_set_error(error, SWEEP_ERROR, SWEEP_ERROR_IO,
                    "can not create the output directory %s: %s", dir,
                    g_strerror(errno));
        return FALSE;
    }
    return rig_output_check_dir(dir, error);
}

/* Through rig/output: atomic for regular files, written through devices
 * and symlinks, an error when it can not be written. */
static gboolean write_file(const char *dir, const char *name, const char *data,
                           gsize len, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);

    return rig_output_write(path, data, len, error);
}

gboolean sweep_write_data(const SweepReport *report, const char *dir,
                          GError **error)
{
    g_autoptr(JsonNode) root = sweep_report_to_json(report);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *json = NULL;
    g_autofree char *csv = sweep_report_to_csv(report);
    gsize len;

    json_generator_set_pretty(gen, TRUE);
    json_generator_set_root(gen, root);
    json = json_generator_to_data(gen, &len);
    return write_file(dir, "sweep.json", json, len, error) &&
           write_file(dir, "sweep.csv", csv, strlen(csv), error);
}

static char *plot_script(void)
{
    const char *env = g_getenv("RIG_SWEEP_PLOT");

    if (env && env[0]) {
        return g_strdup(env);
    }
    return g_build_filename(RIG_SOURCE_DIR, "rig", "sweep", "sweep-plot.py",
                            NULL);
}

static gboolean draw_plots(const char *dir, GError **error)
{
    g_autofree char *script = plot_script();
    g_autofree char *json = g_build_filename(dir, "sweep.json", NULL);
    const char *argv[] = {RIG_PYTHON, script, json, dir, NULL};
    g_autofree char *err = NULL;
    gint status;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
                      NULL, NULL, &err, &status, error)) {
        g_prefix_error(error, "drawing the plots (%s): ", script);
        return FALSE;
    }
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_set_error(error, SWEEP_ERROR, SWEEP_ERROR_IO,
                    "drawing the plots: %s failed: %s", script,
                    err && err[0] ? g_strstrip(err) : "no message");
        return FALSE;
    }
    return TRUE;
}

gboolean sweep_write_report(const SweepReport *report, const char *dir,
                            GError **error)
{
    g_autofree char *html = NULL;

    if (!draw_plots(dir, error)) {
        return FALSE;
    }
    html = sweep_report_to_html(report);
    return write_file(dir, "index.html", html, strlen(html), error);
}
