#include "guest/virtio-pci.h"

#include <string.h>

#include "guest/guest-error.h"
#include "net/wire.h"

#define PCI_STATUS          0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_CAPABILITY_LIST 0x34
#define PCI_CAP_ID_VNDR     0x09

#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4

/* struct virtio_pci_common_cfg offsets. */
#define COMMON_DFSELECT      0
#define COMMON_DF            4
#define COMMON_GFSELECT      8
#define COMMON_GF            12
#define COMMON_MSIX          16
#define COMMON_NUMQ          18
#define COMMON_STATUS        20
#define COMMON_CFGGENERATION 21
#define COMMON_Q_SELECT      22
#define COMMON_Q_SIZE        24
#define COMMON_Q_MSIX        26
#define COMMON_Q_ENABLE      28
#define COMMON_Q_NOFF        30
#define COMMON_Q_DESCLO      32
#define COMMON_Q_AVAILLO     40
#define COMMON_Q_USEDLO      48

#define VIRTIO_MSI_NO_VECTOR 0xffff

static gboolean common_write(RigVirtioPci *vp, int width, uint32_t off,
                             uint64_t value, GError **error)
{
    return rig_qtest_write(vp->pci.qtest, width, vp->common + off, value,
                           error);
}

static gboolean common_read(RigVirtioPci *vp, int width, uint32_t off,
                            uint64_t *ret_value, GError **error)
{
    return rig_qtest_read(vp->pci.qtest, width, vp->common + off, ret_value,
                          error);
}

static gboolean map_caps(RigVirtioPci *vp, GError **error)
{
    RigPciDev *pci = &vp->pci;
    gboolean have_common = FALSE;
    gboolean have_notify = FALSE;
    gboolean have_isr = FALSE;
    gboolean have_device = FALSE;
    uint32_t status;
    uint32_t ptr;
    int guard = 0;

    if (!rig_pci_config_read(pci, 2, PCI_STATUS, &status, error)) {
        return FALSE;
    }
    if (!(status & PCI_STATUS_CAP_LIST)) {
        goto missing;
    }
    if (!rig_pci_config_read(pci, 1, PCI_CAPABILITY_LIST, &ptr, error)) {
        return FALSE;
    }
    ptr &= 0xfc;
    /* A malicious or broken device could loop the list: bound the walk. */
    while (ptr != 0 && guard++ < 48) {
        uint32_t head;
        uint32_t bar;
        uint32_t offset;
        uint32_t length;
        uint64_t base;
        uint8_t type;

        if (!rig_pci_config_read(pci, 4, (uint8_t)ptr, &head, error)) {
            return FALSE;
        }
        if ((head & 0xff) != PCI_CAP_ID_VNDR) {
            ptr = (head >> 8) & 0xfc;
            continue;
        }
        type = (uint8_t)(head >> 24);
        if (!rig_pci_config_read(pci, 4, (uint8_t)(ptr + 4), &bar, error) ||
            !rig_pci_config_read(pci, 4, (uint8_t)(ptr + 8), &offset, error) ||
            !rig_pci_config_read(pci, 4, (uint8_t)(ptr + 12), &length, error)) {
            return FALSE;
        }
        bar &= 0xff;
        if (bar >= RIG_PCI_NUM_BARS || pci->bars[bar].size == 0 ||
            pci->bars[bar].is_io) {
            /* Not a memory BAR we mapped (e.g. the PCI cfg access cap). */
            ptr = (head >> 8) & 0xfc;
            continue;
        }
        if ((uint64_t)offset + length > pci->bars[bar].size) {
            g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_DEVICE,
                        "virtio capability type %u at 0x%02x points past BAR "
                        "%u (offset 0x%x + 0x%x > 0x%" G_GINT64_MODIFIER "x)",
                        type, ptr, bar, offset, length, pci->bars[bar].size);
            return FALSE;
        }
        base = pci->bars[bar].addr + offset;
        if (type == VIRTIO_PCI_CAP_COMMON_CFG && !have_common) {
            vp->common = base;
            have_common = TRUE;
        } else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && !have_notify) {
            uint32_t mult;

            if (!rig_pci_config_read(pci, 4, (uint8_t)(ptr + 16), &mult,
                                     error)) {
                return FALSE;
            }
            vp->notify = base;
            vp->notify_mult = mult;
            have_notify = TRUE;
        } else if (type == VIRTIO_PCI_CAP_ISR_CFG && !have_isr) {
            vp->isr = base;
            have_isr = TRUE;
        } else if (type == VIRTIO_PCI_CAP_DEVICE_CFG && !have_device) {
            vp->device = base;
            vp->device_len = length;
            have_device = TRUE;
        }
        ptr = (head >> 8) & 0xfc;
    }
    if (have_common && have_notify && have_isr && have_device) {
        return TRUE;
    }

missing:
    g_set_error(
        error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_NOT_FOUND,
        "virtio-net at %02x.%d lacks modern virtio capabilities "
        "(common %s, notify %s, isr %s, device %s): is it a legacy-only "
        "device (disable-modern=on)?",
        pci->devfn >> 3, pci->devfn & 7, have_common ? "yes" : "no",
        have_notify ? "yes" : "no", have_isr ? "yes" : "no",
        have_device ? "yes" : "no");
    return FALSE;
}

gboolean rig_virtio_pci_open(RigQtest *qtest, int devfn, uint64_t *mmio_next,
                             RigVirtioPci *ret_vp, GError **error)
{
    RigVirtioPci vp = {0};
    uint64_t mmio = *mmio_next;
    uint32_t io = RIG_PCI_IO_BASE;

    if (!rig_pci_find_virtio_net(qtest, devfn, &vp.pci, error) ||
        !rig_pci_enable(&vp.pci, &mmio, &io, error) || !map_caps(&vp, error)) {
        return FALSE;
    }
    *mmio_next = mmio;
    *ret_vp = vp;
    return TRUE;
}

gboolean rig_virtio_pci_get_status(RigVirtioPci *vp, uint8_t *ret_status,
                                   GError **error)
{
    uint64_t v;

    if (!common_read(vp, 1, COMMON_STATUS, &v, error)) {
        return FALSE;
    }
    *ret_status = (uint8_t)v;
    return TRUE;
}

gboolean rig_virtio_pci_add_status(RigVirtioPci *vp, uint8_t bits,
                                   GError **error)
{
    uint8_t status;

    if (!rig_virtio_pci_get_status(vp, &status, error)) {
        return FALSE;
    }
    return common_write(vp, 1, COMMON_STATUS, status | bits, error);
}

gboolean rig_virtio_pci_reset(RigVirtioPci *vp, guint timeout_ms,
                              GError **error)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    uint8_t status = 0xff;

    if (!common_write(vp, 1, COMMON_STATUS, 0, error)) {
        return FALSE;
    }
    while (g_get_monotonic_time() < deadline) {
        if (!rig_virtio_pci_get_status(vp, &status, error)) {
            return FALSE;
        }
        if (status == 0) {
            return TRUE;
        }
        g_usleep(1000);
    }
    g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_TIMEOUT,
                "virtio reset: device status still 0x%02x after %u ms", status,
                timeout_ms);
    return FALSE;
}

gboolean rig_virtio_pci_device_features(RigVirtioPci *vp,
                                        uint64_t *ret_features, GError **error)
{
    uint64_t lo;
    uint64_t hi;

    if (!common_write(vp, 4, COMMON_DFSELECT, 0, error) ||
        !common_read(vp, 4, COMMON_DF, &lo, error) ||
        !common_write(vp, 4, COMMON_DFSELECT, 1, error) ||
        !common_read(vp, 4, COMMON_DF, &hi, error)) {
        return FALSE;
    }
    *ret_features = (hi << 32) | (lo & 0xffffffffu);
    return TRUE;
}

gboolean rig_virtio_pci_negotiate(RigVirtioPci *vp, uint64_t wanted,
                                  uint64_t required, uint64_t *ret_offered,
                                  uint64_t *ret_accepted, GError **error)
{
    uint64_t offered;
    uint64_t accepted;
    uint8_t status;

    if (!rig_virtio_pci_add_status(vp, RIG_VIRTIO_STATUS_ACKNOWLEDGE, error) ||
        !rig_virtio_pci_add_status(vp, RIG_VIRTIO_STATUS_DRIVER, error) ||
        !rig_virtio_pci_device_features(vp, &offered, error)) {
        return FALSE;
    }
    if ((offered & required) != required) {
        g_set_error(
            error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_REFUSED,
            "device does not offer required features 0x%016" G_GINT64_MODIFIER
            "x (offered 0x%016" G_GINT64_MODIFIER "x); for RSC start "
            "virtio-net-pci with guest_rsc_ext=on on a tap with "
            "vnet_hdr=on and vhost=off",
            required & ~offered, offered);
        (void)rig_virtio_pci_add_status(vp, RIG_VIRTIO_STATUS_FAILED, NULL);
        return FALSE;
    }
    accepted = offered & wanted;
    if (!common_write(vp, 4, COMMON_GFSELECT, 0, error) ||
        !common_write(vp, 4, COMMON_GF, accepted & 0xffffffffu, error) ||
        !common_write(vp, 4, COMMON_GFSELECT, 1, error) ||
        !common_write(vp, 4, COMMON_GF, accepted >> 32, error) ||
        !rig_virtio_pci_add_status(vp, RIG_VIRTIO_STATUS_FEATURES_OK, error) ||
        !rig_virtio_pci_get_status(vp, &status, error)) {
        return FALSE;
    }
    if (!(status & RIG_VIRTIO_STATUS_FEATURES_OK)) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_REFUSED,
                    "device cleared FEATURES_OK (status 0x%02x) for features "
                    "0x%016" G_GINT64_MODIFIER "x",
                    status, accepted);
        (void)rig_virtio_pci_add_status(vp, RIG_VIRTIO_STATUS_FAILED, NULL);
        return FALSE;
    }
    if (ret_offered) {
        *ret_offered = offered;
    }
    *ret_accepted = accepted;
    return TRUE;
}

gboolean rig_virtio_pci_config_read(RigVirtioPci *vp, uint32_t offset,
                                    void *buf, size_t len, GError **error)
{
    uint8_t *out = buf;

    if ((uint64_t)offset + len > vp->device_len) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "device config read at %u+%zu past its %u bytes", offset,
                    len, vp->device_len);
        return FALSE;
    }
    /* Byte reads: the device config of virtio-net is not 8-byte aligned. */
    for (size_t i = 0; i < len; i++) {
        uint64_t v;

        if (!rig_qtest_read(vp->pci.qtest, 1, vp->device + offset + i, &v,
                            error)) {
            return FALSE;
        }
        out[i] = (uint8_t)v;
    }
    return TRUE;
}

gboolean rig_virtq_setup(RigVirtq *vq, RigVirtioPci *vp, uint16_t index,
                         unsigned size, RigGuestMem *mem, RigGuestRam *ram,
                         gboolean event_idx, GError **error)
{
    uint64_t max;
    uint64_t noff;
    uint64_t enabled;
    RigVringLayout layout;
    int r;

    if (!common_write(vp, 2, COMMON_Q_SELECT, index, error) ||
        !common_read(vp, 2, COMMON_Q_SIZE, &max, error)) {
        return FALSE;
    }
    if (max == 0) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_NOT_FOUND,
                    "virtqueue %u does not exist (size 0)", index);
        return FALSE;
    }
    if (size == 0) {
        size = (unsigned)max;
    }
    if (!rig_vring_size_valid(size) || size > max) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "virtqueue %u: size %u is not a power of two <= %u "
                    "(the device maximum; see virtio-net-pci "
                    "rx_queue_size/tx_queue_size)",
                    index, size, (unsigned)max);
        return FALSE;
    }
    r = rig_vring_layout_alloc(mem, size, &layout);
    if (r < 0) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_NO_MEMORY,
                    "virtqueue %u: no guest RAM for a ring of %u entries",
                    index, size);
        return FALSE;
    }
    /* Zeroed rings: idx fields start at 0, flags 0 (interrupts wanted). */
    {
        g_autofree uint8_t *zero = g_malloc0(rig_vring_desc_bytes(layout.size));

        if (!rig_guest_ram_write(ram, layout.desc, zero,
                                 rig_vring_desc_bytes(layout.size), error) ||
            !rig_guest_ram_write(ram, layout.avail, zero,
                                 rig_vring_avail_bytes(layout.size), error) ||
            !rig_guest_ram_write(ram, layout.used, zero,
                                 rig_vring_used_bytes(layout.size), error)) {
            return FALSE;
        }
    }
    if (!common_write(vp, 2, COMMON_Q_SIZE, size, error) ||
        !common_write(vp, 2, COMMON_Q_MSIX, VIRTIO_MSI_NO_VECTOR, error) ||
        !common_write(vp, 4, COMMON_Q_DESCLO, layout.desc & 0xffffffffu,
                      error) ||
        !common_write(vp, 4, COMMON_Q_DESCLO + 4, layout.desc >> 32, error) ||
        !common_write(vp, 4, COMMON_Q_AVAILLO, layout.avail & 0xffffffffu,
                      error) ||
        !common_write(vp, 4, COMMON_Q_AVAILLO + 4, layout.avail >> 32, error) ||
        !common_write(vp, 4, COMMON_Q_USEDLO, layout.used & 0xffffffffu,
                      error) ||
        !common_write(vp, 4, COMMON_Q_USEDLO + 4, layout.used >> 32, error) ||
        !common_read(vp, 2, COMMON_Q_NOFF, &noff, error) ||
        !common_write(vp, 2, COMMON_Q_ENABLE, 1, error) ||
        !common_read(vp, 2, COMMON_Q_ENABLE, &enabled, error)) {
        return FALSE;
    }
    if (enabled != 1) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_DEVICE,
                    "virtqueue %u: queue_enable reads back %u", index,
                    (unsigned)enabled);
        return FALSE;
    }
    memset(vq, 0, sizeof(*vq));
    vq->vp = vp;
    vq->ram = ram;
    vq->event_idx = event_idx;
    vq->index = index;
    vq->layout = layout;
    vq->notify_addr = vp->notify + noff * vp->notify_mult;
    vq->num_free = (uint16_t)MIN(size, G_MAXUINT16);
    vq->next = g_new0(uint16_t, size);
    vq->chain_len = g_new0(uint16_t, size);
    vq->token = g_new0(guint64, size);
    vq->desc_shadow = g_new0(RigVringDesc, size);
    vq->desc_written = g_new0(gboolean, size);
    vq->avail_shadow = g_new0(uint16_t, size);
    for (unsigned i = 0; i + 1 < size; i++) {
        vq->next[i] = (uint16_t)(i + 1);
    }
    vq->free_head = 0;
    return TRUE;
}

void rig_virtq_clear(RigVirtq *vq)
{
    g_clear_pointer(&vq->next, g_free);
    g_clear_pointer(&vq->chain_len, g_free);
    g_clear_pointer(&vq->token, g_free);
    g_clear_pointer(&vq->desc_shadow, g_free);
    g_clear_pointer(&vq->desc_written, g_free);
    g_clear_pointer(&vq->avail_shadow, g_free);
}

/* Descriptor @i of a chain of @n; @next is where NEXT points. */
static RigVringDesc chain_desc(const RigVirtqBuf *bufs, guint i, guint n,
                               uint16_t next)
{
    return (RigVringDesc){
        .addr = bufs[i].addr,
        .len = bufs[i].len,
        .flags =
            (uint16_t)((bufs[i].device_writes ? RIG_VRING_DESC_F_WRITE : 0) |
                       (i + 1 < n ? RIG_VRING_DESC_F_NEXT : 0)),
        .next = i + 1 < n ? next : 0,
    };
}

void rig_virtq_encode_chain(const RigVirtqBuf *bufs, guint n, uint8_t *out)
{
    for (guint i = 0; i < n; i++) {
        RigVringDesc desc = chain_desc(bufs, i, n, (uint16_t)(i + 1));

        rig_vring_desc_encode(&desc, out + RIG_VRING_DESC_SIZE * i);
    }
}

gboolean rig_virtq_write_indirect(RigVirtq *vq, uint64_t table,
                                  const RigVirtqBuf *bufs, guint n,
                                  GError **error)
{
    g_autofree uint8_t *raw = g_malloc(RIG_VRING_DESC_SIZE * (gsize)n);

    g_return_val_if_fail(n > 0, FALSE);
    rig_virtq_encode_chain(bufs, n, raw);
    return rig_guest_ram_write(vq->ram, table, raw, RIG_VRING_DESC_SIZE * n,
                               error);
}

/* Writes descriptor @d unless guest RAM already holds @desc there. */
static gboolean put_desc(RigVirtq *vq, uint16_t d, const RigVringDesc *desc,
                         GError **error)
{
    uint8_t raw[RIG_VRING_DESC_SIZE];

    if (vq->desc_written[d] &&
        memcmp(&vq->desc_shadow[d], desc, sizeof(*desc)) == 0) {
        return TRUE;
    }
    rig_vring_desc_encode(desc, raw);
    vq->desc_written[d] = FALSE;
    if (!rig_guest_ram_write(vq->ram, rig_vring_desc_addr(&vq->layout, d), raw,
                             sizeof(raw), error)) {
        return FALSE;
    }
    vq->desc_shadow[d] = *desc;
    vq->desc_written[d] = TRUE;
    return TRUE;
}

/* Queues the driver ring entry for the chain at @head of @n descriptors. */
static void queue_head(RigVirtq *vq, uint16_t head, uint16_t last, guint n,
                       guint64 token)
{
    vq->free_head = vq->next[last];
    vq->num_free -= (uint16_t)n;
    vq->chain_len[head] = (uint16_t)n;
    vq->token[head] = token;
    vq->avail_shadow[vq->avail_idx & (vq->layout.size - 1)] = head;
    vq->avail_idx++;
}

gboolean rig_virtq_add_indirect(RigVirtq *vq, uint64_t table, guint n,
                                guint64 token, GError **error)
{
    uint16_t head = vq->free_head;
    RigVringDesc desc = {
        .addr = table,
        .len = RIG_VRING_DESC_SIZE * n,
        .flags = RIG_VRING_DESC_F_INDIRECT,
    };

    if (vq->num_free == 0) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_NO_MEMORY,
                    "virtqueue %u: no free descriptor", vq->index);
        return FALSE;
    }
    if (!put_desc(vq, head, &desc, error)) {
        return FALSE;
    }
    queue_head(vq, head, head, 1, token);
    return TRUE;
}

gboolean rig_virtq_add(RigVirtq *vq, const RigVirtqBuf *bufs, guint n,
                       guint64 token, GError **error)
{
    uint16_t head = vq->free_head;
    uint16_t d = head;

    g_return_val_if_fail(n > 0, FALSE);
    if (n > vq->num_free) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_NO_MEMORY,
                    "virtqueue %u: %u descriptors needed, %u free", vq->index,
                    n, vq->num_free);
        return FALSE;
    }
    for (guint i = 0; i < n; i++) {
        uint16_t next = vq->next[d];
        RigVringDesc desc = chain_desc(bufs, i, n, next);

        if (!put_desc(vq, d, &desc, error)) {
            return FALSE;
        }
        if (i + 1 < n) {
            d = next;
        }
    }
    queue_head(vq, head, d, n, token);
    return TRUE;
}

/* Writes the queued driver ring entries [published, avail_idx). */
static gboolean flush_avail(RigVirtq *vq, GError **error)
{
    uint16_t size = vq->layout.size;

    while (vq->avail_published != vq->avail_idx) {
        uint16_t start = vq->avail_published & (size - 1);
        uint16_t count = (uint16_t)(vq->avail_idx - vq->avail_published);
        uint8_t *le;
        gboolean ok;

        /* Contiguous up to the end of the ring; the rest on the next turn. */
        count = MIN(count, (uint16_t)(size - start));
        le = g_malloc(2u * count);
        for (uint16_t i = 0; i < count; i++) {
            rig_le16_put(le + 2 * i, vq->avail_shadow[start + i]);
        }
        ok = rig_guest_ram_write(
            vq->ram,
            rig_vring_avail_entry_addr(&vq->layout, vq->avail_published), le,
            2u * count, error);
        g_free(le);
        if (!ok) {
            return FALSE;
        }
        vq->avail_published += count;
    }
    return TRUE;
}

gboolean rig_virtq_kick(RigVirtq *vq, GError **error)
{
    uint16_t old = vq->kicked_idx;
    uint16_t word;
    gboolean notify;

    if (!flush_avail(vq, error) ||
        !rig_guest_ram_store16(vq->ram, rig_vring_avail_idx_addr(&vq->layout),
                               vq->avail_idx, error)) {
        return FALSE;
    }
    /* The index must be visible before the device's wish is read. */
    rig_guest_ram_fence(vq->ram);
    if (vq->event_idx) {
        if (!rig_guest_ram_load16(vq->ram,
                                  rig_vring_avail_event_addr(&vq->layout),
                                  &word, error)) {
            return FALSE;
        }
        notify = rig_vring_need_event(word, vq->avail_idx, old);
    } else {
        if (!rig_guest_ram_load16(vq->ram, vq->layout.used, &word, error)) {
            return FALSE;
        }
        notify = !(word & RIG_VRING_USED_F_NO_NOTIFY);
    }
    vq->kicked_idx = vq->avail_idx;
    if (!notify) {
        vq->notifies_suppressed++;
        return TRUE;
    }
    vq->notifies++;
    return rig_qtest_write(vq->vp->pci.qtest, 2, vq->notify_addr, vq->index,
                           error);
}

gboolean rig_virtq_used_pending(RigVirtq *vq, uint16_t *ret_pending,
                                GError **error)
{
    uint16_t used_idx;
    uint16_t pending;
    uint16_t in_flight = (uint16_t)(vq->avail_idx - vq->last_used);

    if (!rig_guest_ram_load16(vq->ram, rig_vring_used_idx_addr(&vq->layout),
                              &used_idx, error)) {
        return FALSE;
    }
    pending = rig_vring_pending(used_idx, vq->last_used);
    if (pending > in_flight) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_DEVICE,
                    "virtqueue %u: device used index %u is %u ahead of the "
                    "driver, but only %u chains were available",
                    vq->index, (unsigned)used_idx, pending, in_flight);
        return FALSE;
    }
    *ret_pending = pending;
    return TRUE;
}

/*
 * EVENT_IDX: ask for an interrupt at the next used entry, as NetKVM's
 * virtqueue_get_buf_split() does while interrupts are enabled.
 */
static gboolean publish_used_event(RigVirtq *vq, GError **error)
{
    if (!vq->event_idx) {
        return TRUE;
    }
    return rig_guest_ram_store16(
        vq->ram, rig_vring_used_event_addr(&vq->layout), vq->last_used, error);
}

/* Consumes used entry @id: returns its chain to the free list. */
static gboolean complete_chain(RigVirtq *vq, uint32_t id, uint32_t len,
                               guint64 *ret_token, uint32_t *ret_len,
                               GError **error)
{
    uint16_t d;

    if (id >= vq->layout.size || vq->chain_len[id] == 0) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_DEVICE,
                    "virtqueue %u: used entry %u names descriptor %u, which "
                    "heads no available chain",
                    vq->index, vq->last_used, id);
        return FALSE;
    }
    /* Return the chain to the free list: walk to its tail. */
    d = (uint16_t)id;
    for (uint16_t i = 1; i < vq->chain_len[id]; i++) {
        d = vq->next[d];
    }
    vq->next[d] = vq->free_head;
    vq->free_head = (uint16_t)id;
    vq->num_free += vq->chain_len[id];
    vq->chain_len[id] = 0;
    vq->last_used++;
    *ret_token = vq->token[id];
    *ret_len = len;
    return TRUE;
}

gboolean rig_virtq_pop(RigVirtq *vq, guint64 *ret_token, uint32_t *ret_len,
                       GError **error)
{
    uint8_t raw[RIG_VRING_USED_ELEM_SIZE];

    if (!rig_guest_ram_read(
            vq->ram, rig_vring_used_elem_addr(&vq->layout, vq->last_used), raw,
            sizeof(raw), error)) {
        return FALSE;
    }
    return complete_chain(vq, rig_le32_get(raw), rig_le32_get(raw + 4),
                          ret_token, ret_len, error) &&
           publish_used_event(vq, error);
}

gboolean rig_virtq_pop_many(RigVirtq *vq, guint max, guint64 *ret_tokens,
                            uint32_t *ret_lens, guint *ret_n, GError **error)
{
    uint16_t pending;
    guint n;
    guint done = 0;

    if (!rig_virtq_used_pending(vq, &pending, error)) {
        return FALSE;
    }
    n = MIN(max, pending);
    while (done < n) {
        uint16_t start = vq->last_used & (vq->layout.size - 1);
        guint chunk = MIN(n - done, (guint)(vq->layout.size - start));
        g_autofree uint8_t *raw = g_malloc(RIG_VRING_USED_ELEM_SIZE * chunk);

        if (!rig_guest_ram_read(
                vq->ram, rig_vring_used_elem_addr(&vq->layout, vq->last_used),
                raw, RIG_VRING_USED_ELEM_SIZE * chunk, error)) {
            return FALSE;
        }
        for (guint i = 0; i < chunk; i++, done++) {
            const uint8_t *e = raw + RIG_VRING_USED_ELEM_SIZE * i;

            if (!complete_chain(vq, rig_le32_get(e), rig_le32_get(e + 4),
                                &ret_tokens[done], &ret_lens[done], error)) {
                return FALSE;
            }
        }
    }
    if (n > 0 && !publish_used_event(vq, error)) {
        return FALSE;
    }
    *ret_n = n;
    return TRUE;
}

gboolean rig_virtq_wait_used(RigVirtq *vq, guint timeout_ms, guint64 *ret_token,
                             uint32_t *ret_len, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    for (;;) {
        uint16_t pending;

        if (!rig_virtq_used_pending(vq, &pending, error)) {
            return FALSE;
        }
        if (pending > 0) {
            return rig_virtq_pop(vq, ret_token, ret_len, error);
        }
        if (g_get_monotonic_time() >= deadline) {
            g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_TIMEOUT,
                        "virtqueue %u: device completed nothing within %u ms",
                        vq->index, timeout_ms);
            return FALSE;
        }
        g_usleep(200);
    }
}
