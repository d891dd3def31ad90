/*
 * The series' patches and the oracle rules they carry.  One row per patch
 * of qemu-patches/<base>/series classed `fix`
 * (tests/integration/test_oracle_builds.py fails when one is missing).
 */
#include "rsc/fixes.h"

#include <string.h>

typedef struct {
    const char *words; /* a case-insensitive part of the file name */
    guint fixes;
} RscFixPatch;

/* First match wins: the flush patch also names the offloads command. */
static const RscFixPatch fix_patches[] = {
    {"Flush", RSC_FIX_FLUSH},
    {"ECE-and", RSC_FIX_ECE_CWR},
    {"IPv6-ECN", RSC_FIX_ECN},
    {"duplicate-ACK", RSC_FIX_DUP_ACK},
    {"header-and-che", RSC_FIX_HEADER},
    {"PSH", RSC_FIX_PSH},
    {"bad-check", RSC_FIX_CSUM},
    {"bad-TCP", RSC_FIX_CSUM},
    {"Do-not-coalesce-RSC-segments-with", RSC_FIX_CSUM},
    {"backend-header", RSC_FIX_VNET_HDR},
    {"vnet-header", RSC_FIX_VNET_HDR},
    {"virtio-net-header", RSC_FIX_VNET_HDR},
    {"GSO", RSC_FIX_VNET_HDR},
    {"RX-ring", RSC_FIX_RING_FULL},
    {"no-receiv", RSC_FIX_RING_FULL},
    {"ring-is-full", RSC_FIX_RING_FULL},
    {"timestamp", RSC_FIX_TIMESTAMPS},
    {"segments-that-carry", RSC_FIX_TIMESTAMPS},
    {"over-size", RSC_FIX_OVERSIZE},
    {"64-KiB", RSC_FIX_OVERSIZE},
    {"after-a-full", RSC_FIX_OVERSIZE},
    {"padding", RSC_FIX_PADDING},
    {"IP-datagram", RSC_FIX_PADDING},
    {"data-offset", RSC_FIX_TCP_HDRLEN},
    {"TCP-headers", RSC_FIX_TCP_HDRLEN},
    {"IPv4-fragments", RSC_FIX_FRAGMENT},
    {"retransmitted", RSC_FIX_RETRANS},
    /* Not a coalescing rule: nothing for the oracle to model. */
    {"read-past-a-short", 0}, /* 0019: an out-of-bounds read, same bypass */
    {"rsc_interval", 0},
    {"rsc-interval", 0},
};

static const char *const fix_names[] = {
    "ece-cwr", "ecn",        "dup-ack",   "header",     "psh",
    "csum",    "vnet-hdr",   "ring-full", "timestamps", "oversize",
    "padding", "tcp-hdrlen", "flush",     "fragment",   "retrans",
};

G_STATIC_ASSERT(G_N_ELEMENTS(fix_names) == 15);
G_STATIC_ASSERT(RSC_FIX_ALL == (1u << G_N_ELEMENTS(fix_names)) - 1);

gboolean rsc_fixes_for_patch(const char *patch, guint *ret_fixes)
{
    g_autofree char *lower = g_ascii_strdown(patch, -1);

    for (guint i = 0; i < G_N_ELEMENTS(fix_patches); i++) {
        g_autofree char *w = g_ascii_strdown(fix_patches[i].words, -1);

        if (strstr(lower, w)) {
            *ret_fixes = fix_patches[i].fixes;
            return TRUE;
        }
    }
    return FALSE;
}

guint rsc_fixes_for_series(const char *const *patches, char **ret_unknown)
{
    g_autoptr(GString) unknown = g_string_new(NULL);
    guint all = 0;

    for (guint i = 0; patches && patches[i]; i++) {
        guint f;

        if (rsc_fixes_for_patch(patches[i], &f)) {
            all |= f;
        } else {
            g_string_append_printf(unknown, "%s%s", unknown->len ? " " : "",
                                   patches[i]);
        }
    }
    if (ret_unknown) {
        *ret_unknown = unknown->len ? g_strdup(unknown->str) : NULL;
    }
    return all;
}

gboolean rsc_fixes_from_names(const char *names, guint *ret_fixes,
                              GError **error)
{
    g_auto(GStrv) words = g_strsplit_set(names, " ,", -1);
    guint fixes = 0;

    for (guint i = 0; words[i]; i++) {
        gboolean found = FALSE;

        if (!words[i][0] || g_str_equal(words[i], "none")) {
            continue;
        }
        if (g_str_equal(words[i], "all")) {
            fixes = RSC_FIX_ALL;
            continue;
        }
        for (guint b = 0; b < G_N_ELEMENTS(fix_names) && !found; b++) {
            if (g_str_equal(words[i], fix_names[b])) {
                fixes |= 1u << b;
                found = TRUE;
            }
        }
        if (!found) {
            g_autofree char *known = g_strjoinv(", ", (char **)fix_names);

            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "unknown fix \"%s\"; expected all, none or: %s",
                        words[i], known);
            return FALSE;
        }
    }
    *ret_fixes = fixes;
    return TRUE;
}

char *rsc_fixes_describe(guint fixes)
{
    GString *s;

    fixes &= RSC_FIX_ALL;
    if (fixes == RSC_FIX_ALL) {
        return g_strdup("all");
    }
    if (fixes == 0) {
        return g_strdup("none");
    }
    s = g_string_new(NULL);
    for (guint i = 0; i < G_N_ELEMENTS(fix_names); i++) {
        if (fixes & (1u << i)) {
            g_string_append_printf(s, "%s%s", s->len ? " " : "", fix_names[i]);
        }
    }
    return g_string_free(s, FALSE);
}
