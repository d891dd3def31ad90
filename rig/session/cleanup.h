/*
 * `rig session rsc-cleanup`: the PowerShell that removes the HLK RSC
 * test's helper drivers, and how its output reads.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * session_cleanup_script:
 *
 * For every driver package in %windir%\INF\oem*.inf whose .inf names
 * coalesce.sys, spartadrv.sys or netcapdrv6.sys: pnputil /delete-driver
 * NAME /uninstall /force, then the .sys file deleted from
 * %windir%\System32\drivers (VirtHCK guest_tools/RSC-cleanup.cmd does the
 * same with pnputil -d / -f -d).  Prints one "##RIG removed INF SYS",
 * "##RIG deleted SYS" or "##RIG failed WHAT: MESSAGE" line per action,
 * then "##RIG left N" (drivers still present) and "##RIG end".
 *
 * Returns: (transfer full): the script.
 */
char *session_cleanup_script(void);

/**
 * session_cleanup_parse:
 * @output: what the script printed
 * @ret_removed: (out) (transfer full): the actions done, one per line
 * @error: return location; names what failed or is left
 *
 * Returns: TRUE when the script ran to its end and nothing is left.
 */
gboolean session_cleanup_parse(const char *output, char **ret_removed,
                               GError **error);

G_END_DECLS
