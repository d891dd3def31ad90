/*
 * vnethdr.h - frames injected with a virtio-net header (--vnet-hdr)
 *
 * A support client with LSO and checksum offload (what the HLK's E2EPerf
 * sends from) hands its NIC TCP segments whose checksum is left to the
 * hardware, or whole TSO super-frames.  On the rig's tap they arrive with a
 * virtio-net header saying so: NEEDS_CSUM (csum_start/csum_offset, the TCP
 * checksum field holding only the pseudo-header sum) and, for GSO, the
 * gso_type and gso_size.  rsc-trafgen reproduces them by writing that
 * header in front of the frame on an AF_PACKET socket with PACKET_VNET_HDR
 * (packet(7)): the kernel builds a CHECKSUM_PARTIAL (and GSO) skb and the
 * tap reports it to QEMU in its own vnet header.
 */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/wire.h"

typedef enum {
    TRAFGEN_VNET_NONE = 0, /* plain frames (all-zero header) */
    TRAFGEN_VNET_CSUM,     /* TCP segments with NEEDS_CSUM */
    TRAFGEN_VNET_GSO,      /* TCP data as GSO frames (NEEDS_CSUM + gso) */
} TrafgenVnetMode;

/* The MSS a GSO frame is cut into when the caller gives none. */
#define TRAFGEN_VNET_DEFAULT_GSO_SIZE 1448

/**
 * trafgen_vnet_mode_from_string:
 * @s: "none", "csum" or "gso"
 * @ret_mode: (out): set on success
 *
 * Returns: TRUE when @s names a mode.
 */
gboolean trafgen_vnet_mode_from_string(const char *s,
                                       TrafgenVnetMode *ret_mode);

/**
 * trafgen_vnet_mode_to_string:
 * Returns: (transfer none): "none", "csum" or "gso".
 */
const char *trafgen_vnet_mode_to_string(TrafgenVnetMode mode);

/**
 * trafgen_vnet_prepare:
 * @mode: what to offload
 * @gso_size: MSS of GSO frames (0: TRAFGEN_VNET_DEFAULT_GSO_SIZE, capped to
 *   the frame's payload)
 * @frame: (inout): an Ethernet frame; for an offloaded TCP segment its
 *   checksum field is replaced by the pseudo-header sum
 * @len: its length
 * @ret_hdr: (out): the virtio-net header to send it with (all zero for a
 *   frame that is not offloaded: not TCP, or not IPv4/IPv6, mode none, or
 *   GSO mode and no payload)
 *
 * Returns: 0, or a negative errno for a frame too short for its headers.
 */
int trafgen_vnet_prepare(TrafgenVnetMode mode, uint16_t gso_size,
                         uint8_t *frame, size_t len,
                         RigVirtioNetHdrV1 *ret_hdr);
