/*
 * A private network namespace per run, named rig-<pid>-<n> and registered
 * with iproute2 (it shows in `ip netns list`, so a user can
 * `ip netns exec` into it), plus taps with a virtio-net header inside it.
 *
 * Taps are created by the rig, not by QEMU: the rig opens /dev/net/tun from
 * a thread that joined the namespace and hands the fd to QEMU
 * (-netdev tap,fd=N).  QEMU then needs neither CAP_NET_ADMIN nor to run in
 * the namespace, the rig controls the flags (IFF_VNET_HDR) and reports a
 * refused tap with its errno, and a tap is not persistent: it disappears
 * with the last fd, so a crashed QEMU leaves no tap behind.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define RIG_NETNS_ERROR (rig_netns_error_quark())

typedef enum {
    RIG_NETNS_ERROR_FAILED,
    RIG_NETNS_ERROR_PERMISSION, /* not root / no CAP_NET_ADMIN */
    RIG_NETNS_ERROR_NO_TUN,     /* /dev/net/tun missing (modprobe tun) */
    RIG_NETNS_ERROR_TOOL,       /* `ip` (iproute2) missing or failed */
} RigNetnsError;

typedef struct RigNetns RigNetns;

/**
 * RigNetnsFunc:
 * @user_data: data given to rig_netns_run()
 * @error: return location for a GError
 *
 * Work run by rig_netns_run() on a thread inside the namespace.
 *
 * Returns: TRUE on success.
 */
typedef gboolean (*RigNetnsFunc)(gpointer user_data, GError **error);

/**
 * rig_netns_error_quark:
 *
 * Returns: the GQuark of the RIG_NETNS_ERROR domain.
 */
GQuark rig_netns_error_quark(void);

/**
 * rig_netns_new:
 * @error: return location for a GError
 *
 * Creates the namespace rig-<pid>-<n> (`ip netns add`) with loopback up.
 *
 * Returns: (transfer full): the namespace, deleted by rig_netns_free().
 */
RigNetns *rig_netns_new(GError **error);

/**
 * rig_netns_new_persistent:
 * @name: the namespace's name (`ip netns add NAME`), e.g. one the caller
 *   records in a state file
 * @error: return location for a GError (also when @name exists already)
 *
 * Like rig_netns_new(), for a namespace that must outlive this process (a
 * `rig session up` whose `rig session down` runs later): rig_netns_free()
 * only closes the handle, rig_netns_delete() removes the namespace.
 * rig_netns_reap_stale() never touches it (its name is not rig-<pid>-<n>).
 * On failure nothing is left behind.
 *
 * Returns: (transfer full): the namespace, or NULL.
 */
RigNetns *rig_netns_new_persistent(const char *name, GError **error);

/**
 * rig_netns_delete:
 * @name: namespace name
 * @error: return location for a GError
 *
 * Kills (SIGKILL) processes still inside the namespace and deletes it, as
 * rig_netns_free() does for a namespace it owns.  A namespace that does not
 * exist is not an error.
 *
 * Returns: TRUE on success.
 */
gboolean rig_netns_delete(const char *name, GError **error);

/**
 * rig_netns_reap_stale:
 *
 * Deletes namespaces named rig-<pid>-<n> whose rig process is gone (a rig
 * killed with SIGKILL cannot clean up; its QEMU dies with it through
 * PR_SET_PDEATHSIG) and that nothing runs in.  rig_netns_new() calls it.
 * Best effort: problems are logged, never fatal.
 *
 * Returns: how many namespaces were deleted.
 */
guint rig_netns_reap_stale(void);

/**
 * rig_netns_free:
 * @netns: (nullable): a namespace
 *
 * Kills (SIGKILL) processes still inside the namespace, then deletes it
 * (`ip netns del`); its taps go with it.  Safe on every exit path, including
 * a failed start and a signal handler run from the main loop.  NULL-safe.
 */
void rig_netns_free(RigNetns *netns);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RigNetns, rig_netns_free)

/**
 * rig_netns_get_name:
 * @netns: a namespace
 *
 * Returns: (transfer none): its name, for `ip netns exec NAME ...`.
 */
const char *rig_netns_get_name(RigNetns *netns);

/**
 * rig_netns_get_fd:
 * @netns: a namespace
 *
 * Returns: an fd of the namespace (owned by @netns) for setns(fd,
 *   CLONE_NEWNET).
 */
int rig_netns_get_fd(RigNetns *netns);

/**
 * rig_netns_enter:
 * @netns: a namespace
 * @error: return location for a GError
 *
 * Moves the calling thread into the namespace (setns; other threads stay
 * where they are).  Meant for a worker thread that stays there, or a child
 * before exec: use rig_netns_child_setup() with GSubprocessLauncher.
 *
 * Returns: TRUE on success.
 */
gboolean rig_netns_enter(RigNetns *netns, GError **error);

/**
 * rig_netns_child_setup:
 * @user_data: a RigNetns *
 *
 * A GSpawnChildSetupFunc: joins the namespace in the child between fork and
 * exec, and _exit(127)s if that fails.  Only async-signal-safe calls.
 */
void rig_netns_child_setup(gpointer user_data);

/**
 * rig_netns_run:
 * @netns: a namespace
 * @func: work to do inside the namespace
 * @user_data: passed to @func
 * @error: return location for a GError (set by @func or the thread start)
 *
 * Runs @func on a temporary thread that joined the namespace and waits for
 * it, so that the caller's thread never changes namespace.
 *
 * Returns: what @func returned.
 */
gboolean rig_netns_run(RigNetns *netns, RigNetnsFunc func, gpointer user_data,
                       GError **error);

/**
 * rig_netns_add_tap:
 * @netns: (nullable): a namespace, or NULL for the caller's own namespace
 * @name: interface name (at most 15 bytes), e.g. "rigtap0"
 * @ret_fd: (out): the tap fd, owned by the caller; set only on success
 * @error: return location; RIG_NETNS_ERROR_PERMISSION or _NO_TUN say what
 *   to fix
 *
 * Creates a non-persistent tap (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR) inside
 * the namespace, brings it up and disables IPv6 on it so that the kernel
 * sends nothing on its own.  The tap lives as long as an fd of it is open.
 *
 * Returns: TRUE on success.
 */
gboolean rig_netns_add_tap(RigNetns *netns, const char *name, int *ret_fd,
                           GError **error);

/**
 * rig_netns_add_tap_queues:
 * @netns: (nullable): where, NULL for the calling thread's namespace
 * @name: interface name
 * @queues: queue count; above 1 the tap is IFF_MULTI_QUEUE
 * @ret_fds: (out) (transfer full): one fd (int) per queue, owned by the
 *   caller; set only on success
 * @error: return location, as rig_netns_add_tap()
 *
 * As rig_netns_add_tap(), with @queues queues (multi-queue virtio-net).
 *
 * Returns: TRUE on success.
 */
gboolean rig_netns_add_tap_queues(RigNetns *netns, const char *name,
                                  guint queues, GArray **ret_fds,
                                  GError **error);

G_END_DECLS
