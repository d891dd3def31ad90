/*
 * How the reference guest reaches its RAM.  Two paths with one interface:
 *
 *  - shared: QEMU's guest RAM is a memory-backend-file with share=on that
 *    the rig mapped itself (rig/qemu/vm.c, RigVmConfig.shared_ram); rings,
 *    descriptors and buffers are plain loads and stores, with the acquire
 *    and release ordering a driver on real hardware uses for the ring
 *    indices (virtio spec 2.7.13, "memory barriers").
 *  - qtest: every access is a qtest command (readw/writew/b64read/...), for
 *    a QEMU the rig attached to or one without memory-backend support.
 *
 * Either way the device sees the same bytes in the same order, so the two
 * give byte-identical deterministic logs (tests/integration/test_guest.py).
 * MMIO (the virtio-pci registers), interrupts and the clock always go
 * through qtest.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "guest/qtest.h"

typedef struct RigGuestRam RigGuestRam;

/**
 * rig_guest_ram_new:
 * @qtest: client (borrowed: must outlive the result)
 * @map: (nullable): guest RAM mapped into this process (guest physical
 *   address 0 at @map), or NULL for the qtest path
 * @map_size: bytes of @map
 *
 * Returns: (transfer full): the accessor; free with rig_guest_ram_free().
 */
RigGuestRam *rig_guest_ram_new(RigQtest *qtest, void *map, uint64_t map_size);

/**
 * rig_guest_ram_free:
 * @ram: (nullable): accessor (the mapping itself belongs to its creator)
 */
void rig_guest_ram_free(RigGuestRam *ram);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RigGuestRam, rig_guest_ram_free)

/**
 * rig_guest_ram_is_shared:
 * Returns: TRUE on the shared-memory path.
 */
gboolean rig_guest_ram_is_shared(const RigGuestRam *ram);

/**
 * rig_guest_ram_path_name:
 * Returns: (transfer none): "shared" or "qtest".
 */
const char *rig_guest_ram_path_name(const RigGuestRam *ram);

/**
 * rig_guest_ram_read:
 * @ram: accessor
 * @addr: guest physical address
 * @buf: (out caller-allocates): @len bytes
 * @len: bytes (> 0)
 * @error: return location (INVALID past the mapping, qtest errors)
 *
 * Returns: TRUE on success.
 */
gboolean rig_guest_ram_read(RigGuestRam *ram, uint64_t addr, void *buf,
                            size_t len, GError **error);

/**
 * rig_guest_ram_write:
 * @ram: accessor
 * @addr: guest physical address
 * @buf: @len bytes (borrowed)
 * @len: bytes (> 0)
 * @error: return location
 *
 * Returns: TRUE on success.
 */
gboolean rig_guest_ram_write(RigGuestRam *ram, uint64_t addr, const void *buf,
                             size_t len, GError **error);

/**
 * rig_guest_ram_load16:
 * @ram: accessor
 * @addr: 2-byte aligned guest address of a little-endian ring index
 * @ret_value: (out): set only on success
 * @error: return location
 *
 * An acquire load: what the device wrote before publishing the index is
 * visible after it.
 *
 * Returns: TRUE on success.
 */
gboolean rig_guest_ram_load16(RigGuestRam *ram, uint64_t addr,
                              uint16_t *ret_value, GError **error);

/**
 * rig_guest_ram_store16:
 * @ram: accessor
 * @addr: 2-byte aligned guest address of a little-endian ring index
 * @value: value
 * @error: return location
 *
 * A release store: everything written before is visible to the device
 * once it sees @value.
 *
 * Returns: TRUE on success.
 */
gboolean rig_guest_ram_store16(RigGuestRam *ram, uint64_t addr, uint16_t value,
                               GError **error);

/**
 * rig_guest_ram_fence:
 * @ram: accessor
 *
 * A full barrier between a store of ours and a load of a field the device
 * writes (EVENT_IDX: publish avail->idx, then read avail_event).
 */
void rig_guest_ram_fence(RigGuestRam *ram);

/**
 * rig_guest_ram_command_count:
 * @ram: accessor
 *
 * Returns: qtest commands this accessor issued (0 on the shared path).
 */
guint64 rig_guest_ram_command_count(const RigGuestRam *ram);
