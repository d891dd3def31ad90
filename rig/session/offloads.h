/*
 * TX offload off on a session's taps, kept off.  VirtHCK (hck_aux.sh
 * enslave_iface/enslave_test_iface) and AutoHCK (network_manager.json
 * net_up) run `ethtool -K TAP tx off` once, when QEMU creates the tap.
 * That does not last: QEMU sets the tap's offloads from what the guest
 * driver negotiates (TUNSETOFFLOAD; the kernel's tun.c set_offload()
 * adds checksum and TSO back to the wanted features), so as soon as a
 * driver loads (e1000e or virtio-net, measured here) TX offload is on
 * again and a support client's LSO super-frames reach the coalescer
 * unsegmented.  So a small process per session (`rig session
 * keep-offloads`, started by `up`, stopped by `down`) watches the taps'
 * link notifications and switches TX checksumming off again whenever a
 * driver turns it on; without checksumming the kernel drops TSO too.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * session_tap_tx_offload_off:
 * @tap: an interface in the calling thread's namespace
 * @ret_changed: (out) (optional): TRUE when it was on and is now off
 * @error: return location for a GError
 *
 * ETHTOOL_STXCSUM 0 when ETHTOOL_GTXCSUM says it is on (what `ethtool -K
 * TAP tx off` does).
 *
 * Returns: TRUE on success.
 */
gboolean session_tap_tx_offload_off(const char *tap, gboolean *ret_changed,
                                    GError **error);

/**
 * session_keep_offloads_main:
 * @state_root: (nullable): state root
 * @id: session id
 *
 * The `rig session keep-offloads` process: enters the session's
 * namespace, keeps TX offload off on every tap the state says should have
 * it off, until none of them exists any more (their QEMUs are gone) or it
 * is terminated.
 *
 * Returns: the exit code.
 */
int session_keep_offloads_main(const char *state_root, guint id);

G_END_DECLS
