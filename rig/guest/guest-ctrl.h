/*
 * The virtio-net control queue (virtio spec 5.1.6.5): commands as NetKVM's
 * CParaNdisCX::SendControlMessage (NetKVM/Common/ParaNdis_CX.cpp) lays
 * them out (FillSGArray: the class/command header, one or two data parts
 * at 4-byte aligned offsets, the ack byte; plain descriptors, never an
 * indirect table: AddBuf(sg, nOut, 1, .., NULL, 0)).  NetKVM waits for
 * each command; the rig queues up to
 * RIG_GUEST_CTRL_SLOTS at once (QEMU handles them one by one, in ring
 * order, with the same result) so that the 4096 VLAN filter commands of a
 * NetKVM start cost a few qtest round trips, not thousands.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "guest/guest-ram.h"
#include "guest/virtio-pci.h"

#define RIG_GUEST_CTRL_SLOTS     16
#define RIG_GUEST_CTRL_SLOT_SIZE 512
#define RIG_GUEST_CTRL_MAX_DATA  256

/* virtio-net control classes and commands (virtio spec 5.1.6.5). */
#define RIG_VIRTIO_NET_CTRL_RX                 0
#define RIG_VIRTIO_NET_CTRL_RX_PROMISC         0
#define RIG_VIRTIO_NET_CTRL_RX_ALLMULTI        1
#define RIG_VIRTIO_NET_CTRL_RX_NOMULTI         3
#define RIG_VIRTIO_NET_CTRL_RX_NOUNI           4
#define RIG_VIRTIO_NET_CTRL_RX_NOBCAST         5
#define RIG_VIRTIO_NET_CTRL_MAC                1
#define RIG_VIRTIO_NET_CTRL_MAC_TABLE_SET      0
#define RIG_VIRTIO_NET_CTRL_MAC_ADDR_SET       1
#define RIG_VIRTIO_NET_CTRL_VLAN               2
#define RIG_VIRTIO_NET_CTRL_VLAN_ADD           0
#define RIG_VIRTIO_NET_CTRL_GUEST_OFFLOADS     5
#define RIG_VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET 0
#define RIG_VIRTIO_NET_OK                      0
#define RIG_VIRTIO_NET_ERR                     1

/* One command; @ack is filled by rig_guest_ctrl_run(). */
typedef struct {
    uint8_t cls;
    uint8_t cmd;
    guint nparts; /* 1 or 2 device-readable data parts */
    const void *part[2];
    uint32_t part_len[2];
    uint8_t ack; /* out: VIRTIO_NET_OK, VIRTIO_NET_ERR, 0xff unanswered */
} RigGuestCtrlCmd;

typedef struct {
    RigVirtq *vq;     /* borrowed */
    RigGuestRam *ram; /* borrowed */
    uint64_t base;    /* RIG_GUEST_CTRL_SLOTS slots of guest RAM */
    guint timeout_ms;
    guint64 commands; /* answered */
    guint64 failed;   /* answered VIRTIO_NET_ERR */
} RigGuestCtrl;

/**
 * rig_guest_ctrl_run:
 * @ctrl: the control queue
 * @cmds: (array length=n): commands, sent in this order
 * @n: how many
 * @error: return location (INVALID for a part too large; TIMEOUT when the
 *   device does not complete one; qtest errors)
 *
 * Returns: TRUE when every command was answered (each ack says how).
 */
gboolean rig_guest_ctrl_run(RigGuestCtrl *ctrl, RigGuestCtrlCmd *cmds, guint n,
                            GError **error);
