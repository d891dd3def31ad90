#include "guest/guest-ram.h"

#include <string.h>

#include "guest/guest-error.h"
#include "net/wire.h"

struct RigGuestRam {
    RigQtest *qtest; /* borrowed */
    uint8_t *map;    /* borrowed; NULL on the qtest path */
    uint64_t map_size;
    guint64 commands;
};

RigGuestRam *rig_guest_ram_new(RigQtest *qtest, void *map, uint64_t map_size)
{
    RigGuestRam *ram = g_new0(RigGuestRam, 1);

    ram->qtest = qtest;
    ram->map = map;
    ram->map_size = map ? map_size : 0;
    return ram;
}

void rig_guest_ram_free(RigGuestRam *ram)
{
    g_free(ram);
}

gboolean rig_guest_ram_is_shared(const RigGuestRam *ram)
{
    return ram->map != NULL;
}

const char *rig_guest_ram_path_name(const RigGuestRam *ram)
{
    return ram->map ? "shared" : "qtest";
}

guint64 rig_guest_ram_command_count(const RigGuestRam *ram)
{
    return ram->commands;
}

/* Returns the host address of [addr, addr + len), or NULL with @error. */
static uint8_t *host_addr(RigGuestRam *ram, uint64_t addr, size_t len,
                          GError **error)
{
    if (addr > ram->map_size || ram->map_size - addr < len) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "guest RAM access 0x%" G_GINT64_MODIFIER "x+%zu outside "
                    "the %" G_GUINT64_FORMAT " MiB the rig mapped",
                    (guint64)addr, len, ram->map_size >> 20);
        return NULL;
    }
    return ram->map + addr;
}

gboolean rig_guest_ram_read(RigGuestRam *ram, uint64_t addr, void *buf,
                            size_t len, GError **error)
{
    uint8_t *p;

    if (!ram->map) {
        ram->commands++;
        return rig_qtest_memread(ram->qtest, addr, buf, len, error);
    }
    p = host_addr(ram, addr, len, error);
    if (!p) {
        return FALSE;
    }
    memcpy(buf, p, len);
    return TRUE;
}

gboolean rig_guest_ram_write(RigGuestRam *ram, uint64_t addr, const void *buf,
                             size_t len, GError **error)
{
    uint8_t *p;

    if (!ram->map) {
        ram->commands++;
        return rig_qtest_memwrite(ram->qtest, addr, buf, len, error);
    }
    p = host_addr(ram, addr, len, error);
    if (!p) {
        return FALSE;
    }
    memcpy(p, buf, len);
    return TRUE;
}

gboolean rig_guest_ram_load16(RigGuestRam *ram, uint64_t addr,
                              uint16_t *ret_value, GError **error)
{
    uint16_t *p;
    uint16_t raw;

    if (!ram->map) {
        uint64_t v;

        ram->commands++;
        if (!rig_qtest_read(ram->qtest, 2, addr, &v, error)) {
            return FALSE;
        }
        *ret_value = (uint16_t)v;
        return TRUE;
    }
    p = (uint16_t *)host_addr(ram, addr, 2, error);
    if (!p) {
        return FALSE;
    }
    raw = __atomic_load_n(p, __ATOMIC_ACQUIRE);
    *ret_value = rig_le16_get((const uint8_t *)&raw);
    return TRUE;
}

gboolean rig_guest_ram_store16(RigGuestRam *ram, uint64_t addr, uint16_t value,
                               GError **error)
{
    uint16_t *p;
    uint16_t raw;

    if (!ram->map) {
        ram->commands++;
        return rig_qtest_write(ram->qtest, 2, addr, value, error);
    }
    p = (uint16_t *)host_addr(ram, addr, 2, error);
    if (!p) {
        return FALSE;
    }
    rig_le16_put((uint8_t *)&raw, value);
    __atomic_store_n(p, raw, __ATOMIC_RELEASE);
    return TRUE;
}

void rig_guest_ram_fence(RigGuestRam *ram)
{
    /* qtest commands are synchronous: each is ordered by its reply. */
    if (ram->map) {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    }
}
