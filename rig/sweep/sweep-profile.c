/*
 * Sweep profiles: the [sweep] group and the per-point certification
 * profiles built from the template (see sweep-profile.h).
 */
#include "sweep/sweep-profile.h"

#include <string.h>

#include "harness/run.h"
#include "ini/ini.h"

static const char *const SWEEP_KEYS[] = {
    "interval_us",   "period_us",      "flows",         "payload",
    "clock",         "repeat",         "count_virtual", "count_wall",
    "count_stepped", "max_latency_us", "baseline",      NULL,
};

void sweep_profile_free(SweepProfile *sp)
{
    if (!sp) {
        return;
    }
    g_free(sp->path);
    g_free(sp->sha256);
    g_free(sp->name);
    g_clear_pointer(&sp->template_kf, g_key_file_unref);
    g_free(sp->scenario_group);
    g_clear_pointer(&sp->clocks, g_array_unref);
    g_clear_pointer(&sp->intervals, g_array_unref);
    g_clear_pointer(&sp->periods, g_array_unref);
    g_clear_pointer(&sp->flows, g_array_unref);
    g_clear_pointer(&sp->payloads, g_array_unref);
    g_free(sp);
}

static gboolean read_list(GKeyFile *kf, const char *file, const char *key,
                          guint min, guint max, GArray **ret, GError **error)
{
    g_autofree char *text = g_key_file_get_value(kf, "sweep", key, NULL);
    g_autofree char *what = g_strdup_printf("%s: [sweep] %s", file, key);

    if (!text) {
        return TRUE;
    }
    return sweep_parse_list(what, text, min, max, ret, error);
}

static gboolean read_uint(GKeyFile *kf, const char *file, const char *key,
                          guint min, guint max, guint *ret, GError **error)
{
    g_autofree char *text = g_key_file_get_value(kf, "sweep", key, NULL);
    guint64 v;

    if (!text) {
        return TRUE;
    }
    g_strstrip(text);
    if (!g_ascii_string_to_unsigned(text, 10, min, max, &v, NULL)) {
        g_set_error(error, SWEEP_ERROR, SWEEP_ERROR_INVALID,
                    "%s: [sweep] %s: expected an integer from %u to %u, got "
                    "\"%s\"",
                    file, key, min, max, text);
        return FALSE;
    }
    *ret = (guint)v;
    return TRUE;
}

static gboolean read_sweep_group(SweepProfile *sp, GKeyFile *kf, GError **error)
{
    g_auto(GStrv) keys = g_key_file_get_keys(kf, "sweep", NULL, NULL);
    g_autofree char *clock = NULL;
    g_autoptr(GError) local = NULL;

    for (guint i = 0; keys && keys[i]; i++) {
        if (!g_strv_contains(SWEEP_KEYS, keys[i])) {
            g_autofree char *known = g_strjoinv(", ", (char **)SWEEP_KEYS);

            g_set_error(error, SWEEP_ERROR, SWEEP_ERROR_INVALID,
                        "%s: [sweep] %s: unknown key (known: %s)", sp->path,
                        keys[i], known);
            return FALSE;
        }
    }
    clock = g_key_file_get_value(kf, "sweep", "clock", NULL);
    if (clock && !sweep_parse_clock(clock, &sp->clocks, error)) {
        g_prefix_error(error, "%s: [sweep] clock: ", sp->path);
        return FALSE;
    }
    if (g_key_file_has_key(kf, "sweep", "baseline", NULL)) {
        sp->baseline = g_key_file_get_boolean(kf, "sweep", "baseline", &local);
        if (local) {
            g_set_error(error, SWEEP_ERROR, SWEEP_ERROR_INVALID,
                        "%s: [sweep] baseline: expected true or false",
                        sp->path);
            return FALSE;
        }
    }
    return read_list(kf, sp->path, "interval_us", 1, 10000000, &sp->intervals,
                     error) &&
           read_list(kf, sp->path, "period_us", 1, 10000000, &sp->periods,
                     error) &&
           read_list(kf, sp->path, "flows", 1, 64, &sp->flows, error) &&
           read_list(kf, sp->path, "payload", 1, 65495, &sp->payloads, error) &&
           read_uint(kf, sp->path, "repeat", 1, 1000, &sp->repeat, error) &&
           read_uint(kf, sp->path, "count_virtual", 1, 10000000,
                     &sp->count[SWEEP_CLOCK_VIRTUAL], error) &&
           read_uint(kf, sp->path, "count_wall", 1, 10000000,
                     &sp->count[SWEEP_CLOCK_WALL], error) &&
           read_uint(kf, sp->path, "count_stepped", 1, 10000000,
                     &sp->count[SWEEP_CLOCK_STEPPED], error) &&
           read_uint(kf, sp->path, "max_latency_us", 1, 100000000,
                     &sp->max_latency_us, error);
}

static gboolean find_template(SweepProfile *sp, GError **error)
{
    g_auto(GStrv) groups = g_key_file_get_groups(sp->template_kf, NULL);

    for (guint i = 0; groups[i]; i++) {
        if (!g_str_has_prefix(groups[i], "scenario ")) {
            continue;
        }
        if (sp->scenario_group) {
            g_set_error(error, SWEEP_ERROR, SWEEP_ERROR_INVALID,
                        "%s: [%s]: a sweep profile has exactly one scenario "
                        "(the template every point runs); [%s] is another",
                        sp->path, sp->scenario_group, groups[i]);
            return FALSE;
        }
        sp->scenario_group = g_strdup(groups[i]);
    }
    if (!sp->scenario_group) {
        g_set_error(error, SWEEP_ERROR, SWEEP_ERROR_INVALID,
                    "%s: no [scenario NAME] group: a sweep profile needs one "
                    "(the template every point runs)",
                    sp->path);
        return FALSE;
    }
    return TRUE;
}

SweepProfile *sweep_profile_load_data(const char *name, const char *data,
                                      GError **error)
{
    g_autoptr(SweepProfile) sp = g_new0(SweepProfile, 1);
    g_autoptr(Profile) check = NULL;
    g_autofree char *text = NULL;

    sp->path = g_strdup(name);
    sp->sha256 = g_compute_checksum_for_string(G_CHECKSUM_SHA256, data, -1);
    sp->baseline = TRUE;
    sp->template_kf = g_key_file_new();
    /* Duplicate groups and keys are errors, as in every profile. */
    if (!rig_ini_load(sp->template_kf, name, data, strlen(data), error)) {
        return NULL;
    }
    if (g_key_file_has_group(sp->template_kf, "sweep") &&
        !read_sweep_group(sp, sp->template_kf, error)) {
        return NULL;
    }
    g_key_file_remove_group(sp->template_kf, "sweep", NULL);
    if (!find_template(sp, error)) {
        return NULL;
    }
    /* The template alone must be a valid certification profile. */
    text = g_key_file_to_data(sp->template_kf, NULL, NULL);
    check =
        profile_load_data(name, text, -1, run_validate_pattern, NULL, error);
    if (!check) {
        return NULL;
    }
    sp->name = g_strdup(check->name);
    return g_steal_pointer(&sp);
}

SweepProfile *sweep_profile_load(const char *path, GError **error)
{
    g_autofree char *data = NULL;
    g_autoptr(GError) local = NULL;

    if (!g_file_get_contents(path, &data, NULL, &local)) {
        g_set_error(error, SWEEP_ERROR, SWEEP_ERROR_INVALID, "%s: %s", path,
                    local->message);
        return NULL;
    }
    return sweep_profile_load_data(path, data, error);
}

static const char *profile_clock_of(SweepClock clock)
{
    switch (clock) {
    case SWEEP_CLOCK_VIRTUAL:
        return "qtest";
    case SWEEP_CLOCK_STEPPED:
        return "realtime";
    case SWEEP_CLOCK_WALL:
    case SWEEP_N_CLOCKS:
        break;
    }
    return "free";
}

Profile *sweep_profile_point(const SweepProfile *sp, const SweepPoint *point,
                             guint count, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autofree char *data = g_key_file_to_data(sp->template_kf, NULL, NULL);
    g_autofree char *text = NULL;
    const char *g = sp->scenario_group;

    if (!g_key_file_load_from_data(kf, data, (gsize)-1, G_KEY_FILE_NONE,
                                   error)) {
        return NULL;
    }
    g_key_file_set_value(kf, "profile", "clock",
                         profile_clock_of(point->clock));
    if (point->interval_us != SWEEP_INTERVAL_OFF) {
        g_key_file_set_uint64(kf, "device", "rsc_interval_us",
                              point->interval_us);
    } else {
        /* RSC off: a guest that does not negotiate RSC_EXT. */
        g_key_file_set_value(kf, "guest", "features", "no-rsc");
    }
    g_key_file_set_uint64(kf, g, "period_us", point->period_us);
    g_key_file_set_uint64(kf, g, "flows", point->flows);
    g_key_file_set_uint64(kf, g, "payload", point->payload);
    g_key_file_set_uint64(kf, g, "count", count);
    text = g_key_file_to_data(kf, NULL, NULL);
    return profile_load_data(sp->path, text, -1, run_validate_pattern, NULL,
                             error);
}
