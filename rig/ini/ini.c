/*
 * Strict .ini loading: duplicates found on the text, then GKeyFile.  The
 * line rules follow GKeyFile's (glib/gkeyfile.c, g_key_file_parse_line):
 * leading blanks ignored, '#' starts a comment, "[...]" up to the last ']'
 * is a group, a key ends before the first '=' less trailing blanks.
 */
#include "ini/ini.h"

#include <string.h>

/* clang-format off */
G_DEFINE_QUARK(rig-ini-error-quark, rig_ini_error)
/* clang-format on */

typedef struct {
    const char *file;
    GHashTable *groups; /* group name -> first line (GUINT_TO_POINTER) */
    GHashTable *keys;   /* key of the current group -> first line */
    char *group;
} Scan;

static gboolean scan_line(Scan *s, const char *line, guint lineno,
                          GError **error)
{
    const char *eq;
    g_autofree char *key = NULL;
    gpointer first;

    while (g_ascii_isspace(*line)) {
        line++;
    }
    if (*line == '\0' || *line == '#') {
        return TRUE;
    }
    if (*line == '[') {
        const char *end = strrchr(line, ']');

        if (!end) {
            return TRUE; /* GKeyFile names the syntax error */
        }
        g_free(s->group);
        s->group = g_strndup(line + 1, (gsize)(end - line - 1));
        if (g_hash_table_lookup_extended(s->groups, s->group, NULL, &first)) {
            g_set_error(error, RIG_INI_ERROR, RIG_INI_ERROR_DUPLICATE_GROUP,
                        "%s: [%s]: the group appears twice (lines %u and %u); "
                        "rename or merge one",
                        s->file, s->group, GPOINTER_TO_UINT(first), lineno);
            return FALSE;
        }
        g_hash_table_insert(s->groups, g_strdup(s->group),
                            GUINT_TO_POINTER(lineno));
        g_hash_table_remove_all(s->keys);
        return TRUE;
    }
    eq = strchr(line, '=');
    if (!eq || !s->group) {
        return TRUE; /* GKeyFile names the syntax error */
    }
    key = g_strndup(line, (gsize)(eq - line));
    g_strchomp(key);
    if (g_hash_table_lookup_extended(s->keys, key, NULL, &first)) {
        g_set_error(error, RIG_INI_ERROR, RIG_INI_ERROR_DUPLICATE_KEY,
                    "%s: [%s] %s: given twice (lines %u and %u); keep one",
                    s->file, s->group, key, GPOINTER_TO_UINT(first), lineno);
        return FALSE;
    }
    g_hash_table_insert(s->keys, g_steal_pointer(&key),
                        GUINT_TO_POINTER(lineno));
    return TRUE;
}

gboolean rig_ini_load(GKeyFile *kf, const char *file, const char *data,
                      gsize len, GError **error)
{
    g_autofree char *text = g_strndup(data, len);
    g_auto(GStrv) lines = NULL;
    g_autoptr(GError) local = NULL;
    Scan s = {
        .file = file,
        .groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
        .keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
    };
    gboolean ok = TRUE;

    g_return_val_if_fail(kf != NULL && file != NULL, FALSE);
    g_return_val_if_fail(data != NULL || len == 0, FALSE);

    if (strlen(text) != len) {
        /* GKeyFile would stop at the NUL; say so rather than load half */
        g_set_error(error, RIG_INI_ERROR, RIG_INI_ERROR_SYNTAX,
                    "%s: not a valid .ini file: it contains a NUL byte", file);
        ok = FALSE;
    }
    lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; ok && lines[i]; i++) {
        ok = scan_line(&s, lines[i], i + 1, error);
    }
    g_hash_table_unref(s.groups);
    g_hash_table_unref(s.keys);
    g_free(s.group);
    if (!ok) {
        return FALSE;
    }
    if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &local)) {
        g_set_error(error, RIG_INI_ERROR, RIG_INI_ERROR_SYNTAX,
                    "%s: not a valid .ini file: %s", file, local->message);
        return FALSE;
    }
    return TRUE;
}
