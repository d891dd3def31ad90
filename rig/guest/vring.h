/*
 * Split virtqueue layout (virtio 1.x, 2.7): byte sizes and offsets of the
 * descriptor table, driver (avail) and device (used) rings, descriptor
 * encoding, and a bump allocator for guest RAM.  Pure arithmetic on guest
 * addresses, nothing touches QEMU, so that it is unit-testable.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#define RIG_VRING_DESC_F_NEXT      1
#define RIG_VRING_DESC_F_WRITE     2
#define RIG_VRING_DESC_F_INDIRECT  4
#define RIG_VRING_USED_F_NO_NOTIFY 1
#define RIG_VRING_DESC_SIZE        16
#define RIG_VRING_USED_ELEM_SIZE   8
#define RIG_VRING_MAX_SIZE         32768

/* Guest physical addresses of the three parts of one split queue. */
typedef struct {
    uint16_t size;
    uint64_t desc;
    uint64_t avail;
    uint64_t used;
} RigVringLayout;

/* One decoded descriptor (virtq_desc, little-endian on the wire). */
typedef struct {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
} RigVringDesc;

/* Bump allocator over a range of guest RAM; nothing is ever freed. */
typedef struct {
    uint64_t start;
    uint64_t end;
    uint64_t next;
} RigGuestMem;

/**
 * rig_vring_size_valid:
 * @size: queue size
 *
 * Returns: whether @size is a power of two in 1..32768 (split ring rule).
 */
gboolean rig_vring_size_valid(unsigned size);

/**
 * rig_vring_desc_bytes:
 * Returns: bytes of a descriptor table of @size entries.
 */
uint64_t rig_vring_desc_bytes(uint16_t size);

/**
 * rig_vring_avail_bytes:
 * Returns: bytes of the driver ring (flags, idx, ring[@size], used_event).
 */
uint64_t rig_vring_avail_bytes(uint16_t size);

/**
 * rig_vring_used_bytes:
 * Returns: bytes of the device ring (flags, idx, ring[@size], avail_event).
 */
uint64_t rig_vring_used_bytes(uint16_t size);

/**
 * rig_vring_avail_idx_addr:
 * Returns: guest address of the driver ring's idx field.
 */
uint64_t rig_vring_avail_idx_addr(const RigVringLayout *l);

/**
 * rig_vring_avail_entry_addr:
 * @l: layout
 * @idx: free-running index (taken modulo the size)
 *
 * Returns: guest address of ring[@idx % size] of the driver ring.
 */
uint64_t rig_vring_avail_entry_addr(const RigVringLayout *l, uint16_t idx);

/**
 * rig_vring_used_idx_addr:
 * Returns: guest address of the device ring's idx field.
 */
uint64_t rig_vring_used_idx_addr(const RigVringLayout *l);

/**
 * rig_vring_used_elem_addr:
 * @l: layout
 * @idx: free-running index (taken modulo the size)
 *
 * Returns: guest address of ring[@idx % size] (id u32, len u32).
 */
uint64_t rig_vring_used_elem_addr(const RigVringLayout *l, uint16_t idx);

/**
 * rig_vring_desc_addr:
 * Returns: guest address of descriptor @i.
 */
uint64_t rig_vring_desc_addr(const RigVringLayout *l, uint16_t i);

/**
 * rig_vring_used_event_addr:
 * Returns: guest address of used_event, after the driver ring's entries
 *   (VIRTIO_RING_F_EVENT_IDX).
 */
uint64_t rig_vring_used_event_addr(const RigVringLayout *l);

/**
 * rig_vring_avail_event_addr:
 * Returns: guest address of avail_event, after the device ring's entries.
 */
uint64_t rig_vring_avail_event_addr(const RigVringLayout *l);

/**
 * rig_vring_need_event:
 * @event: the index the other side asked to be told about
 * @new_idx: index after the update
 * @old_idx: index before the update
 *
 * Returns: whether moving from @old_idx to @new_idx crosses @event (the
 *   spec's vring_need_event(), 2.7.10), correct across wrap-around.
 */
gboolean rig_vring_need_event(uint16_t event, uint16_t new_idx,
                              uint16_t old_idx);

/**
 * rig_vring_pending:
 * @used_idx: the device's free-running used index
 * @last_seen: the driver's count of consumed used entries
 *
 * Returns: entries the device has published and the driver not consumed,
 *   correct across 16-bit wrap-around.
 */
uint16_t rig_vring_pending(uint16_t used_idx, uint16_t last_seen);

/**
 * rig_vring_desc_encode:
 * @d: descriptor
 * @out: (out caller-allocates): RIG_VRING_DESC_SIZE bytes, little-endian
 */
void rig_vring_desc_encode(const RigVringDesc *d,
                           uint8_t out[RIG_VRING_DESC_SIZE]);

/**
 * rig_vring_used_elem_decode:
 * @raw: the 64-bit value read at a used element (id low, len high)
 * @ret_id: (out): descriptor head id
 * @ret_len: (out): bytes written by the device
 */
void rig_vring_used_elem_decode(uint64_t raw, uint32_t *ret_id,
                                uint32_t *ret_len);

/**
 * rig_guest_mem_init:
 * @m: (out): allocator
 * @start: first usable guest address
 * @end: first address past the usable range
 */
void rig_guest_mem_init(RigGuestMem *m, uint64_t start, uint64_t end);

/**
 * rig_guest_mem_alloc:
 * @m: allocator
 * @size: bytes (> 0)
 * @align: power of two
 * @ret_addr: (out): guest address, set only on success
 *
 * Returns: 0, -EINVAL for a bad @align or @size, -ENOMEM when exhausted.
 */
int rig_guest_mem_alloc(RigGuestMem *m, uint64_t size, uint64_t align,
                        uint64_t *ret_addr);

/**
 * rig_vring_layout_alloc:
 * @m: allocator
 * @size: queue size (rig_vring_size_valid())
 * @ret_layout: (out): set only on success
 *
 * Places the three parts with the alignments of the spec (16, 2, 4).
 *
 * Returns: 0, -EINVAL for a bad size, -ENOMEM when guest RAM is exhausted.
 */
int rig_vring_layout_alloc(RigGuestMem *m, unsigned size,
                           RigVringLayout *ret_layout);
