/*
 * What the line-protocol clients of QEMU's sockets (QMP, qtest, the guest
 * agent) and the launcher share: deadlines on the monotonic clock, and
 * unix stream sockets.  The socket helpers return -errno, so that each
 * caller keeps its own error domain and words.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * rig_deadline_in_ms:
 * @timeout_ms: from now
 *
 * Returns: the g_get_monotonic_time() value @timeout_ms from now.
 */
gint64 rig_deadline_in_ms(guint timeout_ms);

/**
 * rig_remaining_ms:
 * @deadline: a g_get_monotonic_time() value
 *
 * Returns: milliseconds left until @deadline, rounded up (a deadline 1 us
 *     ahead is 1 ms, for poll()), 0 once it passed.
 */
int rig_remaining_ms(gint64 deadline);

/**
 * rig_unix_listen:
 * @path: socket path
 *
 * socket, bind and listen (backlog 1), close-on-exec.
 *
 * Returns: the listening fd, or -ENAMETOOLONG (@path does not fit
 *     sun_path) or another -errno.
 */
int rig_unix_listen(const char *path);

/**
 * rig_unix_connect:
 * @path: socket path
 * @nonblock: SOCK_NONBLOCK on the new socket
 *
 * Returns: the connected fd (close-on-exec), or -ENAMETOOLONG or another
 *     -errno (-ENOENT: no socket yet, -ECONNREFUSED: nobody listens).
 */
int rig_unix_connect(const char *path, gboolean nonblock);

G_END_DECLS
