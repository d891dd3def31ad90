/*
 * Strict .ini loading for every kind of profile (certification profiles,
 * session profiles).
 *
 * GKeyFile merges a group that appears twice and keeps the last of a key
 * given twice: a copy-pasted [scenario s1] silently replaces the first, a
 * repeated key silently wins.  rig_ini_load() refuses both, naming the
 * file, the group, the key and both lines, then loads with GKeyFile (whose
 * syntax and escapes stay the reference).
 */
#pragma once

#include <glib.h>

#define RIG_INI_ERROR (rig_ini_error_quark())
typedef enum RigIniError {
    RIG_INI_ERROR_SYNTAX,          /* GKeyFile refused the text */
    RIG_INI_ERROR_DUPLICATE_GROUP, /* [group] twice */
    RIG_INI_ERROR_DUPLICATE_KEY,   /* key twice in one group */
} RigIniError;

GQuark rig_ini_error_quark(void);

/**
 * rig_ini_load:
 * @kf: an empty key file to load into
 * @file: the name every message starts with (the profile's path)
 * @data: the text (need not be NUL-terminated)
 * @len: its length
 * @error: return location for a GError (RIG_INI_ERROR)
 *
 * Messages: "FILE: [GROUP]: the group appears twice (lines A and B)",
 * "FILE: [GROUP] KEY: given twice (lines A and B)", "FILE: not a valid .ini
 * file: ..." (GKeyFile's reason).
 *
 * Returns: TRUE when @kf holds @data, FALSE with @error set.
 */
gboolean rig_ini_load(GKeyFile *kf, const char *file, const char *data,
                      gsize len, GError **error);
