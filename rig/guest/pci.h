/*
 * PCI configuration access through the legacy ports 0xcf8/0xcfc (type 1),
 * bus enumeration and BAR assignment, as a guest firmware would do it, but
 * over qtest.  Works on both `pc` (i440fx) and `q35`.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "guest/qtest.h"

#define RIG_PCI_VENDOR_REDHAT_QUMRANET   0x1af4
#define RIG_PCI_DEVICE_VIRTIO_NET_LEGACY 0x1000 /* transitional */
#define RIG_PCI_DEVICE_VIRTIO_NET_MODERN 0x1041
#define RIG_PCI_SUBSYS_VIRTIO_NET        1

#define RIG_PCI_NUM_BARS 6
/* Where BARs are placed: inside the 32-bit PCI hole of pc and q35. */
#define RIG_PCI_MMIO_BASE 0xe0000000ULL
#define RIG_PCI_MMIO_END  0xfe000000ULL
#define RIG_PCI_IO_BASE   0xc000u
#define RIG_PCI_IO_END    0x10000u

typedef struct {
    uint64_t addr; /* assigned address, 0 when unimplemented */
    uint64_t size;
    gboolean is_io;
    gboolean is_64bit;
} RigPciBar;

/* One function on bus 0; borrows the qtest client. */
typedef struct {
    RigQtest *qtest;
    uint8_t devfn;
    uint16_t vendor;
    uint16_t device;
    RigPciBar bars[RIG_PCI_NUM_BARS];
} RigPciDev;

/**
 * rig_pci_config_read:
 * @dev: device
 * @width: 1, 2 or 4
 * @offset: config space offset (< 256, aligned to @width)
 * @ret_value: (out): set only on success
 * @error: return location for a GError
 *
 * Returns: TRUE on success.
 */
gboolean rig_pci_config_read(RigPciDev *dev, int width, uint8_t offset,
                             uint32_t *ret_value, GError **error);

/**
 * rig_pci_config_write:
 * @dev: device
 * @width: 1, 2 or 4
 * @offset: config space offset (aligned to @width)
 * @value: value written
 * @error: return location for a GError
 *
 * Returns: TRUE on success.
 */
gboolean rig_pci_config_write(RigPciDev *dev, int width, uint8_t offset,
                              uint32_t value, GError **error);

/**
 * rig_pci_find_virtio_net:
 * @qtest: client (borrowed by the returned device)
 * @devfn: -1 for the first virtio-net function on bus 0, else that slot
 *   and function ((slot << 3) | fn)
 * @ret_dev: (out caller-allocates): set only on success
 * @error: return location for a GError (NOT_FOUND lists what was seen)
 *
 * Finds a modern (0x1041) or transitional (0x1000, subsystem 1) virtio-net
 * function.
 *
 * Returns: TRUE when found.
 */
gboolean rig_pci_find_virtio_net(RigQtest *qtest, int devfn, RigPciDev *ret_dev,
                                 GError **error);

/**
 * rig_pci_enable:
 * @dev: device
 * @mmio_next: (inout): next free MMIO address, advanced past the BARs
 * @io_next: (inout): next free I/O port, advanced past the BARs
 * @error: return location for a GError
 *
 * Sizes and assigns every BAR (naturally aligned), then enables memory,
 * I/O decoding and bus mastering.
 *
 * Returns: TRUE on success.
 */
gboolean rig_pci_enable(RigPciDev *dev, uint64_t *mmio_next, uint32_t *io_next,
                        GError **error);
