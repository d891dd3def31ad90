/*
 * `rig sweep merge`: shard outputs joined into the unsharded report.
 */
#include <string.h>

#include <json-glib/json-glib.h>

#include "sweep/sweep.h"

static gboolean same_text(const char *a, const char *b)
{
    return g_strcmp0(a, b) == 0;
}

static gboolean same_grid(const SweepReport *a, const SweepReport *b)
{
    if (a->points->len != b->points->len || a->repeat != b->repeat ||
        a->max_latency_us != b->max_latency_us) {
        return FALSE;
    }
    for (guint c = 0; c < SWEEP_N_CLOCKS; c++) {
        if (a->count[c] != b->count[c]) {
            return FALSE;
        }
    }
    for (guint i = 0; i < a->points->len; i++) {
        SweepPoint p = g_array_index(a->points, SweepPoint, i);
        SweepPoint q = g_array_index(b->points, SweepPoint, i);

        if (memcmp(&p, &q, sizeof(p)) != 0) {
            return FALSE;
        }
    }
    return TRUE;
}

static SweepGrid *copy_grid(const SweepGrid *g)
{
    SweepGrid *c = sweep_grid_new();

    g_array_append_vals(c->clocks, g->clocks->data, g->clocks->len);
    g_array_append_vals(c->intervals, g->intervals->data, g->intervals->len);
    g_array_append_vals(c->periods, g->periods->data, g->periods->len);
    g_array_append_vals(c->flows, g->flows->data, g->flows->len);
    g_array_append_vals(c->payloads, g->payloads->data, g->payloads->len);
    c->baseline = g->baseline;
    return c;
}

static SweepResult *copy_result(const SweepResult *r)
{
    SweepResult *c = sweep_result_new(&r->point, r->count);

    c->error = g_strdup(r->error);
    for (guint i = 0; i < r->samples->len; i++) {
        SweepSample s = g_array_index(r->samples, SweepSample, i);

        s.checks_failed = g_strdupv(s.checks_failed);
        g_array_append_val(c->samples, s);
    }
    return c;
}

SweepReport *sweep_merge(GPtrArray *shards, GError **error)
{
    const SweepReport *first;
    g_autoptr(SweepReport) m = NULL;

    if (shards->len == 0) {
        g_set_error(error, SWEEP_ERROR, SWEEP_ERROR_MERGE, "nothing to merge");
        return NULL;
    }
    first = shards->pdata[0];
    m = sweep_report_new(copy_grid(first->grid));
    g_free(m->rig_version);
    m->rig_version = g_strdup(first->rig_version);
    m->profile_name = g_strdup(first->profile_name);
    m->profile_path = g_strdup(first->profile_path);
    m->profile_sha256 = g_strdup(first->profile_sha256);
    m->repeat = first->repeat;
    m->max_latency_us = first->max_latency_us;
    memcpy(m->count, first->count, sizeof(m->count));
    for (guint s = 0; s < shards->len; s++) {
        const SweepReport *r = shards->pdata[s];

        if (!same_grid(first, r) ||
            !same_text(first->profile_sha256, r->profile_sha256)) {
            g_set_error(error, SWEEP_ERROR, SWEEP_ERROR_MERGE,
                        "input %u is of another sweep (profile or grid "
                        "differ from input 1)",
                        s + 1);
            return NULL;
        }
        if (!same_text(first->qemu_version, r->qemu_version) ||
            !same_text(first->qemu_series_hash, r->qemu_series_hash)) {
            g_set_error(error, SWEEP_ERROR, SWEEP_ERROR_MERGE,
                        "input %u ran another QEMU (%s) than input 1 (%s)",
                        s + 1, r->qemu_version ? r->qemu_version : "unknown",
                        first->qemu_version ? first->qemu_version : "unknown");
            return NULL;
        }
        /* Take the QEMU facts of the first input that learnt them. */
        if (!m->qemu_path && r->qemu_path) {
            m->qemu_path = g_strdup(r->qemu_path);
            m->qemu_version = g_strdup(r->qemu_version);
            m->qemu_series_hash = g_strdup(r->qemu_series_hash);
        }
        if (m->interval_writable < 0) {
            m->interval_writable = r->interval_writable;
        }
        for (guint i = 0; i < r->results->len; i++) {
            const SweepResult *res = r->results->pdata[i];

            if (!res) {
                continue;
            }
            if (m->results->pdata[i]) {
                g_set_error(error, SWEEP_ERROR, SWEEP_ERROR_MERGE,
                            "point %u is in two inputs (the same shard "
                            "given twice?)",
                            i);
                return NULL;
            }
            sweep_report_set_result(m, copy_result(res));
        }
        for (guint i = 0; i < r->runs->len; i++) {
            g_ptr_array_add(m->runs, json_node_copy(r->runs->pdata[i]));
        }
    }
    return g_steal_pointer(&m);
}

SweepReport *sweep_merge_dirs(const char *const *dirs, GError **error)
{
    g_autoptr(GPtrArray) shards =
        g_ptr_array_new_with_free_func((GDestroyNotify)sweep_report_free);

    for (guint i = 0; dirs[i]; i++) {
        g_autofree char *path = g_build_filename(dirs[i], "sweep.json", NULL);
        g_autoptr(JsonParser) parser = json_parser_new();
        g_autoptr(GError) local = NULL;
        SweepReport *r;

        if (!json_parser_load_from_file(parser, path, &local)) {
            g_set_error(error, SWEEP_ERROR, SWEEP_ERROR_MERGE, "%s: %s", path,
                        local->message);
            return NULL;
        }
        r = sweep_report_from_json(json_parser_get_root(parser), path, error);
        if (!r) {
            return NULL;
        }
        g_ptr_array_add(shards, r);
    }
    return sweep_merge(shards, error);
}
