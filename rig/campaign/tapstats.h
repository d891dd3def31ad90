/*
 * The tap's own counters, read from the namespace's /proc/net/dev: on a
 * tap, tx_packets counts the frames its reader (QEMU) took and tx_dropped
 * the frames its queue refused.  The file is opened by a thread inside the
 * namespace (/proc/thread-self/net/dev) and stays bound to that namespace,
 * so the campaign reads it from any thread with no setns per read.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

typedef struct {
    guint64 tx_packets;
    guint64 tx_dropped;
} FuzzTapStats;

/**
 * fuzz_tap_stats_open:
 * @error: return location
 *
 * Call on a thread inside the namespace.
 *
 * Returns: an fd of that namespace's /proc/net/dev, or -1.
 */
int fuzz_tap_stats_open(GError **error);

/**
 * fuzz_tap_stats_parse:
 * @text: contents of a /proc/net/dev
 * @ifname: interface
 * @ret_stats: (out): set only on success
 *
 * Returns: TRUE when @ifname has a well-formed line.
 */
gboolean fuzz_tap_stats_parse(const char *text, const char *ifname,
                              FuzzTapStats *ret_stats);

/**
 * fuzz_tap_stats_read:
 * @fd: from fuzz_tap_stats_open()
 * @ifname: the tap
 * @ret_stats: (out): set only on success
 * @error: return location
 *
 * Returns: TRUE on success.
 */
gboolean fuzz_tap_stats_read(int fd, const char *ifname,
                             FuzzTapStats *ret_stats, GError **error);
