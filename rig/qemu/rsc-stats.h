/*
 * QEMU's per-reason RSC counters (VirtioNetRscStat), as exported by our
 * patched QEMU in the read-only QOM property "rsc-stats" of the virtio-net
 * device: {"ipv4": {"received": N, ...}, "ipv6": {...}}.
 */
#ifndef RIG_QEMU_RSC_STATS_H
#define RIG_QEMU_RSC_STATS_H

#include <glib.h>
#include <json-glib/json-glib.h>

#include "qemu/qmp.h"

G_BEGIN_DECLS

/* QOM property names on the virtio-net device. */
#define RIG_RSC_STATS_PROPERTY    "rsc-stats"
#define RIG_RSC_INTERVAL_PROPERTY "rsc_interval"

/* Counter indexes, in QEMU's VirtioNetRscStat order. */
typedef enum {
    RIG_RSC_STAT_RECEIVED,
    RIG_RSC_STAT_COALESCED,
    RIG_RSC_STAT_OVER_SIZE,
    RIG_RSC_STAT_CACHE,
    RIG_RSC_STAT_EMPTY_CACHE,
    RIG_RSC_STAT_NO_MATCH_CACHE,
    RIG_RSC_STAT_WIN_UPDATE,
    RIG_RSC_STAT_NO_MATCH,
    RIG_RSC_STAT_TCP_SYN,
    RIG_RSC_STAT_TCP_CTRL_DRAIN,
    RIG_RSC_STAT_DUP_ACK,
    RIG_RSC_STAT_PURE_ACK,
    RIG_RSC_STAT_ACK_OUT_OF_WIN,
    RIG_RSC_STAT_DATA_OUT_OF_WIN,
    RIG_RSC_STAT_DATA_OUT_OF_ORDER,
    RIG_RSC_STAT_DATA_AFTER_PURE_ACK,
    RIG_RSC_STAT_BYPASS_NOT_TCP,
    RIG_RSC_STAT_TCP_ALL_OPT,
    RIG_RSC_STAT_IP_FRAG,
    RIG_RSC_STAT_IP_ECN,
    RIG_RSC_STAT_IP_HACKED,
    RIG_RSC_STAT_IP_OPTION,
    RIG_RSC_STAT_PURGE_FAILED,
    RIG_RSC_STAT_DRAIN_FAILED,
    RIG_RSC_STAT_FINAL_FAILED,
    RIG_RSC_STAT_TIMER,
    RIG_RSC_STAT_COUNT /* 26 */
} RigRscStat;

/* Counters of one family; by index (counter[]) or by name. */
typedef union {
    guint64 counter[RIG_RSC_STAT_COUNT];
    struct {
        guint64 received;
        guint64 coalesced;
        guint64 over_size;
        guint64 cache;
        guint64 empty_cache;
        guint64 no_match_cache;
        guint64 win_update;
        guint64 no_match;
        guint64 tcp_syn;
        guint64 tcp_ctrl_drain;
        guint64 dup_ack;
        guint64 pure_ack;
        guint64 ack_out_of_win;
        guint64 data_out_of_win;
        guint64 data_out_of_order;
        guint64 data_after_pure_ack;
        guint64 bypass_not_tcp;
        guint64 tcp_all_opt;
        guint64 ip_frag;
        guint64 ip_ecn;
        guint64 ip_hacked;
        guint64 ip_option;
        guint64 purge_failed;
        guint64 drain_failed;
        guint64 final_failed;
        guint64 timer;
    };
} RigRscFamilyStats;

G_STATIC_ASSERT(sizeof(RigRscFamilyStats) ==
                RIG_RSC_STAT_COUNT * sizeof(guint64));

typedef struct {
    RigRscFamilyStats ipv4;
    RigRscFamilyStats ipv6;
} RigRscStats;

/**
 * rig_rsc_stat_name:
 * @stat: a counter index
 *
 * Returns: (transfer none): QEMU's name of the counter ("received", ...),
 *   or NULL for an index out of range.
 */
const char *rig_rsc_stat_name(RigRscStat stat);

/**
 * rig_rsc_stats_parse:
 * @node: (transfer none): the value of the rsc-stats property
 * @ret_stats: (out): the counters; set only on success
 * @error: return location; RIG_QMP_ERROR_INVALID_REPLY names the family
 *   and counter that is missing or not a non-negative integer
 *
 * Requires all 26 counters in both "ipv4" and "ipv6"; unknown extra
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

G_END_DECLS

#endif /* RIG_QEMU_RSC_STATS_H */
