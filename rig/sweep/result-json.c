/*
 * sweep.json: writer and reader (schema in hck-profiles/README.md, "Sweep
 * JSON").  What is derived (summary, reduction, recommendation) is written
 * but never read back: `rig sweep merge` recomputes it from the repeats,
 * with the same code as an unsharded run.
 */
#include <math.h>
#include <string.h>

#include "sweep/result.h"

static void add_uint_array(JsonBuilder *b, const char *name, const GArray *a)
{
    json_builder_set_member_name(b, name);
    json_builder_begin_array(b);
    for (guint i = 0; i < a->len; i++) {
        json_builder_add_int_value(b, g_array_index(a, guint, i));
    }
    json_builder_end_array(b);
}

static void add_string_or_null(JsonBuilder *b, const char *name,
                               const char *value)
{
    json_builder_set_member_name(b, name);
    if (value) {
        json_builder_add_string_value(b, value);
    } else {
        json_builder_add_null_value(b);
    }
}

/* JSON has no NaN or infinity. */
static void add_double(JsonBuilder *b, const char *name, double v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_double_value(b, isfinite(v) ? v : 0.0);
}

static void add_grid(JsonBuilder *b, const SweepReport *r)
{
    const SweepGrid *g = r->grid;

    json_builder_set_member_name(b, "grid");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "clocks");
    json_builder_begin_array(b);
    for (guint i = 0; i < g->clocks->len; i++) {
        json_builder_add_string_value(
            b, sweep_clock_name(g_array_index(g->clocks, SweepClock, i)));
    }
    json_builder_end_array(b);
    add_uint_array(b, "interval_us", g->intervals);
    add_uint_array(b, "period_us", g->periods);
    add_uint_array(b, "flows", g->flows);
    add_uint_array(b, "payload", g->payloads);
    json_builder_set_member_name(b, "baseline");
    json_builder_add_boolean_value(b, g->baseline);
    json_builder_set_member_name(b, "repeat");
    json_builder_add_int_value(b, r->repeat);
    json_builder_set_member_name(b, "count");
    json_builder_begin_object(b);
    for (guint c = 0; c < SWEEP_N_CLOCKS; c++) {
        json_builder_set_member_name(b, sweep_clock_name(c));
        json_builder_add_int_value(b, r->count[c]);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "max_latency_us");
    if (r->max_latency_us) {
        json_builder_add_int_value(b, r->max_latency_us);
    } else {
        json_builder_add_null_value(b);
    }
    add_double(b, "coalesced_share_bar", SWEEP_HLK_SHARE_BAR);
    json_builder_set_member_name(b, "points");
    json_builder_add_int_value(b, r->points->len);
    json_builder_end_object(b);
}

static void add_sample(JsonBuilder *b, const SweepSample *s)
{
    json_builder_begin_object(b);
    for (guint m = 0; m < SWEEP_N_METRICS; m++) {
        add_double(b, sweep_metric_info(m)->name, s->m[m]);
    }
    json_builder_set_member_name(b, "checks_failed");
    json_builder_begin_array(b);
    for (guint i = 0; s->checks_failed && s->checks_failed[i]; i++) {
        json_builder_add_string_value(b, s->checks_failed[i]);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
}

static void add_point(JsonBuilder *b, const SweepReport *report,
                      const SweepResult *r)
{
    const SweepPoint *p = &r->point;
    double reduction;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "index");
    json_builder_add_int_value(b, p->index);
    json_builder_set_member_name(b, "clock");
    json_builder_add_string_value(b, sweep_clock_name(p->clock));
    json_builder_set_member_name(b, "rsc");
    json_builder_add_boolean_value(b, p->interval_us != SWEEP_INTERVAL_OFF);
    json_builder_set_member_name(b, "interval_us");
    if (p->interval_us != SWEEP_INTERVAL_OFF) {
        json_builder_add_int_value(b, p->interval_us);
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_set_member_name(b, "period_us");
    json_builder_add_int_value(b, p->period_us);
    json_builder_set_member_name(b, "flows");
    json_builder_add_int_value(b, p->flows);
    json_builder_set_member_name(b, "payload");
    json_builder_add_int_value(b, p->payload);
    json_builder_set_member_name(b, "count");
    json_builder_add_int_value(b, r->count);
    add_string_or_null(b, "error", r->error);
    json_builder_set_member_name(b, "summary");
    json_builder_begin_object(b);
    for (guint m = 0; m < SWEEP_N_METRICS; m++) {
        SweepStat st;

        sweep_result_stat(r, m, &st);
        json_builder_set_member_name(b, sweep_metric_info(m)->name);
        json_builder_begin_object(b);
        add_double(b, "mean", st.mean);
        add_double(b, "ci95", st.ci95);
        json_builder_set_member_name(b, "n");
        json_builder_add_int_value(b, st.n);
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "frames_reduction_vs_rsc_off");
    if (sweep_report_reduction(report, r, &reduction)) {
        json_builder_add_double_value(b, reduction);
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_set_member_name(b, "repeats");
    json_builder_begin_array(b);
    for (guint i = 0; i < r->samples->len; i++) {
        add_sample(b, &g_array_index(r->samples, SweepSample, i));
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
}

static void add_recommendation(JsonBuilder *b, const SweepReport *r)
{
    g_autoptr(GArray) recs = sweep_recommend(r);

    json_builder_set_member_name(b, "recommendation");
    json_builder_begin_array(b);
    for (guint i = 0; i < recs->len; i++) {
        const SweepRecommendation *x =
            &g_array_index(recs, SweepRecommendation, i);

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "clock");
        json_builder_add_string_value(b, sweep_clock_name(x->clock));
        json_builder_set_member_name(b, "period_us");
        json_builder_add_int_value(b, x->period_us);
        json_builder_set_member_name(b, "flows");
        json_builder_add_int_value(b, x->flows);
        json_builder_set_member_name(b, "payload");
        json_builder_add_int_value(b, x->payload);
        json_builder_set_member_name(b, "hlk_interval_us");
        if (x->hlk_interval_us) {
            json_builder_add_int_value(b, x->hlk_interval_us);
            add_double(b, "hlk_coalesced_share", x->hlk_share);
        } else {
            json_builder_add_null_value(b);
        }
        json_builder_set_member_name(b, "latency_interval_us");
        if (x->latency_interval_us) {
            json_builder_add_int_value(b, x->latency_interval_us);
            add_double(b, "latency_segments_per_frame", x->latency_spf);
            add_double(b, "latency_p99_us", x->latency_p99_us);
        } else {
            json_builder_add_null_value(b);
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
}

JsonNode *sweep_report_to_json(const SweepReport *r)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "schema");
    json_builder_add_string_value(b, SWEEP_JSON_SCHEMA);
    json_builder_set_member_name(b, "complete");
    json_builder_add_boolean_value(b, sweep_report_is_complete(r));
    json_builder_set_member_name(b, "rig_version");
    json_builder_add_string_value(b, r->rig_version);
    json_builder_set_member_name(b, "profile");
    json_builder_begin_object(b);
    add_string_or_null(b, "name", r->profile_name);
    add_string_or_null(b, "path", r->profile_path);
    add_string_or_null(b, "sha256", r->profile_sha256);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "qemu");
    json_builder_begin_object(b);
    add_string_or_null(b, "path", r->qemu_path);
    add_string_or_null(b, "version", r->qemu_version);
    add_string_or_null(b, "patch_series_hash", r->qemu_series_hash);
    json_builder_set_member_name(b, "rsc_interval_writable");
    if (r->interval_writable < 0) {
        json_builder_add_null_value(b);
    } else {
        json_builder_add_boolean_value(b, r->interval_writable);
    }
    json_builder_end_object(b);
    add_grid(b, r);
    json_builder_set_member_name(b, "shard");
    if (r->shard_count) {
        guint from, to;

        sweep_report_shard_range(r, &from, &to);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "index");
        json_builder_add_int_value(b, r->shard_index);
        json_builder_set_member_name(b, "count");
        json_builder_add_int_value(b, r->shard_count);
        json_builder_set_member_name(b, "first_point");
        json_builder_add_int_value(b, from);
        json_builder_set_member_name(b, "end_point");
        json_builder_add_int_value(b, to);
        json_builder_end_object(b);
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_set_member_name(b, "points");
    json_builder_begin_array(b);
    for (guint i = 0; i < r->results->len; i++) {
        if (r->results->pdata[i]) {
            add_point(b, r, r->results->pdata[i]);
        }
    }
    json_builder_end_array(b);
    add_recommendation(b, r);
    json_builder_set_member_name(b, "runs");
    json_builder_begin_array(b);
    for (guint i = 0; i < r->runs->len; i++) {
        json_builder_add_value(b, json_node_copy(r->runs->pdata[i]));
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

/* ---- reading back ---- */

typedef struct {
    const char *what;
    GError **error;
} Reader;

static gboolean bad(Reader *rd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean bad(Reader *rd, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(rd->error, SWEEP_ERROR, SWEEP_ERROR_MERGE, "%s: %s", rd->what,
                msg);
    return FALSE;
}

static JsonObject *get_object(Reader *rd, JsonObject *o, const char *name)
{
    JsonNode *n = json_object_get_member(o, name);

    if (!n || !JSON_NODE_HOLDS_OBJECT(n)) {
        bad(rd, "\"%s\" is missing or not an object", name);
        return NULL;
    }
    return json_node_get_object(n);
}

static JsonArray *get_array(Reader *rd, JsonObject *o, const char *name)
{
    JsonNode *n = json_object_get_member(o, name);

    if (!n || !JSON_NODE_HOLDS_ARRAY(n)) {
        bad(rd, "\"%s\" is missing or not an array", name);
        return NULL;
    }
    return json_node_get_array(n);
}

static gboolean get_uint(Reader *rd, JsonObject *o, const char *name,
                         guint *ret)
{
    JsonNode *n = json_object_get_member(o, name);

    if (!n || json_node_get_value_type(n) != G_TYPE_INT64 ||
        json_node_get_int(n) < 0 || json_node_get_int(n) > G_MAXUINT) {
        return bad(rd, "\"%s\" is missing or not a non-negative integer", name);
    }
    *ret = (guint)json_node_get_int(n);
    return TRUE;
}

static char *get_string_or_null(JsonObject *o, const char *name)
{
    JsonNode *n = json_object_get_member(o, name);

    if (!n || json_node_get_value_type(n) != G_TYPE_STRING) {
        return NULL;
    }
    return g_strdup(json_node_get_string(n));
}

static gboolean read_uint_array(Reader *rd, JsonObject *o, const char *name,
                                GArray *into)
{
    JsonArray *a = get_array(rd, o, name);

    if (!a) {
        return FALSE;
    }
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonNode *n = json_array_get_element(a, i);

        if (json_node_get_value_type(n) != G_TYPE_INT64 ||
            json_node_get_int(n) < 0) {
            return bad(rd, "grid \"%s\" holds a non-integer", name);
        }
        g_array_append_val(into, (guint){(guint)json_node_get_int(n)});
    }
    return TRUE;
}

static SweepGrid *read_grid(Reader *rd, JsonObject *g)
{
    g_autoptr(SweepGrid) grid = sweep_grid_new();
    JsonArray *clocks = get_array(rd, g, "clocks");
    JsonNode *baseline = json_object_get_member(g, "baseline");

    if (!clocks) {
        return NULL;
    }
    for (guint i = 0; i < json_array_get_length(clocks); i++) {
        SweepClock c;

        if (!sweep_clock_from_name(json_array_get_string_element(clocks, i),
                                   &c)) {
            bad(rd, "grid clock %u is unknown", i);
            return NULL;
        }
        g_array_append_val(grid->clocks, c);
    }
    if (!read_uint_array(rd, g, "interval_us", grid->intervals) ||
        !read_uint_array(rd, g, "period_us", grid->periods) ||
        !read_uint_array(rd, g, "flows", grid->flows) ||
        !read_uint_array(rd, g, "payload", grid->payloads)) {
        return NULL;
    }
    if (!baseline || json_node_get_value_type(baseline) != G_TYPE_BOOLEAN) {
        bad(rd, "grid \"baseline\" is missing or not a boolean");
        return NULL;
    }
    grid->baseline = json_node_get_boolean(baseline);
    return g_steal_pointer(&grid);
}

static gboolean read_sample(Reader *rd, JsonObject *o, SweepSample *s)
{
    JsonArray *checks;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);

    for (guint m = 0; m < SWEEP_N_METRICS; m++) {
        const char *name = sweep_metric_info(m)->name;
        JsonNode *n = json_object_get_member(o, name);

        if (!n || !JSON_NODE_HOLDS_VALUE(n) ||
            (json_node_get_value_type(n) != G_TYPE_DOUBLE &&
             json_node_get_value_type(n) != G_TYPE_INT64)) {
            return bad(rd, "a repeat lacks the number \"%s\"", name);
        }
        s->m[m] = json_node_get_double(n);
    }
    checks = get_array(rd, o, "checks_failed");
    if (!checks) {
        return FALSE;
    }
    for (guint i = 0; i < json_array_get_length(checks); i++) {
        g_ptr_array_add(names,
                        g_strdup(json_array_get_string_element(checks, i)));
    }
    g_ptr_array_add(names, NULL);
    s->checks_failed =
        (char **)g_ptr_array_free(g_steal_pointer(&names), FALSE);
    return TRUE;
}

static gboolean read_point(Reader *rd, SweepReport *r, JsonObject *o)
{
    guint index, count;
    const SweepPoint *p;
    g_autoptr(SweepResult) res = NULL;
    JsonArray *repeats;

    if (!get_uint(rd, o, "index", &index) ||
        !get_uint(rd, o, "count", &count)) {
        return FALSE;
    }
    if (index >= r->points->len) {
        return bad(rd, "point %u is outside the grid of %u points", index,
                   r->points->len);
    }
    p = &g_array_index(r->points, SweepPoint, index);
    if (g_strcmp0(json_object_get_string_member_with_default(o, "clock", ""),
                  sweep_clock_name(p->clock)) != 0 ||
        json_object_get_int_member_with_default(o, "period_us", -1) !=
            p->period_us ||
        json_object_get_int_member_with_default(o, "flows", -1) != p->flows ||
        json_object_get_int_member_with_default(o, "payload", -1) !=
            p->payload ||
        json_object_get_int_member_with_default(
            o, "interval_us", SWEEP_INTERVAL_OFF) != p->interval_us) {
        return bad(rd, "point %u does not match the grid", index);
    }
    if (r->results->pdata[index]) {
        return bad(rd, "point %u appears twice", index);
    }
    res = sweep_result_new(p, count);
    res->error = get_string_or_null(o, "error");
    repeats = get_array(rd, o, "repeats");
    if (!repeats) {
        return FALSE;
    }
    for (guint i = 0; i < json_array_get_length(repeats); i++) {
        JsonNode *n = json_array_get_element(repeats, i);
        SweepSample s = {0};

        if (!JSON_NODE_HOLDS_OBJECT(n)) {
            return bad(rd, "point %u: repeat %u is not an object", index, i);
        }
        if (!read_sample(rd, json_node_get_object(n), &s)) {
            sweep_sample_clear(&s);
            return FALSE;
        }
        g_array_append_val(res->samples, s);
    }
    sweep_report_set_result(r, g_steal_pointer(&res));
    return TRUE;
}

static gboolean read_header(Reader *rd, SweepReport *r, JsonObject *root)
{
    JsonObject *prof = get_object(rd, root, "profile");
    JsonObject *qemu = prof ? get_object(rd, root, "qemu") : NULL;
    JsonObject *grid = qemu ? get_object(rd, root, "grid") : NULL;
    JsonObject *count = grid ? get_object(rd, grid, "count") : NULL;
    JsonNode *writable, *shard, *maxlat;

    if (!count || !get_uint(rd, grid, "repeat", &r->repeat)) {
        return FALSE;
    }
    r->profile_name = get_string_or_null(prof, "name");
    r->profile_path = get_string_or_null(prof, "path");
    r->profile_sha256 = get_string_or_null(prof, "sha256");
    r->qemu_path = get_string_or_null(qemu, "path");
    r->qemu_version = get_string_or_null(qemu, "version");
    r->qemu_series_hash = get_string_or_null(qemu, "patch_series_hash");
    writable = json_object_get_member(qemu, "rsc_interval_writable");
    r->interval_writable =
        writable && json_node_get_value_type(writable) == G_TYPE_BOOLEAN
            ? json_node_get_boolean(writable)
            : -1;
    for (guint c = 0; c < SWEEP_N_CLOCKS; c++) {
        if (!get_uint(rd, count, sweep_clock_name(c), &r->count[c])) {
            return FALSE;
        }
    }
    maxlat = json_object_get_member(grid, "max_latency_us");
    if (maxlat && !JSON_NODE_HOLDS_NULL(maxlat) &&
        !get_uint(rd, grid, "max_latency_us", &r->max_latency_us)) {
        return FALSE;
    }
    shard = json_object_get_member(root, "shard");
    if (shard && JSON_NODE_HOLDS_OBJECT(shard)) {
        JsonObject *s = json_node_get_object(shard);

        if (!get_uint(rd, s, "index", &r->shard_index) ||
            !get_uint(rd, s, "count", &r->shard_count) || r->shard_index < 1 ||
            r->shard_index > r->shard_count) {
            return bad(rd, "\"shard\" is not a valid K/N");
        }
    }
    return TRUE;
}

SweepReport *sweep_report_from_json(JsonNode *root, const char *what,
                                    GError **error)
{
    Reader rd = {.what = what, .error = error};
    JsonObject *o, *grid_o;
    JsonArray *points, *runs;
    g_autoptr(SweepReport) r = NULL;
    SweepGrid *grid;
    guint n_points;

    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        bad(&rd, "not a JSON object");
        return NULL;
    }
    o = json_node_get_object(root);
    if (g_strcmp0(json_object_get_string_member_with_default(o, "schema", ""),
                  SWEEP_JSON_SCHEMA) != 0) {
        bad(&rd, "\"schema\" is not \"%s\"", SWEEP_JSON_SCHEMA);
        return NULL;
    }
    grid_o = get_object(&rd, o, "grid");
    if (!grid_o || !(grid = read_grid(&rd, grid_o))) {
        return NULL;
    }
    r = sweep_report_new(grid);
    if (!read_header(&rd, r, o) ||
        !get_uint(&rd, grid_o, "points", &n_points)) {
        return NULL;
    }
    if (n_points != r->points->len) {
        bad(&rd, "the grid expands to %u points, the file says %u",
            r->points->len, n_points);
        return NULL;
    }
    g_free(r->rig_version);
    r->rig_version = get_string_or_null(o, "rig_version");
    points = get_array(&rd, o, "points");
    runs = points ? get_array(&rd, o, "runs") : NULL;
    if (!runs) {
        return NULL;
    }
    for (guint i = 0; i < json_array_get_length(points); i++) {
        JsonNode *n = json_array_get_element(points, i);

        if (!JSON_NODE_HOLDS_OBJECT(n)) {
            bad(&rd, "points[%u] is not an object", i);
            return NULL;
        }
        if (!read_point(&rd, r, json_node_get_object(n))) {
            return NULL;
        }
    }
    for (guint i = 0; i < json_array_get_length(runs); i++) {
        g_ptr_array_add(r->runs,
                        json_node_copy(json_array_get_element(runs, i)));
    }
    return g_steal_pointer(&r);
}
