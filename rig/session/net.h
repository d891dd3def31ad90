/*
 * Networks of a session, on top of rig/qemu/netns.h: the session's
 * namespace is persistent (named and recorded in the session's state, it
 * must outlive the `rig session up` that made it and be removed by a later
 * `rig session down`) and holds the session's bridges; taps come from
 * rig_netns_add_tap() (non-persistent, handed to QEMU as -netdev tap,fd=N,
 * so a killed QEMU leaves no tap behind) and are enslaved to a bridge.
 */
#pragma once

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

/* As VirtHCK (hck_aux.sh) and AutoHCK (network_manager.json) set taps. */
#define SESSION_TAP_TXQUEUELEN 11000

/**
 * session_net_add_tap:
 * @netns: (nullable): the session's namespace, or NULL for the host's
 * @tap: interface name (at most 15 bytes)
 * @bridge: bridge to enslave the tap to, in the same namespace
 * @queues: queue pairs (above 1: a multi-queue tap)
 * @tx_off: `ethtool -K TAP tx off`, as both HCK launchers do: the host
 *     side then checksums and segments what a guest sends, so a support
 *     client's LSO super-frames reach the other client's coalescer as
 *     MSS-sized segments
 * @ret_fds: (out) (transfer full): the tap's fds (IFF_VNET_HDR), one per
 *     queue, owned by the caller; set only on success
 * @error: return location for a GError
 *
 * Creates the tap, enslaves it, sets txqueuelen SESSION_TAP_TXQUEUELEN.
 *
 * Returns: TRUE on success.
 */
gboolean session_net_add_tap(RigNetns *netns, const char *tap,
                             const char *bridge, guint queues, gboolean tx_off,
                             GArray **ret_fds, GError **error);

/**
 * session_net_add_host_bridge:
 * @bridge: a bridge name
 * @error: return location for a GError
 *
 * Creates the bridge in the rig's namespace (`[session] netns = false`),
 * up, txqueuelen SESSION_TAP_TXQUEUELEN.
 *
 * Returns: TRUE on success.
 */
gboolean session_net_add_host_bridge(const char *bridge, GError **error);

/**
 * session_net_delete_link:
 * @name: an interface name, validated by the caller
 * @error: return location for a GError
 *
 * `ip link del NAME` (with separate arguments, never through a shell); an
 * interface that does not exist is not an error.
 *
 * Returns: TRUE on success.
 */
gboolean session_net_delete_link(const char *name, GError **error);

G_END_DECLS
