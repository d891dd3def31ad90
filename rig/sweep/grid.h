/*
 * The grid of `rig sweep`: the product of the lists of clocks, periods,
 * flows, payloads and rsc_interval values, in one fixed order, and the
 * deterministic share of it that `--shard K/N` runs.
 *
 * Order: clock, then period, flows, payload (a "group": one VM when
 * rsc_interval is writable), then the RSC-off baseline of the group
 * followed by the intervals in ascending order.  Point indices are
 * positions in that order; shards are contiguous blocks of indices, so a
 * shard keeps whole groups together where it can (fewer VM starts).
 */
#pragma once

#include <glib.h>

#define SWEEP_ERROR (sweep_error_quark())

typedef enum {
    SWEEP_ERROR_INVALID, /* bad option, list or profile [sweep] value */
    SWEEP_ERROR_MERGE,   /* shard outputs that do not fit together */
    SWEEP_ERROR_IO,      /* an output can not be read or written */
    SWEEP_ERROR_RUN,     /* the rig could not run a point */
} SweepErrorCode;

typedef enum {
    SWEEP_CLOCK_VIRTUAL, /* profile clock qtest: deterministic geometry */
    SWEEP_CLOCK_WALL,    /* profile clock free: QEMU's own timers */
    SWEEP_CLOCK_STEPPED, /* profile clock realtime: the clock thread */
    SWEEP_N_CLOCKS,
} SweepClock;

/* interval_us of the RSC-off baseline point of a group. */
#define SWEEP_INTERVAL_OFF 0

typedef struct {
    guint index; /* position in the whole grid */
    SweepClock clock;
    guint period_us;
    guint flows;
    guint payload;
    guint interval_us; /* SWEEP_INTERVAL_OFF: RSC off (baseline) */
} SweepPoint;

typedef struct {
    GArray *clocks;    /* SweepClock, in the order given */
    GArray *intervals; /* guint us, ascending, no duplicates */
    GArray *periods;   /* guint us */
    GArray *flows;     /* guint */
    GArray *payloads;  /* guint bytes */
    gboolean baseline; /* add an RSC-off point per group */
} SweepGrid;

/**
 * sweep_error_quark:
 *
 * Returns: the GError domain of rig sweep.
 */
GQuark sweep_error_quark(void);

/**
 * sweep_grid_new:
 *
 * Returns: (transfer full): an empty grid with the baseline on; free with
 *   sweep_grid_free()
 */
SweepGrid *sweep_grid_new(void);

/**
 * sweep_grid_free:
 * @grid: (nullable) (transfer full): a grid
 */
void sweep_grid_free(SweepGrid *grid);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SweepGrid, sweep_grid_free)

/**
 * sweep_parse_list:
 * @what: the list's name for messages ("--interval-us")
 * @text: comma- or semicolon-separated unsigned integers
 * @min: smallest value allowed
 * @max: largest value allowed
 * @ret_values: (out): a new GArray of guint, set only on success
 * @error: return location; names @what and the bad item
 *
 * Returns: TRUE when every item is an integer in [min, max] and the list
 *   is not empty
 */
gboolean sweep_parse_list(const char *what, const char *text, guint min,
                          guint max, GArray **ret_values, GError **error);

/**
 * sweep_parse_clock:
 * @text: "virtual", "wall", "stepped" or "both" (virtual and wall)
 * @ret_clocks: (out): a new GArray of SweepClock, set only on success
 * @error: return location
 *
 * Returns: TRUE on success
 */
gboolean sweep_parse_clock(const char *text, GArray **ret_clocks,
                           GError **error);

/**
 * sweep_clock_name:
 * @clock: a clock
 *
 * Returns: (transfer none): "virtual", "wall" or "stepped"
 */
const char *sweep_clock_name(SweepClock clock);

/**
 * sweep_clock_from_name:
 * @name: "virtual", "wall" or "stepped"
 * @ret_clock: (out): set only on success
 *
 * Returns: TRUE when @name is a clock
 */
gboolean sweep_clock_from_name(const char *name, SweepClock *ret_clock);

/**
 * sweep_grid_expand:
 * @grid: a grid whose lists are all non-empty
 *
 * Returns: (transfer full): every point (SweepPoint) in grid order, index
 *   = position
 */
GArray *sweep_grid_expand(const SweepGrid *grid);

/**
 * sweep_parse_shard:
 * @text: "K/N" with 1 <= K <= N
 * @ret_index: (out): K, set only on success
 * @ret_count: (out): N, set only on success
 * @error: return location
 *
 * Returns: TRUE on success
 */
gboolean sweep_parse_shard(const char *text, guint *ret_index, guint *ret_count,
                           GError **error);

/**
 * sweep_shard_range:
 * @n_points: points in the whole grid
 * @index: shard K (1-based)
 * @count: shards N
 * @ret_from: (out): first point index of shard K
 * @ret_to: (out): one past its last point index
 *
 * Contiguous blocks whose sizes differ by at most one: across K = 1..N
 * every point is in exactly one shard.
 */
void sweep_shard_range(guint n_points, guint index, guint count,
                       guint *ret_from, guint *ret_to);

/**
 * sweep_point_same_group:
 * @a: a point
 * @b: another point
 *
 * Returns: TRUE when both differ at most in rsc_interval (and are both
 *   RSC on): they can run on one VM when rsc_interval is writable
 */
gboolean sweep_point_same_group(const SweepPoint *a, const SweepPoint *b);
