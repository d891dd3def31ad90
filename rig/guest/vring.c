#include "guest/vring.h"

#include <errno.h>

#include "net/wire.h"

gboolean rig_vring_size_valid(unsigned size)
{
    return size >= 1 && size <= RIG_VRING_MAX_SIZE && (size & (size - 1)) == 0;
}

uint64_t rig_vring_desc_bytes(uint16_t size)
{
    return (uint64_t)RIG_VRING_DESC_SIZE * size;
}

uint64_t rig_vring_avail_bytes(uint16_t size)
{
    return 6 + 2 * (uint64_t)size;
}

uint64_t rig_vring_used_bytes(uint16_t size)
{
    return 6 + (uint64_t)RIG_VRING_USED_ELEM_SIZE * size;
}

uint64_t rig_vring_avail_idx_addr(const RigVringLayout *l)
{
    return l->avail + 2;
}

uint64_t rig_vring_avail_entry_addr(const RigVringLayout *l, uint16_t idx)
{
    return l->avail + 4 + 2 * (uint64_t)(idx & (l->size - 1));
}

uint64_t rig_vring_used_idx_addr(const RigVringLayout *l)
{
    return l->used + 2;
}

uint64_t rig_vring_used_elem_addr(const RigVringLayout *l, uint16_t idx)
{
    return l->used + 4 +
           (uint64_t)RIG_VRING_USED_ELEM_SIZE * (idx & (l->size - 1));
}

uint64_t rig_vring_desc_addr(const RigVringLayout *l, uint16_t i)
{
    return l->desc + (uint64_t)RIG_VRING_DESC_SIZE * i;
}

uint64_t rig_vring_used_event_addr(const RigVringLayout *l)
{
    return l->avail + 4 + 2 * (uint64_t)l->size;
}

uint64_t rig_vring_avail_event_addr(const RigVringLayout *l)
{
    return l->used + 4 + (uint64_t)RIG_VRING_USED_ELEM_SIZE * l->size;
}

gboolean rig_vring_need_event(uint16_t event, uint16_t new_idx,
                              uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

uint16_t rig_vring_pending(uint16_t used_idx, uint16_t last_seen)
{
    return (uint16_t)(used_idx - last_seen);
}

void rig_vring_desc_encode(const RigVringDesc *d,
                           uint8_t out[RIG_VRING_DESC_SIZE])
{
    rig_le32_put(out, (uint32_t)d->addr);
    rig_le32_put(out + 4, (uint32_t)(d->addr >> 32));
    rig_le32_put(out + 8, d->len);
    rig_le16_put(out + 12, d->flags);
    rig_le16_put(out + 14, d->next);
}

void rig_vring_used_elem_decode(uint64_t raw, uint32_t *ret_id,
                                uint32_t *ret_len)
{
    *ret_id = (uint32_t)raw;
    *ret_len = (uint32_t)(raw >> 32);
}

void rig_guest_mem_init(RigGuestMem *m, uint64_t start, uint64_t end)
{
    m->start = start;
    m->end = end;
    m->next = start;
}

int rig_guest_mem_alloc(RigGuestMem *m, uint64_t size, uint64_t align,
                        uint64_t *ret_addr)
{
    uint64_t addr;

    if (size == 0 || align == 0 || (align & (align - 1)) != 0) {
        return -EINVAL;
    }
    addr = (m->next + align - 1) & ~(align - 1);
    if (addr < m->next || addr > m->end || m->end - addr < size) {
        return -ENOMEM;
    }
    m->next = addr + size;
    *ret_addr = addr;
    return 0;
}

int rig_vring_layout_alloc(RigGuestMem *m, unsigned size,
                           RigVringLayout *ret_layout)
{
    RigGuestMem trial = *m;
    RigVringLayout l = {.size = (uint16_t)size};
    int r;

    if (!rig_vring_size_valid(size)) {
        return -EINVAL;
    }
    /* Allocate on a copy so that a failure leaves @m untouched. */
    if ((r = rig_guest_mem_alloc(&trial, rig_vring_desc_bytes(l.size), 16,
                                 &l.desc)) < 0 ||
        (r = rig_guest_mem_alloc(&trial, rig_vring_avail_bytes(l.size), 2,
                                 &l.avail)) < 0 ||
        (r = rig_guest_mem_alloc(&trial, rig_vring_used_bytes(l.size), 4,
                                 &l.used)) < 0) {
        return r;
    }
    *m = trial;
    *ret_layout = l;
    return 0;
}
