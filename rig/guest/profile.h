/*
 * Feature profiles of the reference guest: which virtio-net features it
 * acks and which guest offloads it then sets through the control queue.
 * `netkvm` reproduces what the Windows NetKVM driver does for RSC.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "guest/virtio-pci.h"

/* virtio-net feature bits (virtio spec 5.1.3). */
#define RIG_VIRTIO_NET_F_CSUM                0
#define RIG_VIRTIO_NET_F_GUEST_CSUM          1
#define RIG_VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define RIG_VIRTIO_NET_F_MTU                 3
#define RIG_VIRTIO_NET_F_MAC                 5
#define RIG_VIRTIO_NET_F_GUEST_TSO4          7
#define RIG_VIRTIO_NET_F_GUEST_TSO6          8
#define RIG_VIRTIO_NET_F_HOST_TSO4           11
#define RIG_VIRTIO_NET_F_HOST_TSO6           12
#define RIG_VIRTIO_NET_F_MRG_RXBUF           15
#define RIG_VIRTIO_NET_F_STATUS              16
#define RIG_VIRTIO_NET_F_CTRL_VQ             17
#define RIG_VIRTIO_NET_F_CTRL_RX             18
#define RIG_VIRTIO_NET_F_CTRL_VLAN           19
#define RIG_VIRTIO_NET_F_CTRL_RX_EXTRA       20
#define RIG_VIRTIO_NET_F_GUEST_ANNOUNCE      21
#define RIG_VIRTIO_NET_F_MQ                  22
#define RIG_VIRTIO_NET_F_CTRL_MAC_ADDR       23
#define RIG_VIRTIO_F_ANY_LAYOUT              27
#define RIG_VIRTIO_RING_F_INDIRECT_DESC      28
#define RIG_VIRTIO_RING_F_EVENT_IDX          29
#define RIG_VIRTIO_F_ACCESS_PLATFORM         33
#define RIG_VIRTIO_F_RING_PACKED             34
#define RIG_VIRTIO_F_ORDER_PLATFORM          36
#define RIG_VIRTIO_NET_F_HOST_USO            56
#define RIG_VIRTIO_NET_F_HASH_REPORT         57
#define RIG_VIRTIO_NET_F_RSS                 60
#define RIG_VIRTIO_NET_F_RSC_EXT_BIT         61
#define RIG_VIRTIO_NET_F_STANDBY             62
#define RIG_VIRTIO_NET_F_SPEED_DUPLEX        63

#define RIG_BIT(n) (UINT64_C(1) << (n))

/*
 * Features NetKVM acks when offered that the reference guest does not
 * implement (packed ring, multi-queue, RSS/hash header, IOMMU, failover):
 * QEMU offers none of them with its defaults (packed=off, mq=off, rss=off,
 * hash=off, iommu_platform=off, failover=off).  rig_guest_net reports an
 * offered one as "not_modelled" instead of acking it.
 */
#define RIG_GUEST_NETKVM_NOT_MODELLED                                          \
    (RIG_BIT(RIG_VIRTIO_F_RING_PACKED) | RIG_BIT(RIG_VIRTIO_NET_F_MQ) |        \
     RIG_BIT(RIG_VIRTIO_NET_F_RSS) | RIG_BIT(RIG_VIRTIO_NET_F_HASH_REPORT) |   \
     RIG_BIT(RIG_VIRTIO_F_ACCESS_PLATFORM) |                                   \
     RIG_BIT(RIG_VIRTIO_F_ORDER_PLATFORM) | RIG_BIT(RIG_VIRTIO_NET_F_STANDBY))

typedef enum {
    /* Traditional large buffers: 64 KiB + header per RX descriptor chain. */
    RIG_GUEST_BUFFERS_BIG,
    /* MergeableBuffers=1: 4 KiB buffers, a frame spans num_buffers. */
    RIG_GUEST_BUFFERS_SMALL,
} RigGuestBufferLayout;

typedef struct {
    const char *name;
    const char *description;
    /* The NetKVM source (file, function, commit) the profile follows. */
    const char *follows;
    uint64_t features; /* acked when offered */
    uint64_t required; /* negotiation fails without these */
    RigGuestBufferLayout buffers;
    /*
     * After D0: the packet filter NDIS sets (CTRL_RX, MAC table) and the
     * VLAN filter of *PriorityVLANTag=3 (CTRL_VLAN add for every id), as
     * ParaNdis_UpdateDeviceFilters() sends them.
     */
    gboolean packet_filter;
} RigGuestProfile;
/**
 * rig_guest_profile_lookup:
 * @name: profile name (netkvm, netkvm-head, no-rsc, rsc-v4-only,
 *   rsc-v6-only, mrg-rxbuf)
 *
 * Returns: (transfer none): the static profile, or NULL when unknown.
 */
const RigGuestProfile *rig_guest_profile_lookup(const char *name);

/**
 * rig_guest_profile_all:
 * @ret_n: (out): number of profiles
 *
 * Returns: (transfer none): the static table of every profile.
 */
const RigGuestProfile *rig_guest_profile_all(guint *ret_n);

/**
 * rig_guest_profile_names:
 *
 * Returns: (transfer full): "netkvm, no-rsc, ..." for messages; g_free().
 */
char *rig_guest_profile_names(void);

/**
 * rig_guest_profile_offloads:
 * @acked: the negotiated features
 * @ipv4: RSC for IPv4 wanted (NetKVM's RSC.bIPv4Enabled)
 * @ipv6: RSC for IPv6 wanted
 *
 * The VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET mask NetKVM sends
 * (ParaNdis_DeviceConfigureRSC, NetKVM/Common/ParaNdis_Common.cpp):
 * GUEST_CSUM, GUEST_TSO4/6 for the enabled families that were acked, and
 * RSC_EXT (bit 61) whenever it was acked, also when RSC is disabled.
 *
 * Returns: the mask, 0 when no command is sent (no CTRL_GUEST_OFFLOADS or
 *   GUEST_CSUM: RSC.bHasDynamicConfig is false).
 */
uint64_t rig_guest_profile_offloads(uint64_t acked, gboolean ipv4,
                                    gboolean ipv6);

/**
 * rig_guest_rsc_active:
 * @acked: the negotiated features
 * @offloads: the last guest offloads the device acked
 * @offloads_set: whether any CTRL_GUEST_OFFLOADS_SET was acked
 * @family: 4 or 6
 *
 * Whether QEMU coalesces @family for this guest: RSC_EXT and GUEST_TSO4/6
 * negotiated (virtio_net_set_features) and, once the guest sent the
 * offloads command, both RSC_EXT and the TSO bit in that mask
 * (virtio_net_handle_offloads: rsc4_enabled = RSC_EXT && TSO4).  So
 * NetKVM's "RSC off" (GUEST_CSUM + bit 61, no TSO) is off, and a mask
 * with TSO but without bit 61 is off too.
 *
 * Returns: TRUE when QEMU's RSC path runs for @family.
 */
gboolean rig_guest_rsc_active(uint64_t acked, uint64_t offloads,
                              gboolean offloads_set, int family);

/**
 * rig_virtio_net_feature_name:
 * @bit: feature bit 0..63
 *
 * Returns: (transfer none): QEMU's name ("VIRTIO_NET_F_GUEST_TSO4",
 *   "VIRTIO_F_VERSION_1"), or NULL for a bit without a name here.
 */
const char *rig_virtio_net_feature_name(unsigned bit);
