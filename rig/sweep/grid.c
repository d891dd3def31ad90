/*
 * Grid expansion and sharding of `rig sweep` (see grid.h for the order).
 */
#include "sweep/grid.h"

#include <string.h>

/* clang-format off */
G_DEFINE_QUARK(rig-sweep-error-quark, sweep_error)
/* clang-format on */

static const char *const CLOCK_NAMES[SWEEP_N_CLOCKS] = {
    [SWEEP_CLOCK_VIRTUAL] = "virtual",
    [SWEEP_CLOCK_WALL] = "wall",
    [SWEEP_CLOCK_STEPPED] = "stepped",
};

SweepGrid *sweep_grid_new(void)
{
    SweepGrid *g = g_new0(SweepGrid, 1);

    g->clocks = g_array_new(FALSE, FALSE, sizeof(SweepClock));
    g->intervals = g_array_new(FALSE, FALSE, sizeof(guint));
    g->periods = g_array_new(FALSE, FALSE, sizeof(guint));
    g->flows = g_array_new(FALSE, FALSE, sizeof(guint));
    g->payloads = g_array_new(FALSE, FALSE, sizeof(guint));
    g->baseline = TRUE;
    return g;
}

void sweep_grid_free(SweepGrid *grid)
{
    if (!grid) {
        return;
    }
    g_array_unref(grid->clocks);
    g_array_unref(grid->intervals);
    g_array_unref(grid->periods);
    g_array_unref(grid->flows);
    g_array_unref(grid->payloads);
    g_free(grid);
}

gboolean sweep_parse_list(const char *what, const char *text, guint min,
                          guint max, GArray **ret_values, GError **error)
{
    g_auto(GStrv) items = g_strsplit_set(text ? text : "", ",;", -1);
    g_autoptr(GArray) values = g_array_new(FALSE, FALSE, sizeof(guint));

    for (guint i = 0; items[i]; i++) {
        char *item = g_strstrip(items[i]);
        guint64 v;

        if (item[0] == '\0') {
            continue;
        }
        if (!g_ascii_string_to_unsigned(item, 10, min, max, &v, NULL)) {
            g_set_error(error, SWEEP_ERROR, SWEEP_ERROR_INVALID,
                        "%s: expected integers from %u to %u separated by "
                        "commas, got \"%s\"",
                        what, min, max, item);
            return FALSE;
        }
        g_array_append_val(values, (guint){(guint)v});
    }
    if (values->len == 0) {
        g_set_error(error, SWEEP_ERROR, SWEEP_ERROR_INVALID,
                    "%s: the list is empty", what);
        return FALSE;
    }
    *ret_values = g_steal_pointer(&values);
    return TRUE;
}

gboolean sweep_parse_clock(const char *text, GArray **ret_clocks,
                           GError **error)
{
    g_autoptr(GArray) clocks = g_array_new(FALSE, FALSE, sizeof(SweepClock));
    g_auto(GStrv) items = g_strsplit_set(text ? text : "", ",;", -1);

    for (guint i = 0; items[i]; i++) {
        char *item = g_strstrip(items[i]);
        SweepClock c;

        if (item[0] == '\0') {
            continue;
        }
        if (g_str_equal(item, "both")) {
            g_array_append_val(clocks, (SweepClock){SWEEP_CLOCK_VIRTUAL});
            g_array_append_val(clocks, (SweepClock){SWEEP_CLOCK_WALL});
            continue;
        }
        if (!sweep_clock_from_name(item, &c)) {
            g_set_error(error, SWEEP_ERROR, SWEEP_ERROR_INVALID,
                        "--clock: expected virtual, wall, both or stepped, "
                        "got \"%s\"",
                        item);
            return FALSE;
        }
        g_array_append_val(clocks, c);
    }
    if (clocks->len == 0) {
        g_set_error(error, SWEEP_ERROR, SWEEP_ERROR_INVALID,
                    "--clock: no clock given");
        return FALSE;
    }
    /* A clock named twice would run its points twice. */
    for (guint i = 0; i < clocks->len; i++) {
        for (guint j = i + 1; j < clocks->len; j++) {
            if (g_array_index(clocks, SweepClock, i) ==
                g_array_index(clocks, SweepClock, j)) {
                g_set_error(
                    error, SWEEP_ERROR, SWEEP_ERROR_INVALID,
                    "--clock: %s given twice",
                    sweep_clock_name(g_array_index(clocks, SweepClock, i)));
                return FALSE;
            }
        }
    }
    *ret_clocks = g_steal_pointer(&clocks);
    return TRUE;
}

const char *sweep_clock_name(SweepClock clock)
{
    return clock < SWEEP_N_CLOCKS ? CLOCK_NAMES[clock] : "?";
}

gboolean sweep_clock_from_name(const char *name, SweepClock *ret_clock)
{
    for (guint c = 0; c < SWEEP_N_CLOCKS; c++) {
        if (g_strcmp0(name, CLOCK_NAMES[c]) == 0) {
            *ret_clock = (SweepClock)c;
            return TRUE;
        }
    }
    return FALSE;
}

static gint compare_guint(gconstpointer a, gconstpointer b)
{
    guint x = *(const guint *)a, y = *(const guint *)b;

    return x < y ? -1 : x > y;
}

GArray *sweep_grid_expand(const SweepGrid *grid)
{
    GArray *points = g_array_new(FALSE, FALSE, sizeof(SweepPoint));
    g_autoptr(GArray) intervals = g_array_copy(grid->intervals);

    g_array_sort(intervals, compare_guint);
    for (guint c = 0; c < grid->clocks->len; c++) {
        for (guint p = 0; p < grid->periods->len; p++) {
            for (guint f = 0; f < grid->flows->len; f++) {
                for (guint l = 0; l < grid->payloads->len; l++) {
                    SweepPoint pt = {
                        .clock = g_array_index(grid->clocks, SweepClock, c),
                        .period_us = g_array_index(grid->periods, guint, p),
                        .flows = g_array_index(grid->flows, guint, f),
                        .payload = g_array_index(grid->payloads, guint, l),
                    };
                    guint last = G_MAXUINT;

                    if (grid->baseline) {
                        pt.interval_us = SWEEP_INTERVAL_OFF;
                        pt.index = points->len;
                        g_array_append_val(points, pt);
                    }
                    for (guint i = 0; i < intervals->len; i++) {
                        guint v = g_array_index(intervals, guint, i);

                        if (v == last) {
                            continue;
                        }
                        last = v;
                        pt.interval_us = v;
                        pt.index = points->len;
                        g_array_append_val(points, pt);
                    }
                }
            }
        }
    }
    return points;
}

gboolean sweep_parse_shard(const char *text, guint *ret_index, guint *ret_count,
                           GError **error)
{
    g_auto(GStrv) parts = g_strsplit(text ? text : "", "/", -1);
    guint64 k, n;

    if (g_strv_length(parts) != 2 ||
        !g_ascii_string_to_unsigned(parts[1], 10, 1, 10000, &n, NULL) ||
        !g_ascii_string_to_unsigned(parts[0], 10, 1, n, &k, NULL)) {
        g_set_error(error, SWEEP_ERROR, SWEEP_ERROR_INVALID,
                    "--shard: expected K/N with 1 <= K <= N <= 10000 (e.g. "
                    "2/4), got \"%s\"",
                    text ? text : "");
        return FALSE;
    }
    *ret_index = (guint)k;
    *ret_count = (guint)n;
    return TRUE;
}

void sweep_shard_range(guint n_points, guint index, guint count,
                       guint *ret_from, guint *ret_to)
{
    /* Block K = [floor((K-1) n / N), floor(K n / N)). */
    *ret_from = (guint)(((guint64)(index - 1) * n_points) / count);
    *ret_to = (guint)(((guint64)index * n_points) / count);
}

gboolean sweep_point_same_group(const SweepPoint *a, const SweepPoint *b)
{
    return a->clock == b->clock && a->period_us == b->period_us &&
           a->flows == b->flows && a->payload == b->payload &&
           a->interval_us != SWEEP_INTERVAL_OFF &&
           b->interval_us != SWEEP_INTERVAL_OFF;
}
