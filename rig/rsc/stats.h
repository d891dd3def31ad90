/*
 * Per-family RSC counters, named exactly like QEMU's VirtioNetRscStat
 * (include/hw/virtio/virtio-net.h) so that the oracle's figures and the
 * patched device's QMP `rsc-stats` property compare name by name.
 *
 * QEMU's struct also has dup_ack1 and dup_ack2, which no code path
 * increments; they are left out, leaving the 27 counters below in QEMU's
 * declaration order.  tcp_option stays 0 on stock; the fixed build counts
 * the timestamp-only segments it lets coalesce.
 */
#pragma once

#include <glib.h>
#include <stddef.h>

/* X(name) for every counter, in QEMU's declaration order. */
#define RSC_STATS_FOREACH(X)                                                   \
    X(received)                                                                \
    X(coalesced)                                                               \
    X(over_size)                                                               \
    X(cache)                                                                   \
    X(empty_cache)                                                             \
    X(no_match_cache)                                                          \
    X(win_update)                                                              \
    X(no_match)                                                                \
    X(tcp_syn)                                                                 \
    X(tcp_ctrl_drain)                                                          \
    X(dup_ack)                                                                 \
    X(pure_ack)                                                                \
    X(ack_out_of_win)                                                          \
    X(data_out_of_win)                                                         \
    X(data_out_of_order)                                                       \
    X(data_after_pure_ack)                                                     \
    X(bypass_not_tcp)                                                          \
    X(tcp_option)                                                              \
    X(tcp_all_opt)                                                             \
    X(ip_frag)                                                                 \
    X(ip_ecn)                                                                  \
    X(ip_hacked)                                                               \
    X(ip_option)                                                               \
    X(purge_failed)                                                            \
    X(drain_failed)                                                            \
    X(final_failed)                                                            \
    X(timer)

#define RSC_STATS_N_FIELDS 27

#define RSC_STATS_DECLARE_FIELD(name) guint64 name;

/* Counters of one family, by name or by index (counter[]). */
typedef union RscStats {
    guint64 counter[RSC_STATS_N_FIELDS];
    struct {
        RSC_STATS_FOREACH(RSC_STATS_DECLARE_FIELD)
    };
} RscStats;

/* The counter[] index of a counter named like QEMU's field. */
#define RSC_STATS_INDEX(name) (offsetof(RscStats, name) / sizeof(guint64))

G_STATIC_ASSERT(sizeof(RscStats) == RSC_STATS_N_FIELDS * sizeof(guint64));

/*
 * Both families' counters (the device's view: QEMU's rsc-stats property,
 * the oracle's, the harness's deltas); RscStats names them exactly as
 * QEMU does.
 */
typedef struct {
    RscStats ipv4;
    RscStats ipv6;
} RigRscStats;

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
