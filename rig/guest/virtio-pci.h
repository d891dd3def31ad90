/*
 * virtio 1.x modern PCI transport (virtio spec 4.1): the vendor
 * capabilities, device status, 64-bit feature negotiation and split queues,
 * driven over qtest.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "guest/guest-ram.h"
#include "guest/pci.h"
#include "guest/vring.h"

#define RIG_VIRTIO_STATUS_ACKNOWLEDGE 1
#define RIG_VIRTIO_STATUS_DRIVER      2
#define RIG_VIRTIO_STATUS_DRIVER_OK   4
#define RIG_VIRTIO_STATUS_FEATURES_OK 8
#define RIG_VIRTIO_STATUS_NEEDS_RESET 64
#define RIG_VIRTIO_STATUS_FAILED      128

#define RIG_VIRTIO_F_VERSION_1 32

typedef struct {
    RigPciDev pci;
    uint64_t common;      /* virtio_pci_common_cfg */
    uint64_t notify;      /* notification area base */
    uint32_t notify_mult; /* notify_off_multiplier */
    uint64_t isr;
    uint64_t device; /* device-specific config */
    uint32_t device_len;
} RigVirtioPci;

/* One split virtqueue as the driver sees it; guest RAM holds the rings. */
typedef struct {
    RigVirtioPci *vp; /* borrowed */
    RigGuestRam *ram; /* borrowed: how the rings are reached */
    uint16_t index;
    /*
     * VIRTIO_RING_F_EVENT_IDX negotiated: notify only when the device's
     * avail_event asks for it, publish used_event after each harvest (as
     * NetKVM's VirtIORing.c does); else honour VRING_USED_F_NO_NOTIFY.
     */
    gboolean event_idx;
    uint16_t kicked_idx; /* avail_idx when the last kick was decided */
    guint64 notifies;
    guint64 notifies_suppressed;
    RigVringLayout layout;
    uint64_t notify_addr;
    uint16_t avail_idx; /* next driver ring index to fill */
    uint16_t last_used; /* used entries consumed */
    uint16_t num_free;
    uint16_t free_head;
    uint16_t *next;      /* shadow of each descriptor's next link */
    uint16_t *chain_len; /* descriptors in the chain a head starts */
    guint64 *token;      /* caller's cookie per chain head */
    /*
     * What each descriptor holds in guest RAM (only the driver writes the
     * table of a split ring): an unchanged descriptor is not rewritten.
     */
    RigVringDesc *desc_shadow;
    gboolean *desc_written;
    /* Driver ring entries not yet written to guest RAM (see kick). */
    uint16_t *avail_shadow;
    uint16_t avail_published;
} RigVirtq;

/**
 * rig_virtio_pci_open:
 * @qtest: client (borrowed for the life of @ret_vp)
 * @devfn: -1 for the first virtio-net function, else (slot << 3) | fn
 * @mmio_next: (inout): next free MMIO address for the BARs
 * @ret_vp: (out caller-allocates): set only on success
 * @error: return location for a GError
 *
 * Finds the function, assigns its BARs, enables it, and maps the common,
 * notify, ISR and device capabilities.
 *
 * Returns: TRUE on success.
 */
gboolean rig_virtio_pci_open(RigQtest *qtest, int devfn, uint64_t *mmio_next,
                             RigVirtioPci *ret_vp, GError **error);

/**
 * rig_virtio_pci_reset:
 * @vp: device
 * @timeout_ms: how long the device may take to report status 0
 * @error: return location for a GError
 *
 * Returns: TRUE once the device reads back status 0.
 */
gboolean rig_virtio_pci_reset(RigVirtioPci *vp, guint timeout_ms,
                              GError **error);

/**
 * rig_virtio_pci_get_status:
 * @vp: device
 * @ret_status: (out): set only on success
 * @error: return location for a GError
 *
 * Returns: TRUE on success.
 */
gboolean rig_virtio_pci_get_status(RigVirtioPci *vp, uint8_t *ret_status,
                                   GError **error);

/**
 * rig_virtio_pci_add_status:
 * @vp: device
 * @bits: RIG_VIRTIO_STATUS_* bits to set in addition to the current ones
 * @error: return location for a GError
 *
 * Returns: TRUE on success.
 */
gboolean rig_virtio_pci_add_status(RigVirtioPci *vp, uint8_t bits,
                                   GError **error);

/**
 * rig_virtio_pci_device_features:
 * @vp: device
 * @ret_features: (out): the 64 feature bits the device offers
 * @error: return location for a GError
 *
 * Returns: TRUE on success.
 */
gboolean rig_virtio_pci_device_features(RigVirtioPci *vp,
                                        uint64_t *ret_features, GError **error);

/**
 * rig_virtio_pci_negotiate:
 * @vp: device, just reset
 * @wanted: features the driver acks if offered
 * @required: features without which negotiation fails (subset of @wanted)
 * @ret_offered: (out) (optional): what the device offered
 * @ret_accepted: (out): @wanted & offered, as written; set only on success
 * @error: return location for a GError (REFUSED: a required feature not
 *   offered, or FEATURES_OK not kept by the device)
 *
 * ACKNOWLEDGE, DRIVER, writes the features, sets FEATURES_OK and checks
 * that the device kept it.
 *
 * Returns: TRUE on success.
 */
gboolean rig_virtio_pci_negotiate(RigVirtioPci *vp, uint64_t wanted,
                                  uint64_t required, uint64_t *ret_offered,
                                  uint64_t *ret_accepted, GError **error);

/**
 * rig_virtio_pci_config_read:
 * @vp: device
 * @offset: offset in the device-specific configuration
 * @buf: (out caller-allocates): @len bytes
 * @len: bytes
 * @error: return location for a GError
 *
 * Returns: TRUE on success.
 */
gboolean rig_virtio_pci_config_read(RigVirtioPci *vp, uint32_t offset,
                                    void *buf, size_t len, GError **error);

/**
 * rig_virtq_setup:
 * @vq: (out caller-allocates): queue state; free with rig_virtq_clear()
 * @vp: device (borrowed for the life of @vq)
 * @index: queue index
 * @size: wanted size (power of two, at most the device's maximum; 0 keeps
 *   the device's default)
 * @mem: guest RAM allocator for the rings
 * @ram: how the rings are read and written (borrowed for the life of @vq)
 * @event_idx: VIRTIO_RING_F_EVENT_IDX was negotiated
 * @error: return location for a GError
 *
 * Allocates the rings, programs them and enables the queue.
 *
 * Returns: TRUE on success.
 */
gboolean rig_virtq_setup(RigVirtq *vq, RigVirtioPci *vp, uint16_t index,
                         unsigned size, RigGuestMem *mem, RigGuestRam *ram,
                         gboolean event_idx, GError **error);

/**
 * rig_virtq_clear:
 * @vq: queue whose host-side shadow state is freed (guest RAM stays)
 */
void rig_virtq_clear(RigVirtq *vq);

/* One buffer of a chain: guest address, length, device-writable or not. */
typedef struct {
    uint64_t addr;
    uint32_t len;
    gboolean device_writes;
} RigVirtqBuf;

/**
 * rig_virtq_add:
 * @vq: queue
 * @bufs: (array length=n): the chain, device-readable buffers first
 * @n: number of buffers (> 0)
 * @token: cookie returned by rig_virtq_pop() for this chain
 * @error: return location for a GError (NO_MEMORY: too few free
 *   descriptors)
 *
 * Writes the descriptors (unless guest RAM already holds them) and
 * queues the driver ring entry; the device sees it only after
 * rig_virtq_kick(), which writes the queued entries in one go.
 *
 * Returns: TRUE on success.
 */
gboolean rig_virtq_add(RigVirtq *vq, const RigVirtqBuf *bufs, guint n,
                       guint64 token, GError **error);

/**
 * rig_virtq_encode_chain:
 * @bufs: (array length=n): the chain, device-readable buffers first
 * @n: entries (> 0)
 * @out: (out caller-allocates): RIG_VRING_DESC_SIZE * @n bytes
 *
 * Encodes an indirect descriptor table (virtio spec 2.7.5.3) the way
 * NetKVM's virtqueue_add_buf_split() (VirtIO/VirtIORing.c) fills it: next
 * = i + 1, NEXT on all but the last, WRITE on device-writable buffers.
 */
void rig_virtq_encode_chain(const RigVirtqBuf *bufs, guint n, uint8_t *out);

/**
 * rig_virtq_write_indirect:
 * @vq: queue (its RAM accessor is used)
 * @table: guest address of a table of @n descriptors (16-byte aligned)
 * @bufs: (array length=n): the chain, device-readable buffers first
 * @n: entries (> 0)
 * @error: return location for a GError
 *
 * Writes rig_virtq_encode_chain()'s table to guest RAM.
 *
 * Returns: TRUE on success.
 */
gboolean rig_virtq_write_indirect(RigVirtq *vq, uint64_t table,
                                  const RigVirtqBuf *bufs, guint n,
                                  GError **error);

/**
 * rig_virtq_add_indirect:
 * @vq: queue
 * @table: guest address of a table written by rig_virtq_write_indirect()
 * @n: entries in the table
 * @token: cookie returned by rig_virtq_pop() for this chain
 * @error: return location (NO_MEMORY: no free descriptor)
 *
 * Queues one VRING_DESC_F_INDIRECT descriptor pointing at @table.
 *
 * Returns: TRUE on success.
 */
gboolean rig_virtq_add_indirect(RigVirtq *vq, uint64_t table, guint n,
                                guint64 token, GError **error);

/**
 * rig_virtq_kick:
 * @vq: queue
 * @error: return location for a GError
 *
 * Publishes the driver ring index and notifies the device unless it asked
 * not to be (EVENT_IDX avail_event, or VRING_USED_F_NO_NOTIFY).
 *
 * Returns: TRUE on success.
 */
gboolean rig_virtq_kick(RigVirtq *vq, GError **error);

/**
 * rig_virtq_used_pending:
 * @vq: queue
 * @ret_pending: (out): used entries not consumed yet
 * @error: return location for a GError (DEVICE when the device published
 *   more entries than it could own)
 *
 * Returns: TRUE on success.
 */
gboolean rig_virtq_used_pending(RigVirtq *vq, uint16_t *ret_pending,
                                GError **error);

/**
 * rig_virtq_pop:
 * @vq: queue with at least one pending used entry
 * @ret_token: (out): cookie of the completed chain
 * @ret_len: (out): bytes the device wrote
 * @error: return location for a GError (DEVICE when the id is not a chain
 *   the driver made available)
 *
 * Consumes one used entry and frees its descriptors.
 *
 * Returns: TRUE on success.
 */
gboolean rig_virtq_pop(RigVirtq *vq, guint64 *ret_token, uint32_t *ret_len,
                       GError **error);

/**
 * rig_virtq_pop_many:
 * @vq: queue
 * @max: entries to consume at most
 * @ret_tokens: (out caller-allocates): @max cookies
 * @ret_lens: (out caller-allocates): @max lengths
 * @ret_n: (out): entries consumed (0 when none is pending)
 * @error: return location for a GError (as rig_virtq_pop())
 *
 * Reads the used index and up to @max used entries with one memory read
 * (two at the ring's wrap), and frees their descriptors.
 *
 * Returns: TRUE on success.
 */
gboolean rig_virtq_pop_many(RigVirtq *vq, guint max, guint64 *ret_tokens,
                            uint32_t *ret_lens, guint *ret_n, GError **error);

/**
 * rig_virtq_wait_used:
 * @vq: queue
 * @timeout_ms: deadline
 * @ret_token: (out): cookie of the completed chain
 * @ret_len: (out): bytes the device wrote
 * @error: return location for a GError (TIMEOUT names the queue)
 *
 * Polls the used ring until an entry arrives, then pops it.
 *
 * Returns: TRUE on success.
 */
gboolean rig_virtq_wait_used(RigVirtq *vq, guint timeout_ms, guint64 *ret_token,
                             uint32_t *ret_len, GError **error);
