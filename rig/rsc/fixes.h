/*
 * Which RscFix rules each patch of the fixed QEMU's series carries, so that
 * spec mode models exactly the fixes a build has (a series that lands
 * patch by patch, a bisect).  Patches are recognised by the words of their
 * file name (git format-patch names them after the subject).
 */
#pragma once

#include <glib.h>

#include "rsc/oracle.h"

/**
 * rsc_fixes_for_patch:
 * @patch: a patch file name, e.g.
 *   "0003-hw-net-virtio-net-End-RSC-coalescing-on-the-ECE-and-.patch"
 * @ret_fixes: (out): its RscFix bits (0 for a fix the oracle need not
 *   model, such as a writable rsc_interval); set on success
 *
 * Returns: FALSE when the patch is not one the oracle knows.
 */
gboolean rsc_fixes_for_patch(const char *patch, guint *ret_fixes);

/**
 * rsc_fixes_for_series:
 * @patches: (array zero-terminated=1): the fix patches of a build
 * @ret_unknown: (out) (transfer full) (optional): the patches not known,
 *   space-separated, or NULL when all are
 *
 * Returns: the RscFix bits of all known patches.
 */
guint rsc_fixes_for_series(const char *const *patches, char **ret_unknown);

/**
 * rsc_fixes_from_names:
 * @names: fix names as rsc_fixes_describe() writes them, separated by
 *   spaces or commas, or "all" / "none"
 * @ret_fixes: (out): the RscFix bits; set on success
 * @error: return location; names the unknown word and the known ones
 *
 * Returns: TRUE on success
 */
gboolean rsc_fixes_from_names(const char *names, guint *ret_fixes,
                              GError **error);

/**
 * rsc_fixes_describe:
 * @fixes: RscFix bits
 *
 * Returns: (transfer full): "all", "none" or the names, e.g.
 *   "ece-cwr ecn header"
 */
char *rsc_fixes_describe(guint fixes);
