/*
 * transport.h - where rsc-trafgen's frames go
 *
 *   packet  AF_PACKET on a named interface, PACKET_QDISC_BYPASS (root)
 *   stream  QEMU "-netdev stream": 4-byte big-endian length + frame
 *   dgram   QEMU "-netdev dgram": one frame per datagram
 *   pcap    an offline capture file; the schedule becomes the timestamps
 *
 * Every transport sends one frame at a time; packet and dgram also send a
 * batch with one sendmmsg() for the unpaced load mode.  Errors are negative
 * errno values so that the pacing loop never allocates.
 */
#pragma once

#include <gio/gio.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "net/wire.h"
#include "trafgen/vnethdr.h"

typedef enum {
    TRAFGEN_TRANSPORT_PACKET,
    TRAFGEN_TRANSPORT_STREAM,
    TRAFGEN_TRANSPORT_DGRAM,
    TRAFGEN_TRANSPORT_PCAP,
} TrafgenTransportKind;

typedef struct TrafgenTransport TrafgenTransport;

/**
 * trafgen_transport_new_packet:
 * @ifname: interface in the current network namespace
 * @receive: also receive every frame of the interface (live TCP mode);
 *   FALSE opens a send-only socket whose receive queue never fills
 * @error: set when the interface is unknown or the socket fails
 *
 * Returns: (transfer full): the transport, or NULL.
 */
TrafgenTransport *trafgen_transport_new_packet(const char *ifname,
                                               gboolean receive,
                                               GError **error);

/**
 * trafgen_transport_new_stream:
 * @address: "unix:PATH" or "inet:HOST:PORT" of a listening QEMU
 *   "-netdev stream,server=on"
 * @error: set when the connection fails
 *
 * Returns: (transfer full): the transport, or NULL.
 */
TrafgenTransport *trafgen_transport_new_stream(const char *address,
                                               GError **error);

/**
 * trafgen_transport_new_dgram:
 * @remote: "unix:PATH" or "inet:HOST:PORT" QEMU's "-netdev dgram" reads
 * @local: (nullable): address to bind, the one QEMU sends to
 * @error: set on failure
 *
 * Returns: (transfer full): the transport, or NULL.
 */
TrafgenTransport *trafgen_transport_new_dgram(const char *remote,
                                              const char *local,
                                              GError **error);

/**
 * trafgen_transport_new_pcap:
 * @path: file to create
 * @error: set on failure
 *
 * Returns: (transfer full): the transport, or NULL.
 */
TrafgenTransport *trafgen_transport_new_pcap(const char *path, GError **error);

/**
 * trafgen_transport_send:
 * @transport: transport
 * @frame: Ethernet frame (borrowed)
 * @len: its length
 * @when_ns: scheduled time (CLOCK_MONOTONIC); pcap records it as the
 *   timestamp, live transports ignore it
 *
 * Returns: 0, or a negative errno.
 */
int trafgen_transport_send(TrafgenTransport *transport, const uint8_t *frame,
                           size_t len, int64_t when_ns);

/**
 * trafgen_transport_enable_vnet_hdr:
 * @transport: a packet transport
 * @mode: what trafgen_transport_send() offloads from now on
 *   (TRAFGEN_VNET_NONE: every frame goes with an all-zero header)
 * @gso_size: MSS of GSO frames, 0 for the default
 * @error: set when the transport is not a packet one, or the kernel
 *   refuses PACKET_VNET_HDR
 *
 * Turns PACKET_VNET_HDR on: every frame is then written with a
 * virtio-net header in front (vnethdr.h), which the tap hands to QEMU.
 * Batches are sent one frame at a time.
 *
 * Returns: TRUE on success.
 */
gboolean trafgen_transport_enable_vnet_hdr(TrafgenTransport *transport,
                                           TrafgenVnetMode mode,
                                           uint16_t gso_size, GError **error);

/**
 * trafgen_transport_send_vnet:
 * @transport: a transport after trafgen_transport_enable_vnet_hdr()
 * @hdr: the header to send (its first 10 bytes: num_buffers is not sent)
 * @frame: the frame, sent as it is
 * @len: its length
 *
 * Returns: 0, or a negative errno (-EINVAL without PACKET_VNET_HDR).
 */
int trafgen_transport_send_vnet(TrafgenTransport *transport,
                                const RigVirtioNetHdrV1 *hdr,
                                const uint8_t *frame, size_t len);

/**
 * trafgen_transport_send_batch:
 * @transport: transport
 * @frames: one iovec per frame
 * @count: number of frames
 *
 * Sends back to back (sendmmsg where the socket allows it).
 *
 * Returns: frames sent (>= 1), or a negative errno.
 */
int trafgen_transport_send_batch(TrafgenTransport *transport,
                                 const struct iovec *frames, size_t count);

/**
 * trafgen_transport_recv:
 * @transport: a packet transport opened with @receive
 * @buf: (out): frame buffer
 * @size: its size
 * @timeout_ns: how long to wait, < 0 = forever
 *
 * Returns: frame length, 0 on timeout, or a negative errno.  Frames this
 * socket sent itself are skipped.
 */
ssize_t trafgen_transport_recv(TrafgenTransport *transport, uint8_t *buf,
                               size_t size, int64_t timeout_ns);

/**
 * trafgen_transport_get_mac:
 * @transport: a packet transport
 * @ret_mac: 6 bytes, set on success
 *
 * Returns: TRUE when the interface has an Ethernet address.
 */
gboolean trafgen_transport_get_mac(TrafgenTransport *transport,
                                   uint8_t ret_mac[6]);

/**
 * trafgen_transport_finish:
 * @transport: transport
 * @error: set when buffered output (pcap) cannot be written
 *
 * Returns: TRUE when everything sent is out.
 */
gboolean trafgen_transport_finish(TrafgenTransport *transport, GError **error);

/**
 * trafgen_transport_kind:
 * Returns: the kind of @transport.
 */
TrafgenTransportKind trafgen_transport_kind(const TrafgenTransport *transport);

/**
 * trafgen_transport_describe:
 * Returns: (transfer none): "packet:eth0", "stream:unix:/x", ...
 */
const char *trafgen_transport_describe(const TrafgenTransport *transport);

/**
 * trafgen_transport_free:
 * @transport: (nullable): transport to close
 */
void trafgen_transport_free(TrafgenTransport *transport);

/**
 * trafgen_send_frame:
 * @ifname: interface in the current network namespace
 * @frame: complete Ethernet frame (borrowed)
 * @len: its length
 * @error: set on failure
 *
 * Sends one prebuilt frame on an AF_PACKET socket opened and closed for
 * the call (for deterministic injection; keep a transport for many).
 *
 * Returns: TRUE when the kernel accepted the frame.
 */
gboolean trafgen_send_frame(const char *ifname, const uint8_t *frame,
                            size_t len, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrafgenTransport, trafgen_transport_free)
