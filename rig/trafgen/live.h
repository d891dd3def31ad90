/*
 * live.h - a real TCP sender over the raw AF_PACKET transport
 *
 * Resolves the peer (ARP / IPv6 neighbour solicitation) and answers the
 * peer's own resolution of our address, opens the connection (SYN with
 * MSS, no window scaling so the advertised window is in bytes), sends
 * paced in-order data that never goes beyond the peer's receive window,
 * processes ACKs, retransmits from the first unacknowledged byte on
 * timeout (go-back-N, RTO doubling from 200 ms), probes a zero window and
 * closes with FIN.  Payload bytes follow rig/net's RIG_NET_PATTERN_SEQ
 * from the initial sequence number + 1, so the receiver can check them.
 *
 * Our address must not be a local address of the sending namespace, or
 * its kernel answers the peer's SYN-ACK with a RST.
 */
#pragma once

#include <gio/gio.h>
#include <signal.h>
#include <stdio.h>

#include "trafgen/frame.h"
#include "trafgen/transport.h"

typedef struct {
    TrafgenEndpoints endpoints; /* dst_mac resolved unless mac_given */
    gboolean mac_given;
    gboolean src_mac_given; /* else the interface's own address */
    uint64_t bytes;         /* payload to transfer */
    uint32_t mss;
    uint32_t isn;
    int64_t period_ns; /* one data segment per period at most */
    int timeout_ms;    /* give up after this long without progress */
    volatile sig_atomic_t *stop;
} TrafgenLiveConfig;

typedef struct {
    uint64_t bytes_acked;
    uint64_t segments_sent; /* data segments, retransmissions included */
    uint64_t retransmitted_segments;
    uint64_t timeouts;
    uint64_t window_stalls; /* slots with data left but no window */
    uint64_t zero_window_probes;
    uint32_t min_peer_window;
    uint32_t max_peer_window;
    uint32_t peer_mss;
    int64_t handshake_ns;
    int64_t transfer_ns;
    int64_t total_ns;
    gboolean peer_closed; /* the peer's FIN was received and acked */
    uint8_t peer_mac[6];
} TrafgenLiveResult;

/**
 * trafgen_live_config_init:
 * @config: filled with defaults (1 MB, MSS 1000, 100 us, 10 s timeout)
 */
void trafgen_live_config_init(TrafgenLiveConfig *config);

/**
 * trafgen_live_run:
 * @config: connection parameters
 * @transport: a packet transport opened with receive = TRUE
 * @ret_result: filled on success
 * @error: set when resolution, the handshake, the transfer or the close
 *   fails (peer RST, timeout without progress, send error)
 *
 * Returns: TRUE when every byte was acknowledged and the connection closed.
 */
gboolean trafgen_live_run(const TrafgenLiveConfig *config,
                          TrafgenTransport *transport,
                          TrafgenLiveResult *ret_result, GError **error);

/**
 * trafgen_live_result_print:
 * @result: a result
 * @out: stream
 */
void trafgen_live_result_print(const TrafgenLiveResult *result, FILE *out);

/**
 * trafgen_live_result_write_json:
 * @result: a result
 * @path: file ("-" for stdout)
 * @error: set when the file cannot be written
 *
 * Returns: TRUE on success.
 */
gboolean trafgen_live_result_write_json(const TrafgenLiveResult *result,
                                        const char *path, GError **error);
