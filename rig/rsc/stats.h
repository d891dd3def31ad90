/*
 * Per-family RSC counters, named exactly like QEMU's VirtioNetRscStat
 * (include/hw/virtio/virtio-net.h) so that the oracle's figures and the
 * patched device's QMP `rsc-stats` property compare name by name.
 *
 * QEMU's struct also has dup_ack1, dup_ack2 and tcp_option, which no code
 * path increments; they are left out, leaving the 26 counters below in
 * QEMU's declaration order.
 */
#pragma once

#include <glib.h>

typedef struct RscStats {
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
} RscStats;

#define RSC_STATS_N_FIELDS 26
G_STATIC_ASSERT(sizeof(RscStats) == RSC_STATS_N_FIELDS * sizeof(guint64));

/**
 * rsc_stats_field_name:
 * @index: 0 .. RSC_STATS_N_FIELDS - 1, in declaration order
 *
 * Returns: (transfer none): the counter's name ("received", ...), or NULL
 * when @index is out of range.
 */
const char *rsc_stats_field_name(guint index);

/**
 * rsc_stats_field_index:
 * @name: a counter name as QEMU spells it
 *
 * Returns: its index, or -1 when no counter has that name.
 */
int rsc_stats_field_index(const char *name);

/**
 * rsc_stats_field_value:
 * @stats: counters (borrowed)
 * @index: 0 .. RSC_STATS_N_FIELDS - 1
 *
 * Returns: the counter's value, 0 when @index is out of range.
 */
guint64 rsc_stats_field_value(const RscStats *stats, guint index);

/**
 * rsc_stats_lookup:
 * @stats: counters (borrowed)
 * @name: counter name
 * @ret_value: (out): its value, set only on success
 *
 * Returns: TRUE when @name is a counter.
 */
gboolean rsc_stats_lookup(const RscStats *stats, const char *name,
                          guint64 *ret_value);
