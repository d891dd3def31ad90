/*
 * Certification profile loader.  The schema lives in three tables below
 * (one per kind of group); hck-profiles/README.md documents the same keys.
 * Unknown keys are rejected so that a typo never silently drops an
 * expectation.
 */
#include "harness/profile.h"

#include <string.h>

#include "ini/ini.h"
#include "qemu/rsc-stats.h"

#define SCENARIO_PREFIX "scenario "

/* clang-format off */
G_DEFINE_QUARK(rig-profile-error-quark, profile_error)
/* clang-format on */

typedef struct {
    const char *file;
    GKeyFile *kf;
} Loader;

static const char *const profile_keys[] = {
    "version",
    "name",
    "description",
    "qemu",
    "clock",
    "spec_must_pass",
    "timing_slack_us",
    "scenario_timeout_s",
    "window_tolerance",
    NULL,
};

static const char *const device_keys[] = {
    "rsc_interval_us", "families", "mrg_rxbuf", "queue_size", NULL,
};

static const char *const guest_keys[] = {
    "features",
    "rx_buffers",
    NULL,
};

static const char *const scenario_keys[] = {
    "description",
    "family",
    "pattern",
    "count",
    "period_us",
    "payload",
    "flows",
    "rx_ring",
    "vnet_hdr",
    "pad_to_min",
    "rsc_off_at_slot",
    "expect_frames",
    "expect_coalesced_frames",
    "min_coalescing_ratio",
    "min_coalesced_share",
    "csum_flags",
    "expect_counters",
    "oracle",
    "known_failures",
    "known_failure_reason",
    "stock_known_failures",
    "stock_failure_reason",
    "fixed_by",
    NULL,
};

/* The feature profiles rig/guest knows (netkvm negotiates like NetKVM). */
static const char *const guest_feature_profiles[] = {
    "netkvm",    "no-rsc",      "rsc-v4-only", "rsc-v6-only",
    "mrg-rxbuf", "netkvm-head", NULL,
};

/* Check names a scenario may list in known_failures (see check.h). */
static const char *const known_check_names[] = {
    "payload-conserved", "segments-conserved", "device-counters",
    "oracle-qemu",       "oracle-spec",        "no-cross-boundary",
    "frame-size",        "rsc-info",           "coalescing-window",
    "checksum-flags",    "coalescing-ratio",   "coalesced-share",
    "frame-count",       "coalesced-count",    NULL,
};

static void loader_set_error(const Loader *l, GError **error,
                             ProfileErrorCode code, const char *group,
                             const char *key, const char *fmt, ...)
    G_GNUC_PRINTF(6, 7);

static void loader_set_error(const Loader *l, GError **error,
                             ProfileErrorCode code, const char *group,
                             const char *key, const char *fmt, ...)
{
    g_autofree char *what = NULL;
    va_list ap;

    va_start(ap, fmt);
    what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (key) {
        g_set_error(error, PROFILE_ERROR, code, "%s: [%s] %s: %s", l->file,
                    group, key, what);
    } else {
        g_set_error(error, PROFILE_ERROR, code, "%s: [%s]: %s", l->file, group,
                    what);
    }
}

static gboolean loader_check_keys(const Loader *l, const char *group,
                                  const char *const *allowed, GError **error)
{
    g_auto(GStrv) keys = g_key_file_get_keys(l->kf, group, NULL, NULL);

    for (guint i = 0; keys && keys[i]; i++) {
        if (!g_strv_contains(allowed, keys[i])) {
            g_autofree char *list = g_strjoinv(", ", (char **)allowed);
            loader_set_error(l, error, PROFILE_ERROR_UNKNOWN, group, keys[i],
                             "unknown key; expected one of: %s", list);
            return FALSE;
        }
    }
    return TRUE;
}

/* Raw value of an optional key; NULL when absent. */
static char *loader_get_raw(const Loader *l, const char *group, const char *key)
{
    if (!g_key_file_has_key(l->kf, group, key, NULL)) {
        return NULL;
    }
    return g_key_file_get_string(l->kf, group, key, NULL);
}

static gboolean loader_get_string(const Loader *l, const char *group,
                                  const char *key, gboolean required,
                                  char **ret_value, GError **error)
{
    g_autofree char *value = loader_get_raw(l, group, key);

    if (!value) {
        if (required) {
            loader_set_error(l, error, PROFILE_ERROR_MISSING, group, key,
                             "required key is missing");
            return FALSE;
        }
        *ret_value = NULL;
        return TRUE;
    }
    g_strstrip(value);
    if (value[0] == '\0') {
        loader_set_error(l, error, PROFILE_ERROR_INVALID, group, key,
                         "expected a non-empty string");
        return FALSE;
    }
    *ret_value = g_steal_pointer(&value);
    return TRUE;
}

static gboolean loader_get_uint(const Loader *l, const char *group,
                                const char *key, guint64 min, guint64 max,
                                guint64 fallback, guint64 *ret_value,
                                GError **error)
{
    g_autofree char *value = loader_get_raw(l, group, key);
    g_autoptr(GError) local = NULL;
    guint64 n;

    if (!value) {
        *ret_value = fallback;
        return TRUE;
    }
    g_strstrip(value);
    if (!g_ascii_string_to_unsigned(value, 10, min, max, &n, &local)) {
        loader_set_error(l, error, PROFILE_ERROR_INVALID, group, key,
                         "expected an integer from %" G_GUINT64_FORMAT
                         " to %" G_GUINT64_FORMAT ", got \"%s\"",
                         min, max, value);
        return FALSE;
    }
    *ret_value = n;
    return TRUE;
}

static gboolean loader_get_guint(const Loader *l, const char *group,
                                 const char *key, guint min, guint max,
                                 guint fallback, guint *ret_value,
                                 GError **error)
{
    guint64 n;

    if (!loader_get_uint(l, group, key, min, max, fallback, &n, error)) {
        return FALSE;
    }
    *ret_value = (guint)n;
    return TRUE;
}

static gboolean loader_get_double(const Loader *l, const char *group,
                                  const char *key, double min, double max,
                                  double *ret_value, GError **error)
{
    g_autofree char *value = loader_get_raw(l, group, key);
    char *end = NULL;
    double d;

    if (!value) {
        *ret_value = 0.0;
        return TRUE;
    }
    g_strstrip(value);
    d = g_ascii_strtod(value, &end);
    if (value[0] == '\0' || *end != '\0' || !(d >= min && d <= max)) {
        loader_set_error(l, error, PROFILE_ERROR_INVALID, group, key,
                         "expected a number from %g to %g, got \"%s\"", min,
                         max, value);
        return FALSE;
    }
    *ret_value = d;
    return TRUE;
}

static gboolean loader_get_bool(const Loader *l, const char *group,
                                const char *key, gboolean fallback,
                                gboolean *ret_value, GError **error)
{
    g_autofree char *value = loader_get_raw(l, group, key);

    if (!value) {
        *ret_value = fallback;
        return TRUE;
    }
    g_strstrip(value);
    if (g_str_equal(value, "true")) {
        *ret_value = TRUE;
    } else if (g_str_equal(value, "false")) {
        *ret_value = FALSE;
    } else {
        loader_set_error(l, error, PROFILE_ERROR_INVALID, group, key,
                         "expected true or false, got \"%s\"", value);
        return FALSE;
    }
    return TRUE;
}

/* One word out of @choices; its index is returned in @ret_index. */
static gboolean loader_get_choice(const Loader *l, const char *group,
                                  const char *key, const char *const *choices,
                                  guint fallback, gboolean required,
                                  guint *ret_index, GError **error)
{
    g_autofree char *value = loader_get_raw(l, group, key);
    g_autofree char *list = g_strjoinv(", ", (char **)choices);

    if (!value) {
        if (required) {
            loader_set_error(l, error, PROFILE_ERROR_MISSING, group, key,
                             "required key is missing; expected one of: %s",
                             list);
            return FALSE;
        }
        *ret_index = fallback;
        return TRUE;
    }
    g_strstrip(value);
    for (guint i = 0; choices[i]; i++) {
        if (g_str_equal(value, choices[i])) {
            *ret_index = i;
            return TRUE;
        }
    }
    loader_set_error(l, error, PROFILE_ERROR_INVALID, group, key,
                     "expected one of: %s, got \"%s\"", list, value);
    return FALSE;
}

/* A ';'-separated list of families, each at most once. */
static gboolean loader_get_families(const Loader *l, const char *group,
                                    const char *key, ProfileFamily fallback,
                                    ProfileFamily *ret_families, GError **error)
{
    g_auto(GStrv) items = NULL;
    ProfileFamily families = 0;

    if (!g_key_file_has_key(l->kf, group, key, NULL)) {
        *ret_families = fallback;
        return TRUE;
    }
    items = g_key_file_get_string_list(l->kf, group, key, NULL, NULL);
    for (guint i = 0; items && items[i]; i++) {
        ProfileFamily f;

        g_strstrip(items[i]);
        if (g_str_equal(items[i], "ipv4")) {
            f = PROFILE_FAMILY_IPV4;
        } else if (g_str_equal(items[i], "ipv6")) {
            f = PROFILE_FAMILY_IPV6;
        } else {
            loader_set_error(l, error, PROFILE_ERROR_INVALID, group, key,
                             "expected a list of ipv4 and ipv6 separated by "
                             "';', got \"%s\"",
                             items[i]);
            return FALSE;
        }
        if (families & f) {
            loader_set_error(l, error, PROFILE_ERROR_INVALID, group, key,
                             "\"%s\" is listed twice", items[i]);
            return FALSE;
        }
        families |= f;
    }
    if (!families) {
        loader_set_error(l, error, PROFILE_ERROR_INVALID, group, key,
                         "expected at least one of ipv4, ipv6");
        return FALSE;
    }
    *ret_families = families;
    return TRUE;
}

/* expect_counters = name=value;name=value */
static gboolean loader_get_counters(const Loader *l, const char *group,
                                    const char *key, GArray *counters,
                                    GError **error)
{
    g_auto(GStrv) items = NULL;

    if (!g_key_file_has_key(l->kf, group, key, NULL)) {
        return TRUE;
    }
    items = g_key_file_get_string_list(l->kf, group, key, NULL, NULL);
    for (guint i = 0; items && items[i]; i++) {
        g_auto(GStrv) kv = NULL;
        ProfileCounter c;
        guint64 value;

        g_strstrip(items[i]);
        kv = g_strsplit(items[i], "=", 2);
        if (!kv[0] || !kv[1]) {
            loader_set_error(l, error, PROFILE_ERROR_INVALID, group, key,
                             "expected COUNTER=VALUE items separated by ';', "
                             "got \"%s\"",
                             items[i]);
            return FALSE;
        }
        g_strstrip(kv[0]);
        g_strstrip(kv[1]);
        if (rsc_stats_field_index(kv[0]) < 0) {
            loader_set_error(l, error, PROFILE_ERROR_INVALID, group, key,
                             "\"%s\" is not a QEMU RSC counter "
                             "(VirtioNetRscStat names, e.g. received, "
                             "coalesced, tcp_syn)",
                             kv[0]);
            return FALSE;
        }
        if (!g_ascii_string_to_unsigned(kv[1], 10, 0, G_MAXUINT64, &value,
                                        NULL)) {
            loader_set_error(l, error, PROFILE_ERROR_INVALID, group, key,
                             "counter %s: expected a non-negative integer, "
                             "got \"%s\"",
                             kv[0], kv[1]);
            return FALSE;
        }
        c.name = g_strdup(kv[0]);
        c.value = value;
        g_array_append_val(counters, c);
    }
    return TRUE;
}

static void profile_counter_clear(gpointer data)
{
    ProfileCounter *c = data;

    g_free(c->name);
}

static void profile_scenario_free(gpointer data)
{
    ProfileScenario *s = data;

    if (!s) {
        return;
    }
    g_free(s->name);
    g_free(s->description);
    g_free(s->pattern);
    g_clear_pointer(&s->expect_counters, g_array_unref);
    g_strfreev(s->known_failures);
    g_free(s->known_failure_reason);
    g_strfreev(s->stock_known_failures);
    g_free(s->stock_failure_reason);
    g_strfreev(s->fixed_by);
    g_free(s);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ProfileScenario, profile_scenario_free)

void profile_free(Profile *profile)
{
    if (!profile) {
        return;
    }
    g_free(profile->path);
    g_free(profile->sha256);
    g_free(profile->name);
    g_free(profile->description);
    g_free(profile->qemu);
    g_free(profile->guest_features);
    g_clear_pointer(&profile->scenarios, g_ptr_array_unref);
    g_free(profile);
}

static gboolean loader_read_profile_group(const Loader *l, Profile *p,
                                          GError **error)
{
    static const char *const clocks[] = {"realtime", "qtest", "free", NULL};
    const char *g = "profile";
    g_autofree char *version = NULL;
    guint clock;
    guint64 v;

    if (!g_key_file_has_group(l->kf, g)) {
        loader_set_error(l, error, PROFILE_ERROR_MISSING, g, NULL,
                         "required group is missing (it holds version and "
                         "name)");
        return FALSE;
    }
    version = loader_get_raw(l, g, "version");
    if (!version) {
        loader_set_error(l, error, PROFILE_ERROR_VERSION, g, "version",
                         "required key is missing; expected %d",
                         PROFILE_SCHEMA_VERSION);
        return FALSE;
    }
    g_strstrip(version);
    if (!g_ascii_string_to_unsigned(version, 10, 1, G_MAXUINT, &v, NULL) ||
        v != PROFILE_SCHEMA_VERSION) {
        loader_set_error(l, error, PROFILE_ERROR_VERSION, g, "version",
                         "expected %d (the schema this rig reads), got "
                         "\"%s\"",
                         PROFILE_SCHEMA_VERSION, version);
        return FALSE;
    }
    p->version = (guint)v;
    if (!loader_check_keys(l, g, profile_keys, error) ||
        !loader_get_string(l, g, "name", TRUE, &p->name, error) ||
        !loader_get_string(l, g, "description", FALSE, &p->description,
                           error) ||
        !loader_get_string(l, g, "qemu", FALSE, &p->qemu, error) ||
        !loader_get_choice(l, g, "clock", clocks, PROFILE_CLOCK_FREE, FALSE,
                           &clock, error) ||
        !loader_get_bool(l, g, "spec_must_pass", FALSE, &p->spec_must_pass,
                         error) ||
        !loader_get_guint(l, g, "timing_slack_us", 0, 1000000, 1000,
                          &p->timing_slack_us, error) ||
        !loader_get_double(l, g, "window_tolerance", 0.0, 1.0,
                           &p->window_tolerance, error) ||
        !loader_get_guint(l, g, "scenario_timeout_s", 1, 3600, 60,
                          &p->scenario_timeout_s, error)) {
        return FALSE;
    }
    p->clock = clock;
    /* "patched" is the name of the fixed build before the fix series. */
    if (p->qemu &&
        (g_str_equal(p->qemu, "fixed") || g_str_equal(p->qemu, "patched"))) {
        g_clear_pointer(&p->qemu, g_free);
    } else if (p->qemu && !g_str_equal(p->qemu, "stock") &&
               !g_path_is_absolute(p->qemu)) {
        loader_set_error(l, error, PROFILE_ERROR_INVALID, g, "qemu",
                         "expected fixed, stock or an absolute path, got "
                         "\"%s\"",
                         p->qemu);
        return FALSE;
    }
    return TRUE;
}

static gboolean loader_read_device_group(const Loader *l, Profile *p,
                                         GError **error)
{
    const char *g = "device";

    if (!g_key_file_has_group(l->kf, g)) {
        loader_set_error(l, error, PROFILE_ERROR_MISSING, g, NULL,
                         "required group is missing (it holds "
                         "rsc_interval_us and families)");
        return FALSE;
    }
    if (!loader_check_keys(l, g, device_keys, error) ||
        !loader_get_guint(l, g, "rsc_interval_us", 1, 10000000, 300,
                          &p->rsc_interval_us, error) ||
        !loader_get_families(l, g, "families",
                             PROFILE_FAMILY_IPV4 | PROFILE_FAMILY_IPV6,
                             &p->families, error) ||
        !loader_get_bool(l, g, "mrg_rxbuf", FALSE, &p->mrg_rxbuf, error) ||
        !loader_get_guint(l, g, "queue_size", 256, 1024, 256, &p->queue_size,
                          error)) {
        return FALSE;
    }
    /* QEMU's rx_queue_size property: a power of two in [256, 1024]. */
    if (p->queue_size & (p->queue_size - 1)) {
        loader_set_error(l, error, PROFILE_ERROR_INVALID, g, "queue_size",
                         "expected a power of two from 256 to 1024, got %u",
                         p->queue_size);
        return FALSE;
    }
    return TRUE;
}

static gboolean loader_read_guest_group(const Loader *l, Profile *p,
                                        GError **error)
{
    const char *g = "guest";
    guint features = 0;

    if (g_key_file_has_group(l->kf, g) &&
        !loader_check_keys(l, g, guest_keys, error)) {
        return FALSE;
    }
    if (!loader_get_choice(l, g, "features", guest_feature_profiles, 0, FALSE,
                           &features, error) ||
        !loader_get_guint(l, g, "rx_buffers", 1, 1024, 64, &p->rx_buffers,
                          error)) {
        return FALSE;
    }
    p->guest_features = g_strdup(guest_feature_profiles[features]);
    return TRUE;
}

/*
 * A list of check names (@list_key) with the reason they are accepted
 * (@reason_key, required with the list, refused without it).
 */
static gboolean loader_read_check_list(const Loader *l, const char *g,
                                       const char *list_key,
                                       const char *reason_key, char ***ret_list,
                                       char **ret_reason, GError **error)
{
    g_auto(GStrv) items = NULL;

    if (!g_key_file_has_key(l->kf, g, list_key, NULL)) {
        if (g_key_file_has_key(l->kf, g, reason_key, NULL)) {
            loader_set_error(l, error, PROFILE_ERROR_INVALID, g, reason_key,
                             "only allowed together with %s", list_key);
            return FALSE;
        }
        return TRUE;
    }
    items = g_key_file_get_string_list(l->kf, g, list_key, NULL, NULL);
    for (guint i = 0; items && items[i]; i++) {
        g_strstrip(items[i]);
        if (!g_strv_contains(known_check_names, items[i])) {
            g_autofree char *list =
                g_strjoinv(", ", (char **)known_check_names);
            loader_set_error(l, error, PROFILE_ERROR_INVALID, g, list_key,
                             "\"%s\" is not a check name; expected names "
                             "from: %s",
                             items[i], list);
            return FALSE;
        }
    }
    if (!items || !items[0]) {
        loader_set_error(l, error, PROFILE_ERROR_INVALID, g, list_key,
                         "expected at least one check name");
        return FALSE;
    }
    /* A known failure without its reason would hide why it is accepted. */
    if (!loader_get_string(l, g, reason_key, TRUE, ret_reason, error)) {
        return FALSE;
    }
    *ret_list = g_steal_pointer(&items);
    return TRUE;
}

static gboolean loader_read_known_failures(const Loader *l, const char *g,
                                           ProfileScenario *s, GError **error)
{
    if (!loader_read_check_list(l, g, "known_failures", "known_failure_reason",
                                &s->known_failures, &s->known_failure_reason,
                                error) ||
        !loader_read_check_list(
            l, g, "stock_known_failures", "stock_failure_reason",
            &s->stock_known_failures, &s->stock_failure_reason, error)) {
        return FALSE;
    }
    if (g_key_file_has_key(l->kf, g, "fixed_by", NULL)) {
        s->fixed_by =
            g_key_file_get_string_list(l->kf, g, "fixed_by", NULL, NULL);
        for (guint i = 0; s->fixed_by && s->fixed_by[i]; i++) {
            g_strstrip(s->fixed_by[i]);
            if (!s->fixed_by[i][0] || strchr(s->fixed_by[i], '/')) {
                loader_set_error(l, error, PROFILE_ERROR_INVALID, g, "fixed_by",
                                 "expected qemu-patches/ file names or their "
                                 "numbers separated by ';', got \"%s\"",
                                 s->fixed_by[i]);
                return FALSE;
            }
        }
        if (!s->fixed_by || !s->fixed_by[0]) {
            loader_set_error(l, error, PROFILE_ERROR_INVALID, g, "fixed_by",
                             "expected at least one patch");
            return FALSE;
        }
    }
    /* A stock deviation names the patch of the series that fixes it. */
    if (s->stock_known_failures && !s->fixed_by) {
        loader_set_error(l, error, PROFILE_ERROR_MISSING, g, "fixed_by",
                         "required with stock_known_failures: the "
                         "qemu-patches/ file that fixes them");
        return FALSE;
    }
    if (s->fixed_by && !s->stock_known_failures) {
        loader_set_error(l, error, PROFILE_ERROR_INVALID, g, "fixed_by",
                         "only allowed together with stock_known_failures");
        return FALSE;
    }
    return TRUE;
}

static ProfileScenario *loader_read_scenario(const Loader *l, const char *g,
                                             ProfilePatternValidator validate,
                                             gpointer user_data, GError **error)
{
    static const char *const families[] = {"ipv4", "ipv6", NULL};
    static const char *const rx_rings[] = {"normal", "full-at-drain", NULL};
    static const char *const vnet_hdrs[] = {"none", "csum", "gso", NULL};
    static const char *const csums[] = {"any", "none", "needs-csum",
                                        "data-valid", NULL};
    g_autoptr(ProfileScenario) s = g_new0(ProfileScenario, 1);
    guint family, rx_ring, csum, vnet_hdr;
    guint64 frames, coalesced;

    s->name = g_strstrip(g_strdup(g + strlen(SCENARIO_PREFIX)));
    s->expect_counters = g_array_new(FALSE, TRUE, sizeof(ProfileCounter));
    g_array_set_clear_func(s->expect_counters, profile_counter_clear);
    if (s->name[0] == '\0') {
        loader_set_error(l, error, PROFILE_ERROR_INVALID, g, NULL,
                         "a scenario group needs a name: [scenario NAME]");
        return NULL;
    }
    if (!loader_check_keys(l, g, scenario_keys, error) ||
        !loader_get_string(l, g, "description", FALSE, &s->description,
                           error) ||
        !loader_get_choice(l, g, "family", families, 0, TRUE, &family, error) ||
        !loader_get_string(l, g, "pattern", TRUE, &s->pattern, error) ||
        !loader_get_guint(l, g, "count", 0, 10000000, 0, &s->count, error) ||
        !loader_get_guint(l, g, "period_us", 0, 10000000, 100, &s->period_us,
                          error) ||
        !loader_get_guint(l, g, "payload", 1, 65495, 1000, &s->payload,
                          error) ||
        !loader_get_guint(l, g, "flows", 1, 64, 1, &s->flows, error) ||
        !loader_get_choice(l, g, "rx_ring", rx_rings, PROFILE_RX_NORMAL, FALSE,
                           &rx_ring, error) ||
        !loader_get_choice(l, g, "vnet_hdr", vnet_hdrs, PROFILE_VNET_NONE,
                           FALSE, &vnet_hdr, error) ||
        !loader_get_bool(l, g, "pad_to_min", FALSE, &s->pad_to_min, error) ||
        !loader_get_guint(l, g, "rsc_off_at_slot", 0, 10000000, 0,
                          &s->rsc_off_at_slot, error) ||
        !loader_get_uint(l, g, "expect_frames", 0, G_MAXINT32, G_MAXUINT64,
                         &frames, error) ||
        !loader_get_uint(l, g, "expect_coalesced_frames", 0, G_MAXINT32,
                         G_MAXUINT64, &coalesced, error) ||
        !loader_get_double(l, g, "min_coalescing_ratio", 1.0, 65535.0,
                           &s->min_coalescing_ratio, error) ||
        !loader_get_double(l, g, "min_coalesced_share", 0.0, 1.0,
                           &s->min_coalesced_share, error) ||
        !loader_get_choice(l, g, "csum_flags", csums, PROFILE_CSUM_ANY, FALSE,
                           &csum, error) ||
        !loader_get_counters(l, g, "expect_counters", s->expect_counters,
                             error) ||
        !loader_get_bool(l, g, "oracle", TRUE, &s->oracle, error) ||
        !loader_read_known_failures(l, g, s, error)) {
        return NULL;
    }
    s->family = family == 0 ? PROFILE_FAMILY_IPV4 : PROFILE_FAMILY_IPV6;
    s->rx_ring = rx_ring;
    s->vnet_hdr = vnet_hdr;
    s->csum_flags = csum;
    s->expect_frames = frames == G_MAXUINT64 ? -1 : (gint64)frames;
    s->expect_coalesced_frames =
        coalesced == G_MAXUINT64 ? -1 : (gint64)coalesced;
    if (validate) {
        g_autoptr(GError) local = NULL;

        if (!validate(s->pattern, s->family, user_data, &local)) {
            loader_set_error(l, error, PROFILE_ERROR_INVALID, g, "pattern",
                             "%s", local->message);
            return NULL;
        }
    }
    return g_steal_pointer(&s);
}

static gboolean loader_read_scenarios(const Loader *l, Profile *p,
                                      ProfilePatternValidator validate,
                                      gpointer user_data, GError **error)
{
    g_auto(GStrv) groups = g_key_file_get_groups(l->kf, NULL);
    static const char *const fixed[] = {"profile", "device", "guest", NULL};

    for (guint i = 0; groups[i]; i++) {
        ProfileScenario *s;

        if (g_strv_contains(fixed, groups[i])) {
            continue;
        }
        if (!g_str_has_prefix(groups[i], SCENARIO_PREFIX)) {
            loader_set_error(l, error, PROFILE_ERROR_UNKNOWN, groups[i], NULL,
                             "unknown group; expected [profile], [device], "
                             "[guest] or [scenario NAME]");
            return FALSE;
        }
        s = loader_read_scenario(l, groups[i], validate, user_data, error);
        if (!s) {
            return FALSE;
        }
        for (guint j = 0; j < p->scenarios->len; j++) {
            const ProfileScenario *o = g_ptr_array_index(p->scenarios, j);

            if (g_str_equal(o->name, s->name)) {
                loader_set_error(l, error, PROFILE_ERROR_INVALID, groups[i],
                                 NULL, "scenario name \"%s\" is used twice",
                                 s->name);
                profile_scenario_free(s);
                return FALSE;
            }
        }
        if (!(s->family & p->families)) {
            loader_set_error(l, error, PROFILE_ERROR_INVALID, groups[i],
                             "family", "%s is not in [device] families",
                             profile_family_name(s->family));
            profile_scenario_free(s);
            return FALSE;
        }
        /* A GSO frame is larger than the MTU: that is what it is for. */
        if (s->payload > profile_family_mss(s->family) &&
            s->vnet_hdr != PROFILE_VNET_GSO) {
            loader_set_error(l, error, PROFILE_ERROR_INVALID, groups[i],
                             "payload",
                             "expected an integer from 1 to %u (the %s MSS "
                             "at the tap's MTU of %u), got %u",
                             profile_family_mss(s->family),
                             s->family == PROFILE_FAMILY_IPV6 ? "IPv6" : "IPv4",
                             PROFILE_MTU, s->payload);
            profile_scenario_free(s);
            return FALSE;
        }
        /* the ring is filled between qtest clock steps: nothing does it
         * while QEMU's clocks run by themselves */
        if (s->rx_ring == PROFILE_RX_FULL_AT_DRAIN &&
            p->clock != PROFILE_CLOCK_QTEST) {
            loader_set_error(l, error, PROFILE_ERROR_INVALID, groups[i],
                             "rx_ring",
                             "full-at-drain needs [profile] clock = qtest, "
                             "got clock = %s",
                             profile_clock_name(p->clock));
            profile_scenario_free(s);
            return FALSE;
        }
        g_ptr_array_add(p->scenarios, s);
    }
    if (p->scenarios->len == 0) {
        loader_set_error(l, error, PROFILE_ERROR_MISSING, "scenario NAME", NULL,
                         "a profile needs at least one scenario group");
        return FALSE;
    }
    return TRUE;
}

Profile *profile_load_data(const char *name, const char *data, gssize length,
                           ProfilePatternValidator validate_pattern,
                           gpointer user_data, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(Profile) p = g_new0(Profile, 1);
    g_autoptr(GError) local = NULL;
    Loader l = {.file = name, .kf = kf};
    gsize len = length < 0 ? strlen(data) : (gsize)length;

    if (!rig_ini_load(kf, name, data, len, &local)) {
        g_set_error_literal(error, PROFILE_ERROR, PROFILE_ERROR_READ,
                            local->message);
        return NULL;
    }
    p->path = g_strdup(name);
    p->sha256 = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
                                            (const guchar *)data, len);
    p->scenarios = g_ptr_array_new_with_free_func(profile_scenario_free);
    if (!loader_read_profile_group(&l, p, error) ||
        !loader_read_device_group(&l, p, error) ||
        !loader_read_guest_group(&l, p, error) ||
        !loader_read_scenarios(&l, p, validate_pattern, user_data, error)) {
        return NULL;
    }
    return g_steal_pointer(&p);
}

Profile *profile_load(const char *path,
                      ProfilePatternValidator validate_pattern,
                      gpointer user_data, GError **error)
{
    g_autofree char *data = NULL;
    g_autoptr(GError) local = NULL;
    gsize len;

    if (!g_file_get_contents(path, &data, &len, &local)) {
        g_set_error(error, PROFILE_ERROR, PROFILE_ERROR_READ,
                    "%s: can not read the profile: %s", path, local->message);
        return NULL;
    }
    return profile_load_data(path, data, (gssize)len, validate_pattern,
                             user_data, error);
}

gboolean profile_scenario_is_stock_failure(const ProfileScenario *scenario,
                                           const char *check_name)
{
    return scenario->stock_known_failures &&
           g_strv_contains((const char *const *)scenario->stock_known_failures,
                           check_name);
}

gboolean profile_scenario_is_known_failure(const ProfileScenario *scenario,
                                           const char *check_name)
{
    return scenario->known_failures &&
           g_strv_contains((const char *const *)scenario->known_failures,
                           check_name);
}

const char *profile_clock_name(ProfileClock clock)
{
    switch (clock) {
    case PROFILE_CLOCK_QTEST:
        return "qtest";
    case PROFILE_CLOCK_FREE:
        return "free";
    case PROFILE_CLOCK_REALTIME:
        break;
    }
    return "realtime";
}

guint profile_family_mss(ProfileFamily family)
{
    return family == PROFILE_FAMILY_IPV6 ? PROFILE_MSS_IPV6 : PROFILE_MSS_IPV4;
}

const char *profile_family_name(ProfileFamily family)
{
    return family == PROFILE_FAMILY_IPV6 ? "ipv6" : "ipv4";
}

const char *profile_csum_name(ProfileCsum csum)
{
    switch (csum) {
    case PROFILE_CSUM_NONE:
        return "none";
    case PROFILE_CSUM_NEEDS_CSUM:
        return "needs-csum";
    case PROFILE_CSUM_DATA_VALID:
        return "data-valid";
    case PROFILE_CSUM_ANY:
    default:
        return "any";
    }
}
