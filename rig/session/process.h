/*
 * The QEMU processes of a session.  They are daemonized and re-parented
 * away from the rig, so liveness comes from /proc: a zombie counts as dead
 * and a recycled pid is told apart by the session directory on the
 * process's command line (every QEMU of a session has its pidfile and
 * sockets there).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * session_pid_alive:
 * @pid: a pid
 * @marker: (nullable): a string the process's command line must contain
 *
 * Returns: TRUE if the process runs (not a zombie) and matches @marker.
 */
gboolean session_pid_alive(gint64 pid, const char *marker);

/**
 * session_read_pidfile:
 * @path: a QEMU pidfile
 *
 * Returns: the pid it holds, 0 if it is absent or holds no pid.
 */
gint64 session_read_pidfile(const char *path);

/**
 * session_find_processes:
 * @marker: what the command line must contain (the session directory
 *     with a trailing '/')
 *
 * Returns: (transfer full): pids (gint64) of live processes other than
 *     this one whose command line contains @marker (g_array_unref).
 */
GArray *session_find_processes(const char *marker);

/**
 * session_stop_process:
 * @pid: a pid
 * @marker: its command line contains this (see session_pid_alive())
 * @qmp_path: (nullable): its QMP socket, for a clean `quit` first
 * @what: e.g. "QEMU of client1", for the message
 * @error: return location; set when it survived SIGKILL
 *
 * QMP quit, then SIGTERM, then SIGKILL, each with a deadline.
 *
 * Returns: TRUE when the process is gone.
 */
gboolean session_stop_process(gint64 pid, const char *marker,
                              const char *qmp_path, const char *what,
                              GError **error);

G_END_DECLS
