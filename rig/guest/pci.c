#include "guest/pci.h"

#include "guest/guest-error.h"

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA    0xcfc
#define PCI_VENDOR_ID      0x00
#define PCI_DEVICE_ID      0x02
#define PCI_COMMAND        0x04
#define PCI_HEADER_TYPE    0x0e
#define PCI_BAR0           0x10
#define PCI_SUBSYSTEM_ID   0x2e
#define PCI_COMMAND_IO     0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_BAR_IO         0x1
#define PCI_BAR_MEM_TYPE   0x6
#define PCI_BAR_MEM_64     0x4

static gboolean select_reg(RigPciDev *dev, uint8_t offset, GError **error)
{
    uint32_t addr = 0x80000000u | ((uint32_t)dev->devfn << 8) | (offset & 0xfc);

    return rig_qtest_out(dev->qtest, 4, PCI_CONFIG_ADDRESS, addr, error);
}

gboolean rig_pci_config_read(RigPciDev *dev, int width, uint8_t offset,
                             uint32_t *ret_value, GError **error)
{
    g_return_val_if_fail(offset % width == 0, FALSE);
    if (!select_reg(dev, offset, error)) {
        return FALSE;
    }
    return rig_qtest_in(dev->qtest, width, PCI_CONFIG_DATA + (offset & 3),
                        ret_value, error);
}

gboolean rig_pci_config_write(RigPciDev *dev, int width, uint8_t offset,
                              uint32_t value, GError **error)
{
    g_return_val_if_fail(offset % width == 0, FALSE);
    if (!select_reg(dev, offset, error)) {
        return FALSE;
    }
    return rig_qtest_out(dev->qtest, width, PCI_CONFIG_DATA + (offset & 3),
                         value, error);
}

static gboolean is_virtio_net(RigPciDev *dev, gboolean *ret_match,
                              GError **error)
{
    uint32_t subsys;

    if (dev->vendor != RIG_PCI_VENDOR_REDHAT_QUMRANET) {
        *ret_match = FALSE;
        return TRUE;
    }
    if (dev->device == RIG_PCI_DEVICE_VIRTIO_NET_MODERN) {
        *ret_match = TRUE;
        return TRUE;
    }
    if (dev->device != RIG_PCI_DEVICE_VIRTIO_NET_LEGACY) {
        *ret_match = FALSE;
        return TRUE;
    }
    if (!rig_pci_config_read(dev, 2, PCI_SUBSYSTEM_ID, &subsys, error)) {
        return FALSE;
    }
    *ret_match = subsys == RIG_PCI_SUBSYS_VIRTIO_NET;
    return TRUE;
}

gboolean rig_pci_find_virtio_net(RigQtest *qtest, int devfn, RigPciDev *ret_dev,
                                 GError **error)
{
    g_autoptr(GString) seen = g_string_new(NULL);
    int first = devfn < 0 ? 0 : devfn;
    int last = devfn < 0 ? 255 : devfn;

    for (int fn = first; fn <= last; fn++) {
        RigPciDev dev = {.qtest = qtest, .devfn = (uint8_t)fn};
        uint32_t id;
        gboolean match;

        if (!rig_pci_config_read(&dev, 4, PCI_VENDOR_ID, &id, error)) {
            return FALSE;
        }
        if ((id & 0xffff) == 0xffff) {
            /* Skip the other functions of an absent slot. */
            if ((fn & 7) == 0 && devfn < 0) {
                fn += 7;
            }
            continue;
        }
        dev.vendor = id & 0xffff;
        dev.device = id >> 16;
        g_string_append_printf(seen, " %02x.%d=%04x:%04x", fn >> 3, fn & 7,
                               dev.vendor, dev.device);
        if (!is_virtio_net(&dev, &match, error)) {
            return FALSE;
        }
        if (match) {
            *ret_dev = dev;
            return TRUE;
        }
    }
    g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_NOT_FOUND,
                "no virtio-net PCI function (1af4:1041 or 1af4:1000) %s on "
                "bus 0; seen:%s",
                devfn < 0 ? "at any slot" : "at the requested slot",
                seen->len ? seen->str : " nothing");
    return FALSE;
}

static gboolean size_bar(RigPciDev *dev, int i, GError **error)
{
    uint8_t reg = PCI_BAR0 + 4 * i;
    RigPciBar *bar = &dev->bars[i];
    uint32_t orig;
    uint32_t lo;
    uint32_t hi = 0xffffffffu;

    if (!rig_pci_config_read(dev, 4, reg, &orig, error) ||
        !rig_pci_config_write(dev, 4, reg, 0xffffffffu, error) ||
        !rig_pci_config_read(dev, 4, reg, &lo, error)) {
        return FALSE;
    }
    bar->is_io = (orig & PCI_BAR_IO) != 0;
    bar->is_64bit =
        !bar->is_io && (orig & PCI_BAR_MEM_TYPE) == PCI_BAR_MEM_64 && i < 5;
    if (bar->is_64bit &&
        (!rig_pci_config_write(dev, 4, reg + 4, 0xffffffffu, error) ||
         !rig_pci_config_read(dev, 4, reg + 4, &hi, error))) {
        return FALSE;
    }
    if (bar->is_io) {
        lo &= ~3u;
        bar->size = lo ? (uint64_t)(~lo & 0xffffu) + 1 : 0;
    } else {
        uint64_t mask =
            ((uint64_t)(bar->is_64bit ? hi : 0xffffffffu) << 32) | (lo & ~0xfu);

        bar->size = (lo & ~0xfu) ? ~mask + 1 : 0;
    }
    return TRUE;
}

gboolean rig_pci_enable(RigPciDev *dev, uint64_t *mmio_next, uint32_t *io_next,
                        GError **error)
{
    uint64_t mmio = *mmio_next;
    uint32_t io = *io_next;
    uint32_t cmd;

    for (int i = 0; i < RIG_PCI_NUM_BARS; i++) {
        RigPciBar *bar = &dev->bars[i];
        uint8_t reg = PCI_BAR0 + 4 * i;

        if (!size_bar(dev, i, error)) {
            return FALSE;
        }
        if (bar->size == 0) {
            bar->addr = 0;
        } else if (bar->is_io) {
            uint32_t addr =
                (io + (uint32_t)bar->size - 1) & ~((uint32_t)bar->size - 1);

            if (addr + bar->size > RIG_PCI_IO_END) {
                g_set_error(
                    error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_NO_MEMORY,
                    "PCI %02x.%d BAR %d: no I/O space for %" G_GUINT64_FORMAT
                    " bytes",
                    dev->devfn >> 3, dev->devfn & 7, i, bar->size);
                return FALSE;
            }
            bar->addr = addr;
            io = addr + (uint32_t)bar->size;
            if (!rig_pci_config_write(dev, 4, reg, addr, error)) {
                return FALSE;
            }
        } else {
            uint64_t addr = (mmio + bar->size - 1) & ~(bar->size - 1);

            if (addr + bar->size > RIG_PCI_MMIO_END) {
                g_set_error(
                    error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_NO_MEMORY,
                    "PCI %02x.%d BAR %d: no MMIO space for %" G_GUINT64_FORMAT
                    " bytes",
                    dev->devfn >> 3, dev->devfn & 7, i, bar->size);
                return FALSE;
            }
            bar->addr = addr;
            mmio = addr + bar->size;
            if (!rig_pci_config_write(dev, 4, reg, (uint32_t)addr, error)) {
                return FALSE;
            }
            if (bar->is_64bit &&
                !rig_pci_config_write(dev, 4, reg + 4, (uint32_t)(addr >> 32),
                                      error)) {
                return FALSE;
            }
        }
        if (bar->is_64bit) {
            /* The next register is this BAR's upper half. */
            i++;
            dev->bars[i] = (RigPciBar){0};
        }
    }
    if (!rig_pci_config_read(dev, 2, PCI_COMMAND, &cmd, error) ||
        !rig_pci_config_write(dev, 2, PCI_COMMAND,
                              cmd | PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
                                  PCI_COMMAND_MASTER,
                              error)) {
        return FALSE;
    }
    *mmio_next = mmio;
    *io_next = io;
    return TRUE;
}
