/*
 * Removing what a session made: shared by `rig session down` and by
 * `rig session up` when it fails or is interrupted.
 */
#pragma once

#include <glib.h>

#include "session/state.h"

G_BEGIN_DECLS

/**
 * session_teardown:
 * @state: what the session made (possibly half of it)
 * @error: return location; set when anything is left
 *
 * Stops every QEMU of the session: the pids in @state, those in the VMs'
 * pidfiles (a VM recorded before it started whose pid never reached the
 * state: `up` killed meanwhile), and any other live process whose command
 * line names the session directory.  Then deletes the namespace and the
 * host bridges.  Succeeds only when no process of the session lives.
 *
 * Returns: TRUE when nothing of the session is left but its directory.
 */
gboolean session_teardown(SessionState *state, GError **error);

/**
 * session_remove_dir:
 * @dir: a session directory (flat: files and sockets only)
 */
void session_remove_dir(const char *dir);

G_END_DECLS
