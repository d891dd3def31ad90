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
#define RIG_VIRTIO_NET_F_MAC                 5
#define RIG_VIRTIO_NET_F_GUEST_TSO4          7
#define RIG_VIRTIO_NET_F_GUEST_TSO6          8
#define RIG_VIRTIO_NET_F_MRG_RXBUF           15
#define RIG_VIRTIO_NET_F_STATUS              16
#define RIG_VIRTIO_NET_F_CTRL_VQ             17
#define RIG_VIRTIO_NET_F_RSC_EXT_BIT         61

#define RIG_BIT(n) (UINT64_C(1) << (n))

typedef struct {
    const char *name;
    const char *description;
    uint64_t features; /* acked when offered */
    uint64_t required; /* negotiation fails without these */
    uint64_t offloads; /* CTRL_GUEST_OFFLOADS_SET mask after DRIVER_OK */
} RigGuestProfile;

/**
 * rig_guest_profile_lookup:
 * @name: profile name (netkvm, no-rsc, rsc-v4-only, rsc-v6-only, mrg-rxbuf)
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
 * rig_virtio_net_feature_name:
 * @bit: feature bit 0..63
 *
 * Returns: (transfer none): QEMU's name ("VIRTIO_NET_F_GUEST_TSO4",
 *   "VIRTIO_F_VERSION_1"), or NULL for a bit without a name here.
 */
const char *rig_virtio_net_feature_name(unsigned bit);
