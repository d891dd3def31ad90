/*
 * Networks of a session, on top of rig/qemu/netns.h: the session's
 * namespace is persistent (named and recorded in the session's state, it
 * must outlive the `rig session up` that made it and be removed by a later
 * `rig session down`) and holds the session's bridges; taps come from
 * rig_netns_add_tap() (non-persistent, handed to QEMU as -netdev tap,fd=N,
 * so a killed QEMU leaves no tap behind) and are enslaved to a bridge.
 */
#ifndef RIG_HARNESS_SESSION_NET_H
#define RIG_HARNESS_SESSION_NET_H

#include <glib.h>

#include "qemu/netns.h"

G_BEGIN_DECLS

/**
 * session_net_create_netns:
 * @name: namespace name (`ip netns add NAME`)
 * @bridges: (array zero-terminated=1): bridges to create inside, up, with
 *     IPv6 off so that the host side stays quiet
 * @error: return location for a GError
 *
 * Returns: (transfer full): a handle of the namespace (freeing it leaves
 *     the namespace in place; session_net_delete_netns() removes it), or
 *     NULL; on failure nothing is left behind.
 */
RigNetns *session_net_create_netns(const char *name, const char *const *bridges,
                                   GError **error);

/**
 * session_net_delete_netns:
 * @name: namespace name
 * @error: return location for a GError
 *
 * Deletes the namespace (its bridges and taps go with it); a namespace
 * that does not exist is not an error.
 *
 * Returns: TRUE on success.
 */
gboolean session_net_delete_netns(const char *name, GError **error);

/**
 * session_net_add_tap:
 * @netns: (nullable): the session's namespace, or NULL for the host's
 * @tap: interface name (at most 15 bytes)
 * @bridge: bridge to enslave the tap to, in the same namespace
 * @ret_fd: (out): the tap's fd (IFF_VNET_HDR), owned by the caller; set
 *     only on success
 * @error: return location for a GError
 *
 * Returns: TRUE on success.
 */
gboolean session_net_add_tap(RigNetns *netns, const char *tap,
                             const char *bridge, int *ret_fd, GError **error);

G_END_DECLS

#endif /* RIG_HARNESS_SESSION_NET_H */
