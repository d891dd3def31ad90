/*
 * QEMU's per-reason RSC counters (VirtioNetRscStat), as exported by our
 * patched QEMU in the read-only QOM property "rsc-stats" of the virtio-net
 * device: {"ipv4": {"received": N, ...}, "ipv6": {...}}.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "qemu/qmp.h"
#include "rsc/stats.h"

G_BEGIN_DECLS

/* QOM property names on the virtio-net device. */
#define RIG_RSC_STATS_PROPERTY    "rsc-stats"
#define RIG_RSC_INTERVAL_PROPERTY "rsc_interval"

/**
 * rig_rsc_stats_parse:
 * @node: (transfer none): the value of the rsc-stats property
 * @ret_stats: (out): the counters; set only on success
 * @error: return location; RIG_QMP_ERROR_INVALID_REPLY names the family
 *   and counter that is missing or not a non-negative integer
 *
 * Requires all 27 counters in both "ipv4" and "ipv6"; unknown extra
 * members are ignored so that a later QEMU may add counters.
 *
 * Returns: TRUE on success.
 */
gboolean rig_rsc_stats_parse(JsonNode *node, RigRscStats *ret_stats,
                             GError **error);

/**
 * rig_rsc_stats_to_json:
 * @stats: counters
 *
 * Returns: (transfer full): {"ipv4": {...}, "ipv6": {...}} with all 52
 *   counters, the same shape as QEMU's property (json_node_unref).
 */
JsonNode *rig_rsc_stats_to_json(const RigRscStats *stats);

/**
 * rig_qmp_read_rsc_stats:
 * @qmp: a client after rig_qmp_handshake()
 * @device_id: the virtio-net-pci id=
 * @ret_stats: (out): the counters; set only on success
 * @ret_path: (out) (optional) (transfer full): the QOM path that had the
 *   property; set only on success
 * @error: return location; RIG_QMP_ERROR_NOT_SUPPORTED when this QEMU does
 *   not export rsc-stats (stock QEMU): show the device view "unavailable"
 *
 * Returns: TRUE on success.
 */
gboolean rig_qmp_read_rsc_stats(RigQmp *qmp, const char *device_id,
                                RigRscStats *ret_stats, char **ret_path,
                                GError **error);

/**
 * rig_qmp_read_rsc_interval:
 * @qmp: a client after rig_qmp_handshake()
 * @device_id: the virtio-net-pci id=
 * @ret_interval_ns: (out): the drain-timer period in ns; set only on
 *   success
 * @error: return location; RIG_QMP_ERROR_NOT_SUPPORTED if the device has
 *   no rsc_interval property
 *
 * Returns: TRUE on success.
 */
gboolean rig_qmp_read_rsc_interval(RigQmp *qmp, const char *device_id,
                                   guint64 *ret_interval_ns, GError **error);

/**
 * rig_qmp_set_rsc_interval:
 * @qmp: a client after rig_qmp_handshake()
 * @device_id: the virtio-net-pci id=
 * @interval_ns: the new drain-timer period in ns
 * @error: return location; RIG_QMP_ERROR_NOT_SUPPORTED when the device has
 *   no rsc_interval or QEMU refuses to change it on a running VM (stock
 *   QEMU: "... after it was realized", quoted), or when the value read back
 *   differs
 *
 * qom-set, then qom-get to confirm that the device took the value.
 *
 * Returns: TRUE when rsc_interval now reads @interval_ns.
 */
gboolean rig_qmp_set_rsc_interval(RigQmp *qmp, const char *device_id,
                                  guint64 interval_ns, GError **error);

G_END_DECLS
