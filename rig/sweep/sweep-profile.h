/*
 * Sweep profiles (hck-profiles/sweep-*.ini): a certification profile
 * (hck-profiles/README.md) with exactly one [scenario NAME], the template
 * every point runs, plus a [sweep] group with the grid's lists.  Each point
 * becomes an ordinary Profile through the harness's own loader, with clock,
 * rsc_interval_us, period_us, flows, payload and count set from the point:
 * the schema keeps one implementation.
 */
#pragma once

#include <glib.h>

#include "harness/profile.h"
#include "sweep/grid.h"

typedef struct {
    char *path;
    char *sha256;
    char *name;
    GKeyFile *template_kf; /* the profile without [sweep] */
    char *scenario_group;  /* "scenario NAME" */
    /* From [sweep]; a NULL list means "not given". */
    GArray *clocks;
    GArray *intervals;
    GArray *periods;
    GArray *flows;
    GArray *payloads;
    gboolean baseline;
    guint repeat;
    guint count[SWEEP_N_CLOCKS];
    guint max_latency_us;
} SweepProfile;

/**
 * sweep_profile_load:
 * @path: the .ini file
 * @error: return location; names file, group and key
 *
 * Returns: (transfer full): the sweep profile, or NULL
 */
SweepProfile *sweep_profile_load(const char *path, GError **error);

/**
 * sweep_profile_load_data:
 * @name: the name used in messages and as the profile's path
 * @data: the .ini text
 * @error: return location
 *
 * Returns: (transfer full): the sweep profile, or NULL
 */
SweepProfile *sweep_profile_load_data(const char *name, const char *data,
                                      GError **error);

/**
 * sweep_profile_free:
 * @sp: (nullable) (transfer full): a sweep profile
 */
void sweep_profile_free(SweepProfile *sp);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SweepProfile, sweep_profile_free)

/**
 * sweep_profile_point:
 * @sp: the sweep profile
 * @point: a grid point
 * @count: segments per flow
 * @error: return location
 *
 * The certification profile one point runs: the template with the point's
 * clock (virtual: qtest, wall: free, stepped: realtime), rsc_interval_us,
 * period, flows, payload and count; the RSC-off baseline runs the guest
 * feature set `no-rsc`.  Loaded by the harness's profile loader.
 *
 * Returns: (transfer full): the profile, or NULL
 */
Profile *sweep_profile_point(const SweepProfile *sp, const SweepPoint *point,
                             guint count, GError **error);
