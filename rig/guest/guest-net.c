#include "guest/guest-net.h"

#include <string.h>

#include "guest/guest-ctrl.h"
#include "guest/guest-error.h"
#include "guest/guest-ram.h"
#include "guest/virtio-pci.h"
#include "net/wire.h"

#define RX_QUEUE   0
#define TX_QUEUE   1
#define CTRL_QUEUE 2

/* NetKVM's RX buffers are page blocks (PrepareRXLayout, ParaNdis_Common). */
#define RX_PAGE_SIZE 4096
/* *PriorityVLANTag=3: SetAllVlanFilters adds ids 0..MAX_VLAN_ID. */
#define NETKVM_VLAN_IDS 4096

#define DEFAULT_TIMEOUT_MS 5000
/* Real-time mode: how often the clock thread catches up with the host. */
#define REALTIME_TICK_US 20

struct RigGuestNet {
    RigQtest *qtest; /* borrowed */
    RigGuestRam *ram;
    RigGuestNetConfig config;
    const RigGuestProfile *profile;
    RigVirtioPci vp;
    RigGuestMem mem;
    RigVirtq rxq;
    RigVirtq txq;
    RigVirtq ctrlq;
    RigGuestCtrl ctrl;
    uint64_t offered;
    uint64_t features;
    uint64_t offloads;
    gboolean offloads_set; /* a GUEST_OFFLOADS_SET was acked */
    /* NetKVM's RSC.bIPv4Enabled / bIPv6Enabled (OnSetRSCParameters). */
    gboolean rsc_ipv4;
    gboolean rsc_ipv6;
    guint64 d0_entries;
    guint64 resets;       /* rig_guest_net_reset() calls that succeeded */
    guint64 rx_reclaimed; /* posted buffers a reset took from the device */
    uint8_t mac[6];
    RigGuestRxMode rx_mode; /* the buffers posted */
    gboolean mrg_rxbuf;     /* num_buffers in the header */
    gboolean indirect;      /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
    guint timeout_ms;

    /* RX buffers: one per descriptor of the RX ring. */
    guint rx_count;
    uint32_t rx_buf_size;
    uint64_t *rx_addr;
    uint64_t *rx_table; /* its indirect table, with INDIRECT_DESC */
    guint rx_table_n;   /* entries per table (page blocks) */
    gboolean *rx_posted;
    guint64 *used_tokens; /* one harvest batch of used entries */
    uint32_t *used_lens;

    uint64_t tx_hdr;
    uint64_t tx_buf;
    uint64_t tx_table;

    /* Starvation: buffers harvested meanwhile stay unposted. */
    gboolean starving;
    guint starve_frames_left; /* 0: no frame limit */
    gint64 starve_until_us;   /* 0: no time limit */

    /* Virtual clock, written by the clock thread in real-time mode. */
    gint64 vclock;
    GThread *clock_thread;
    gint clock_stop;
    GMutex clock_lock;
    GError *clock_error;
    guint64 clock_steps;  /* real-time mode: steps taken */
    gint64 clock_max_lag; /* real-time mode: largest catch-up step (ns) */

    RigGuestCounters counters;
    GPtrArray *frames; /* RigGuestFrame * */
    GHashTable *flows; /* char * -> RigGuestFlowStats * */
};

const char *rig_guest_clock_mode_name(RigGuestClockMode mode)
{
    switch (mode) {
    case RIG_GUEST_CLOCK_DETERMINISTIC:
        return "deterministic";
    case RIG_GUEST_CLOCK_REALTIME:
        return "realtime";
    case RIG_GUEST_CLOCK_FREE:
        return "free";
    }
    return "unknown";
}

gboolean rig_guest_clock_mode_parse(const char *name,
                                    RigGuestClockMode *ret_mode)
{
    for (int m = RIG_GUEST_CLOCK_DETERMINISTIC; m <= RIG_GUEST_CLOCK_FREE;
         m++) {
        if (g_strcmp0(name, rig_guest_clock_mode_name(m)) == 0) {
            *ret_mode = m;
            return TRUE;
        }
    }
    return FALSE;
}

void rig_guest_net_config_init(RigGuestNetConfig *config)
{
    *config = (RigGuestNetConfig){
        .profile = "netkvm",
        .devfn = -1,
        .rx_buffers = G_MAXUINT,
        .clock = RIG_GUEST_CLOCK_DETERMINISTIC,
    };
}

static gint64 get_vclock(RigGuestNet *net)
{
    gint64 v;

    g_mutex_lock(&net->clock_lock);
    v = net->vclock;
    g_mutex_unlock(&net->clock_lock);
    return v;
}

static gboolean step_clock(RigGuestNet *net, gint64 ns, GError **error)
{
    gint64 now;

    if (!rig_qtest_clock_step(net->qtest, ns, &now, error)) {
        return FALSE;
    }
    g_mutex_lock(&net->clock_lock);
    net->vclock = now;
    g_mutex_unlock(&net->clock_lock);
    return TRUE;
}

static gpointer clock_thread_main(gpointer data)
{
    RigGuestNet *net = data;
    gint64 host_base = g_get_monotonic_time();
    gint64 v_base = get_vclock(net);

    while (!g_atomic_int_get(&net->clock_stop)) {
        gint64 target = v_base + (g_get_monotonic_time() - host_base) * 1000;
        gint64 delta = target - get_vclock(net);
        GError *error = NULL;

        if (delta > 0) {
            /* How far QEMU's clock trailed the host's: the fidelity. */
            g_mutex_lock(&net->clock_lock);
            net->clock_steps++;
            net->clock_max_lag = MAX(net->clock_max_lag, delta);
            g_mutex_unlock(&net->clock_lock);
        }
        if (delta > 0 && !step_clock(net, delta, &error)) {
            g_mutex_lock(&net->clock_lock);
            net->clock_error = error;
            g_mutex_unlock(&net->clock_lock);
            break;
        }
        g_usleep(REALTIME_TICK_US);
    }
    return NULL;
}

static gboolean check_clock_thread(RigGuestNet *net, GError **error)
{
    gboolean ok = TRUE;

    g_mutex_lock(&net->clock_lock);
    if (net->clock_error) {
        g_propagate_prefixed_error(error, g_steal_pointer(&net->clock_error),
                                   "real-time clock thread: ");
        ok = FALSE;
    }
    g_mutex_unlock(&net->clock_lock);
    return ok;
}

/* Sends @n commands; any VIRTIO_NET_ERR is an error naming the first. */
static gboolean ctrl_send(RigGuestNet *net, RigGuestCtrlCmd *cmds, guint n,
                          GError **error)
{
    gboolean ok = rig_guest_ctrl_run(&net->ctrl, cmds, n, error);

    net->counters.ctrl_commands = net->ctrl.commands;
    net->counters.ctrl_failed = net->ctrl.failed;
    if (!ok) {
        return FALSE;
    }
    for (guint i = 0; i < n; i++) {
        if (cmds[i].ack != RIG_VIRTIO_NET_OK) {
            g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_REFUSED,
                        "control command class %u cmd %u: device answered %u "
                        "(VIRTIO_NET_ERR) instead of VIRTIO_NET_OK",
                        cmds[i].cls, cmds[i].cmd, cmds[i].ack);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean ctrl_send1(RigGuestNet *net, uint8_t cls, uint8_t cmd,
                           const void *data, uint32_t len, GError **error)
{
    RigGuestCtrlCmd c = {
        .cls = cls,
        .cmd = cmd,
        .nparts = 1,
        .part = {data},
        .part_len = {len},
    };

    return ctrl_send(net, &c, 1, error);
}

gboolean rig_guest_net_set_offloads(RigGuestNet *net, uint64_t offloads,
                                    GError **error)
{
    g_autoptr(GError) local = NULL;
    uint8_t le[8];

    rig_le32_put(le, (uint32_t)offloads);
    rig_le32_put(le + 4, (uint32_t)(offloads >> 32));
    if (!ctrl_send1(net, RIG_VIRTIO_NET_CTRL_GUEST_OFFLOADS,
                    RIG_VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, le, sizeof(le),
                    &local)) {
        /* QEMU refuses offloads its backend cannot deliver: say so. */
        gboolean refused =
            g_error_matches(local, RIG_GUEST_ERROR, RIG_GUEST_ERROR_REFUSED);

        g_set_error(error, local->domain, local->code,
                    "GUEST_OFFLOADS_SET 0x%016" G_GINT64_MODIFIER "x: %s%s",
                    (guint64)offloads, local->message,
                    refused ? " (QEMU accepts only offloads the device "
                              "offered, on a tap backend with vnet_hdr=on)"
                            : "");
        return FALSE;
    }
    net->offloads = offloads;
    net->offloads_set = TRUE;
    return TRUE;
}

/* ParaNdis_DeviceConfigureRSC: the mask for the current RSC state. */
static gboolean configure_rsc(RigGuestNet *net, GError **error)
{
    uint64_t mask =
        rig_guest_profile_offloads(net->features, net->rsc_ipv4, net->rsc_ipv6);

    if (net->config.skip_offloads || mask == 0) {
        return TRUE;
    }
    return rig_guest_net_set_offloads(net, mask, error);
}

/* ParaNdis_UpdateMAC: CTRL_MAC_ADDR_SET with the current address. */
static gboolean update_mac(RigGuestNet *net, GError **error)
{
    if (!(net->features & RIG_BIT(RIG_VIRTIO_NET_F_CTRL_MAC_ADDR))) {
        return TRUE;
    }
    return ctrl_send1(net, RIG_VIRTIO_NET_CTRL_MAC,
                      RIG_VIRTIO_NET_CTRL_MAC_ADDR_SET, net->mac, 6, error);
}

gboolean rig_guest_net_enter_d0(RigGuestNet *net, GError **error)
{
    /* ParaNdis_DeviceEnterD0: ConfigureRSC, UpdateMAC, KickRX. */
    if (!configure_rsc(net, error) || !update_mac(net, error) ||
        !rig_virtq_kick(&net->rxq, error)) {
        g_prefix_error(error, "D0 entry: ");
        return FALSE;
    }
    net->d0_entries++;
    return TRUE;
}

gboolean rig_guest_net_set_rsc(RigGuestNet *net, int ipv4, int ipv6,
                               GError **error)
{
    /* OnSetRSCParameters: a family the driver never acked is refused. */
    if ((ipv4 >= 0 &&
         !(net->features & RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO4))) ||
        (ipv6 >= 0 &&
         !(net->features & RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO6)))) {
        g_set_error(
            error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
            "RSC for IPv%d was not negotiated (GUEST_TSO%d not "
            "acked): NDIS_STATUS_NOT_SUPPORTED",
            ipv4 >= 0 && !(net->features & RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO4))
                ? 4
                : 6,
            ipv4 >= 0 && !(net->features & RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO4))
                ? 4
                : 6);
        return FALSE;
    }
    if (!(net->features & RIG_BIT(RIG_VIRTIO_NET_F_CTRL_GUEST_OFFLOADS))) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "offloads can not change at run time: "
                    "CTRL_GUEST_OFFLOADS was not negotiated");
        return FALSE;
    }
    if (ipv4 >= 0) {
        net->rsc_ipv4 = ipv4 != 0;
    }
    if (ipv6 >= 0) {
        net->rsc_ipv6 = ipv6 != 0;
    }
    return configure_rsc(net, error);
}

gboolean rig_guest_net_rsc_active(RigGuestNet *net, int family)
{
    return rig_guest_rsc_active(net->features, net->offloads, net->offloads_set,
                                family);
}

/*
 * ParaNdis_UpdateDeviceFilters, as NDIS triggers it after initialisation
 * (OID_GEN_CURRENT_PACKET_FILTER = directed | multicast | broadcast): RX
 * mode (promiscuous and all-multicast off, so QEMU's receive_filter now
 * runs, after the RSC cache), the multicast table, then the VLAN filter
 * of *PriorityVLANTag=3 (every id added).  The multicast list is the one
 * a Windows guest with IPv4 and IPv6 joins at least: 224.0.0.1, ff02::1
 * and the solicited-node address of its link-local address.
 */
static gboolean set_packet_filter(RigGuestNet *net, GError **error)
{
    static const uint8_t zero = 0;
    uint8_t uc[4] = {0};
    uint8_t mc[4 + 3 * 6] = {3,    0,    0,    0,    0x01, 0x00, 0x5e,
                             0x00, 0x00, 0x01, 0x33, 0x33, 0x00, 0x00,
                             0x00, 0x01, 0x33, 0x33, 0xff};
    RigGuestCtrlCmd rx[6];
    guint n = 0;

    memcpy(mc + 4 + 2 * 6 + 3, net->mac + 3, 3);
    if (net->features & RIG_BIT(RIG_VIRTIO_NET_F_CTRL_RX)) {
        static const uint8_t rx_cmds[] = {
            RIG_VIRTIO_NET_CTRL_RX_PROMISC, RIG_VIRTIO_NET_CTRL_RX_ALLMULTI,
            RIG_VIRTIO_NET_CTRL_RX_NOMULTI, RIG_VIRTIO_NET_CTRL_RX_NOUNI,
            RIG_VIRTIO_NET_CTRL_RX_NOBCAST};
        guint count =
            (net->features & RIG_BIT(RIG_VIRTIO_NET_F_CTRL_RX_EXTRA)) ? 5 : 2;

        for (guint i = 0; i < count; i++) {
            rx[n++] = (RigGuestCtrlCmd){
                .cls = RIG_VIRTIO_NET_CTRL_RX,
                .cmd = rx_cmds[i],
                .nparts = 1,
                .part = {&zero},
                .part_len = {1},
            };
        }
        rx[n++] = (RigGuestCtrlCmd){
            .cls = RIG_VIRTIO_NET_CTRL_MAC,
            .cmd = RIG_VIRTIO_NET_CTRL_MAC_TABLE_SET,
            .nparts = 2,
            .part = {uc, mc},
            .part_len = {sizeof(uc), sizeof(mc)},
        };
        if (!ctrl_send(net, rx, n, error)) {
            return FALSE;
        }
    }
    if (net->features & RIG_BIT(RIG_VIRTIO_NET_F_CTRL_VLAN)) {
        g_autofree RigGuestCtrlCmd *vlan =
            g_new0(RigGuestCtrlCmd, NETKVM_VLAN_IDS);
        g_autofree uint8_t *ids = g_malloc(2 * NETKVM_VLAN_IDS);

        for (guint id = 0; id < NETKVM_VLAN_IDS; id++) {
            rig_le16_put(ids + 2 * id, (uint16_t)id);
            vlan[id] = (RigGuestCtrlCmd){
                .cls = RIG_VIRTIO_NET_CTRL_VLAN,
                .cmd = RIG_VIRTIO_NET_CTRL_VLAN_ADD,
                .nparts = 1,
                .part = {ids + 2 * id},
                .part_len = {2},
            };
        }
        if (!ctrl_send(net, vlan, NETKVM_VLAN_IDS, error)) {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean post_buffer(RigGuestNet *net, guint i, GError **error)
{
    RigVirtqBuf buf = {
        .addr = net->rx_addr[i],
        .len = net->rx_buf_size,
        .device_writes = TRUE,
    };

    /* NetKVM's AddRxBufferToQueue: one indirect descriptor per buffer. */
    if (net->rx_table ? !rig_virtq_add_indirect(&net->rxq, net->rx_table[i],
                                                net->rx_table_n, i, error)
                      : !rig_virtq_add(&net->rxq, &buf, 1, i, error)) {
        return FALSE;
    }
    net->rx_posted[i] = TRUE;
    net->counters.buffers_posted++;
    return TRUE;
}

/* Makes up to @count free buffers available, without a kick. */
static gboolean post_free(RigGuestNet *net, guint count, guint *ret_posted,
                          GError **error)
{
    guint posted = 0;

    for (guint i = 0; i < net->rx_count && posted < count; i++) {
        if (net->rx_posted[i]) {
            continue;
        }
        if (!post_buffer(net, i, error)) {
            return FALSE;
        }
        posted++;
    }
    *ret_posted = posted;
    return TRUE;
}

gboolean rig_guest_net_post_rx(RigGuestNet *net, guint count, guint *ret_posted,
                               GError **error)
{
    guint posted = 0;

    net->starving = FALSE;
    if (!post_free(net, count, &posted, error)) {
        return FALSE;
    }
    if (posted > 0 && !rig_virtq_kick(&net->rxq, error)) {
        return FALSE;
    }
    if (ret_posted) {
        *ret_posted = posted;
    }
    return TRUE;
}

void rig_guest_net_starve(RigGuestNet *net, guint frames, guint64 duration_us)
{
    net->starving = TRUE;
    net->starve_frames_left = frames;
    net->starve_until_us =
        duration_us ? g_get_monotonic_time() + (gint64)duration_us : 0;
}

/* Guest RAM for the RX buffers (and their indirect tables). */
static gboolean alloc_rx(RigGuestNet *net, GError **error)
{
    net->rx_count = net->rxq.layout.size;
    net->rx_addr = g_new0(uint64_t, net->rx_count);
    net->rx_posted = g_new0(gboolean, net->rx_count);
    net->used_tokens = g_new0(guint64, net->rx_count);
    net->used_lens = g_new0(uint32_t, net->rx_count);
    net->rx_table_n = (net->rx_buf_size + RX_PAGE_SIZE - 1) / RX_PAGE_SIZE;
    if (net->indirect && net->rx_table_n > 1) {
        net->rx_table = g_new0(uint64_t, net->rx_count);
    }
    for (guint i = 0; i < net->rx_count; i++) {
        if (rig_guest_mem_alloc(&net->mem, net->rx_buf_size, RX_PAGE_SIZE,
                                &net->rx_addr[i]) < 0 ||
            (net->rx_table &&
             rig_guest_mem_alloc(&net->mem,
                                 RIG_VRING_DESC_SIZE * net->rx_table_n, 16,
                                 &net->rx_table[i]) < 0)) {
            g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_NO_MEMORY,
                        "guest RAM of %" G_GUINT64_FORMAT " MiB holds only %u "
                        "RX buffers of %u bytes; start QEMU with more -m or "
                        "a smaller rx queue",
                        net->config.ram_size >> 20, i, net->rx_buf_size);
            return FALSE;
        }
    }
    if (net->rx_table) {
        g_autofree RigVirtqBuf *pages = g_new0(RigVirtqBuf, net->rx_table_n);

        /* The page blocks of one buffer; written once, reposted as is. */
        for (guint i = 0; i < net->rx_count; i++) {
            for (guint k = 0; k < net->rx_table_n; k++) {
                pages[k] = (RigVirtqBuf){
                    .addr = net->rx_addr[i] + (uint64_t)k * RX_PAGE_SIZE,
                    .len =
                        MIN(RX_PAGE_SIZE, net->rx_buf_size - k * RX_PAGE_SIZE),
                    .device_writes = TRUE,
                };
            }
            if (!rig_virtq_write_indirect(&net->rxq, net->rx_table[i], pages,
                                          net->rx_table_n, error)) {
                return FALSE;
            }
        }
    }
    return TRUE;
}

/*
 * Device initialisation (virtio spec 3.1.1) from reset to DRIVER_OK, D0
 * and the packet filter: at start and again after rig_guest_net_reset().
 * Guest RAM is laid out from scratch: the device forgot the old rings.
 */
static gboolean init_device(RigGuestNet *net, GError **error)
{
    uint64_t required = net->profile->required;
    gboolean event_idx;
    guint posted;

    rig_guest_mem_init(&net->mem, RIG_GUEST_RAM_START, net->config.ram_size);
    if (!rig_virtio_pci_reset(&net->vp, net->timeout_ms, error) ||
        !rig_virtio_pci_negotiate(&net->vp, net->profile->features, required,
                                  &net->offered, &net->features, error)) {
        return FALSE;
    }
    net->mrg_rxbuf = (net->features & RIG_BIT(RIG_VIRTIO_NET_F_MRG_RXBUF)) != 0;
    net->rx_mode =
        net->mrg_rxbuf && net->profile->buffers == RIG_GUEST_BUFFERS_SMALL
            ? RIG_GUEST_RX_MERGEABLE
            : RIG_GUEST_RX_BIG;
    net->indirect =
        (net->features & RIG_BIT(RIG_VIRTIO_RING_F_INDIRECT_DESC)) != 0;
    event_idx = (net->features & RIG_BIT(RIG_VIRTIO_RING_F_EVENT_IDX)) != 0;
    /* InitializeRSCState: a family is enabled when its TSO bit was acked. */
    net->rsc_ipv4 = (net->features & RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO4)) != 0;
    net->rsc_ipv6 = (net->features & RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO6)) != 0;
    /* 256: QEMU's default ring; a bigger one costs RAM and start time. */
    if (!rig_virtq_setup(&net->rxq, &net->vp, RX_QUEUE,
                         net->config.rx_queue_size ? net->config.rx_queue_size
                                                   : 256,
                         &net->mem, net->ram, event_idx, error) ||
        !rig_virtq_setup(&net->txq, &net->vp, TX_QUEUE, 0, &net->mem, net->ram,
                         event_idx, error) ||
        !rig_virtq_setup(&net->ctrlq, &net->vp, CTRL_QUEUE, 0, &net->mem,
                         net->ram, event_idx, error)) {
        return FALSE;
    }

    net->rx_buf_size =
        net->rx_mode == RIG_GUEST_RX_MERGEABLE
            ? (net->config.mrg_buf_size ? net->config.mrg_buf_size
                                        : RIG_GUEST_DEFAULT_MRG_SIZE)
            : RIG_GUEST_BIG_BUF_SIZE;
    if (!alloc_rx(net, error)) {
        return FALSE;
    }
    if (rig_guest_mem_alloc(&net->mem, RIG_GUEST_BIG_BUF_SIZE, 64,
                            &net->tx_buf) < 0 ||
        rig_guest_mem_alloc(&net->mem, 64, 64, &net->tx_hdr) < 0 ||
        rig_guest_mem_alloc(&net->mem, 2 * RIG_VRING_DESC_SIZE, 16,
                            &net->tx_table) < 0 ||
        rig_guest_mem_alloc(&net->mem,
                            RIG_GUEST_CTRL_SLOTS * RIG_GUEST_CTRL_SLOT_SIZE, 64,
                            &net->ctrl.base) < 0) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_NO_MEMORY,
                    "no guest RAM left for the TX and control buffers");
        return FALSE;
    }
    net->ctrl.vq = &net->ctrlq;
    net->ctrl.ram = net->ram;
    net->ctrl.timeout_ms = net->timeout_ms;

    if ((net->features & RIG_BIT(RIG_VIRTIO_NET_F_MAC)) &&
        !rig_virtio_pci_config_read(&net->vp, 0, net->mac, 6, error)) {
        return FALSE;
    }
    /*
     * NetKVM's order: RX buffers go into the ring while the queues are set
     * up (ParaNdis_VirtIONetInit), then ParaNdis_DeviceEnterD0: DRIVER_OK,
     * the offloads through the control queue, the MAC, the RX kick.
     */
    if (!post_free(net, net->config.rx_buffers, &posted, error) ||
        !rig_virtio_pci_add_status(&net->vp, RIG_VIRTIO_STATUS_DRIVER_OK,
                                   error) ||
        !rig_guest_net_enter_d0(net, error)) {
        return FALSE;
    }
    return !net->profile->packet_filter || set_packet_filter(net, error);
}

static gboolean setup(RigGuestNet *net, GError **error)
{
    uint64_t mmio = RIG_PCI_MMIO_BASE;

    return rig_virtio_pci_open(net->qtest, net->config.devfn, &mmio, &net->vp,
                               error) &&
           init_device(net, error);
}

/* The host-side state of the rings and RX buffers of the last init. */
static void clear_queues(RigGuestNet *net)
{
    rig_virtq_clear(&net->rxq);
    rig_virtq_clear(&net->txq);
    rig_virtq_clear(&net->ctrlq);
    g_clear_pointer(&net->rx_addr, g_free);
    g_clear_pointer(&net->rx_table, g_free);
    g_clear_pointer(&net->rx_posted, g_free);
    g_clear_pointer(&net->used_tokens, g_free);
    g_clear_pointer(&net->used_lens, g_free);
}

gboolean rig_guest_net_reset(RigGuestNet *net, GError **error)
{
    /* Buffers the device still held are gone with its rings. */
    for (guint i = 0; i < net->rx_count; i++) {
        net->rx_reclaimed += net->rx_posted[i] ? 1 : 0;
    }
    clear_queues(net);
    net->rx_count = 0;
    net->offloads = 0;
    net->offloads_set = FALSE;
    net->starving = FALSE;
    if (!init_device(net, error)) {
        g_prefix_error(error, "re-initialisation after reset: ");
        return FALSE;
    }
    net->resets++;
    return TRUE;
}

guint64 rig_guest_net_get_resets(RigGuestNet *net)
{
    return net->resets;
}

RigGuestNet *rig_guest_net_new(RigQtest *qtest, const RigGuestNetConfig *config,
                               GError **error)
{
    g_autoptr(RigGuestNet) net = g_new0(RigGuestNet, 1);
    const char *name = config->profile ? config->profile : "netkvm";

    net->qtest = qtest;
    net->config = *config;
    net->ram = rig_guest_ram_new(qtest, config->ram_map, config->ram_map_size);
    net->vclock = -1;
    g_mutex_init(&net->clock_lock);
    net->frames =
        g_ptr_array_new_with_free_func((GDestroyNotify)rig_guest_frame_free);
    net->flows = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    net->timeout_ms =
        config->timeout_ms ? config->timeout_ms : DEFAULT_TIMEOUT_MS;
    if (!net->config.ram_size) {
        net->config.ram_size = RIG_GUEST_DEFAULT_RAM;
    }
    net->profile = rig_guest_profile_lookup(name);
    if (!net->profile) {
        g_autofree char *names = rig_guest_profile_names();

        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "unknown profile '%s' (known: %s)", name, names);
        return NULL;
    }
    net->config.profile = net->profile->name;
    if (config->clock != RIG_GUEST_CLOCK_FREE) {
        /* Learn the virtual time (1 ns step); fails without -accel qtest. */
        if (!step_clock(net, 1, error)) {
            g_prefix_error(error,
                           "clock mode %s needs QEMU with -accel qtest "
                           "(else use clock mode free): ",
                           rig_guest_clock_mode_name(config->clock));
            return NULL;
        }
    }
    if (!setup(net, error)) {
        return NULL;
    }
    if (config->clock == RIG_GUEST_CLOCK_REALTIME) {
        net->clock_thread =
            g_thread_new("rig-guest-clock", clock_thread_main, net);
    }
    return g_steal_pointer(&net);
}

void rig_guest_net_free(RigGuestNet *net)
{
    if (!net) {
        return;
    }
    if (net->clock_thread) {
        g_atomic_int_set(&net->clock_stop, 1);
        g_thread_join(net->clock_thread);
    }
    g_clear_error(&net->clock_error);
    g_clear_pointer(&net->ram, rig_guest_ram_free);
    clear_queues(net);
    g_ptr_array_unref(net->frames);
    g_hash_table_unref(net->flows);
    g_mutex_clear(&net->clock_lock);
    g_free(net);
}

uint64_t rig_guest_net_get_features(RigGuestNet *net)
{
    return net->features;
}

uint64_t rig_guest_net_get_offered(RigGuestNet *net)
{
    return net->offered;
}

guint rig_guest_net_get_rx_count(RigGuestNet *net)
{
    return net->rx_count;
}

void rig_guest_net_get_mac(RigGuestNet *net, uint8_t ret_mac[6])
{
    memcpy(ret_mac, net->mac, 6);
}

uint64_t rig_guest_net_get_offloads(RigGuestNet *net)
{
    return net->offloads;
}

gint64 rig_guest_net_get_vclock(RigGuestNet *net)
{
    return get_vclock(net);
}

GPtrArray *rig_guest_net_get_frames(RigGuestNet *net)
{
    return net->frames;
}

const RigGuestCounters *rig_guest_net_get_counters(RigGuestNet *net)
{
    return &net->counters;
}

guint64 rig_guest_net_free_rx_buffers(RigGuestNet *net)
{
    gboolean mrg = (rig_guest_net_get_features(net) &
                    RIG_BIT(RIG_VIRTIO_NET_F_MRG_RXBUF)) != 0;
    GPtrArray *frames = rig_guest_net_get_frames(net);
    guint64 used = 0;

    for (guint i = 0; i < frames->len; i++) {
        const RigGuestFrame *f = g_ptr_array_index(frames, i);

        used += mrg ? MAX(f->num_buffers, 1) : 1;
    }
    used += net->rx_reclaimed;
    return net->counters.buffers_posted > used
               ? net->counters.buffers_posted - used
               : 0;
}

gboolean rig_guest_net_clock_step(RigGuestNet *net, gint64 ns, GError **error)
{
    if (net->config.clock != RIG_GUEST_CLOCK_DETERMINISTIC) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "clock_step is for the deterministic clock mode; this "
                    "guest runs in %s mode",
                    rig_guest_clock_mode_name(net->config.clock));
        return FALSE;
    }
    return step_clock(net, ns, error);
}

/* Hands a harvested buffer back to the device, unless starving. */
static gboolean recycle(RigGuestNet *net, guint i, gboolean *kick,
                        GError **error)
{
    net->rx_posted[i] = FALSE;
    if (net->starving) {
        net->counters.starved_buffers++;
        return TRUE;
    }
    *kick = TRUE;
    return post_buffer(net, i, error);
}

static gboolean check_rx_entry(RigGuestNet *net, guint64 token, uint32_t len,
                               GError **error)
{
    if (token >= net->rx_count || len > net->rx_buf_size) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_DEVICE,
                    "RX used entry: buffer %" G_GUINT64_FORMAT
                    " length %u exceeds the %u bytes posted",
                    token, len, net->rx_buf_size);
        return FALSE;
    }
    return TRUE;
}

/*
 * Reads the frame that starts at used entry @i of the batch (one buffer,
 * or with MRG_RXBUF num_buffers of them) into @data.
 */
static gboolean read_frame(RigGuestNet *net, guint *i, guint n,
                           GByteArray *data, gboolean *kick,
                           gboolean *ret_dropped, GError **error)
{
    guint64 buf = net->used_tokens[*i];
    uint32_t len = net->used_lens[*i];
    guint nbuf = 1;

    if (!check_rx_entry(net, buf, len, error)) {
        return FALSE;
    }
    if (len < RIG_VIRTIO_NET_HDR_V1_LEN) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_DEVICE,
                    "RX buffer %" G_GUINT64_FORMAT ": device wrote %u bytes, "
                    "less than the 12-byte virtio-net header",
                    buf, len);
        return FALSE;
    }
    g_byte_array_set_size(data, len);
    if (!rig_guest_ram_read(net->ram, net->rx_addr[buf], data->data, len,
                            error) ||
        !recycle(net, (guint)buf, kick, error)) {
        return FALSE;
    }
    if (net->mrg_rxbuf) {
        nbuf = rig_le16_get(data->data + 10);
        if (nbuf == 0 || nbuf > n - *i) {
            g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_DEVICE,
                        "RX mergeable frame announces %u buffers, %u were "
                        "used",
                        nbuf, n - *i);
            return FALSE;
        }
    }
    for (guint k = 1; k < nbuf; k++) {
        guint old = data->len;

        buf = net->used_tokens[*i + k];
        len = net->used_lens[*i + k];
        if (!check_rx_entry(net, buf, len, error)) {
            return FALSE;
        }
        g_byte_array_set_size(data, old + len);
        if ((len > 0 && !rig_guest_ram_read(net->ram, net->rx_addr[buf],
                                            data->data + old, len, error)) ||
            !recycle(net, (guint)buf, kick, error)) {
            return FALSE;
        }
    }
    *i += nbuf;
    /*
     * Traditional buffers with MRG_RXBUF acked (the released drivers):
     * NetKVM drains a multi-buffer frame and drops it (commit 1a562db4's
     * message).  The rig still records what the device delivered.
     */
    *ret_dropped = nbuf > 1 && net->rx_mode == RIG_GUEST_RX_BIG;
    return TRUE;
}

static void record_frame(RigGuestNet *net, GByteArray *data,
                         gboolean netkvm_drops)
{
    RigGuestFrame *f = g_new0(RigGuestFrame, 1);

    rig_guest_frame_decode(data->data, data->len, f);
    if (netkvm_drops) {
        f->netkvm_kind = RIG_GUEST_NETKVM_SINGLE;
        f->netkvm_segments = 0;
        net->counters.netkvm.dropped_multi_buf++;
    }
    f->index = net->frames->len;
    f->host_ns = g_get_monotonic_time() * 1000;
    f->vclock_ns = get_vclock(net);
    if (net->config.keep_data) {
        f->data = g_bytes_new(data->data, data->len);
    }
    rig_guest_counters_add(&net->counters, f);
    rig_guest_flow_account(net->flows, f);
    g_ptr_array_add(net->frames, f);
}

static gboolean end_starvation_if_due(RigGuestNet *net, GError **error)
{
    gboolean due;

    if (!net->starving) {
        return TRUE;
    }
    due = net->starve_until_us != 0 &&
          g_get_monotonic_time() >= net->starve_until_us;
    if (!due) {
        return TRUE;
    }
    return rig_guest_net_post_rx(net, G_MAXUINT, NULL, error);
}

gboolean rig_guest_net_receive(RigGuestNet *net, guint want, guint timeout_ms,
                               guint *ret_received, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    g_autoptr(GByteArray) data = g_byte_array_new();
    guint got = 0;

    for (;;) {
        gboolean kick = FALSE;
        guint n;

        if (!check_clock_thread(net, error) ||
            !end_starvation_if_due(net, error) ||
            !rig_virtq_pop_many(&net->rxq, net->rx_count, net->used_tokens,
                                net->used_lens, &n, error)) {
            return FALSE;
        }
        for (guint i = 0; i < n;) {
            gboolean dropped = FALSE;

            if (!read_frame(net, &i, n, data, &kick, &dropped, error)) {
                return FALSE;
            }
            record_frame(net, data, dropped);
            got++;
            if (net->starving && net->starve_frames_left > 0 &&
                --net->starve_frames_left == 0) {
                kick = FALSE;
                if (!rig_guest_net_post_rx(net, G_MAXUINT, NULL, error)) {
                    return FALSE;
                }
            }
        }
        if (kick && !rig_virtq_kick(&net->rxq, error)) {
            return FALSE;
        }
        if (got >= want || g_get_monotonic_time() >= deadline) {
            break;
        }
        /* Shared memory alone would not show that QEMU went away. */
        if (n == 0 && !rig_qtest_check_alive(net->qtest, error)) {
            return FALSE;
        }
        g_usleep(50);
    }
    if (ret_received) {
        *ret_received = got;
    }
    return TRUE;
}

gboolean rig_guest_net_send(RigGuestNet *net, const uint8_t *frame, size_t len,
                            GError **error)
{
    static const uint8_t hdr[RIG_VIRTIO_NET_HDR_V1_LEN] = {0};
    RigVirtqBuf bufs[2];
    guint64 token;
    uint32_t written;

    if (len < RIG_ETH_HLEN ||
        len + RIG_VIRTIO_NET_HDR_V1_LEN > RIG_GUEST_BIG_BUF_SIZE) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "TX frame of %zu bytes: must be 14..%u", len,
                    RIG_GUEST_BIG_BUF_SIZE - RIG_VIRTIO_NET_HDR_V1_LEN);
        return FALSE;
    }
    /* NetKVM's TX: the header block, then the data (indirect if acked). */
    bufs[0] = (RigVirtqBuf){.addr = net->tx_hdr, .len = sizeof(hdr)};
    bufs[1] = (RigVirtqBuf){.addr = net->tx_buf, .len = (uint32_t)len};
    if (!rig_guest_ram_write(net->ram, net->tx_hdr, hdr, sizeof(hdr), error) ||
        !rig_guest_ram_write(net->ram, net->tx_buf, frame, len, error) ||
        (net->indirect ? !rig_virtq_write_indirect(&net->txq, net->tx_table,
                                                   bufs, 2, error) ||
                             !rig_virtq_add_indirect(&net->txq, net->tx_table,
                                                     2, 0, error)
                       : !rig_virtq_add(&net->txq, bufs, 2, 0, error)) ||
        !rig_virtq_kick(&net->txq, error) ||
        !rig_virtq_wait_used(&net->txq, net->timeout_ms, &token, &written,
                             error)) {
        g_prefix_error(error, "TX of %zu bytes: ", len);
        return FALSE;
    }
    net->counters.tx_frames++;
    return TRUE;
}

static void add_features(JsonBuilder *b, const char *name, uint64_t features)
{
    g_autofree char *hex =
        g_strdup_printf("0x%016" G_GINT64_MODIFIER "x", (guint64)features);

    json_builder_set_member_name(b, name);
    json_builder_add_string_value(b, hex);
    g_autofree char *names_key = g_strdup_printf("%s_names", name);

    json_builder_set_member_name(b, names_key);
    json_builder_begin_array(b);
    for (unsigned bit = 0; bit < 64; bit++) {
        const char *n = rig_virtio_net_feature_name(bit);

        if (!(features & RIG_BIT(bit))) {
            continue;
        }
        if (n) {
            json_builder_add_string_value(b, n);
        } else {
            g_autofree char *unnamed = g_strdup_printf("bit%u", bit);

            json_builder_add_string_value(b, unnamed);
        }
    }
    json_builder_end_array(b);
}

JsonNode *rig_guest_net_stats_to_json(RigGuestNet *net, gboolean with_frames)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autofree char *mac = g_strdup_printf(
        "%02x:%02x:%02x:%02x:%02x:%02x", net->mac[0], net->mac[1], net->mac[2],
        net->mac[3], net->mac[4], net->mac[5]);

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "clock_mode");
    json_builder_add_string_value(b,
                                  rig_guest_clock_mode_name(net->config.clock));
    json_builder_set_member_name(b, "vclock_ns");
    json_builder_add_int_value(b, get_vclock(net));
    if (net->config.clock == RIG_GUEST_CLOCK_REALTIME) {
        g_mutex_lock(&net->clock_lock);
        json_builder_set_member_name(b, "clock_steps");
        json_builder_add_int_value(b, (gint64)net->clock_steps);
        json_builder_set_member_name(b, "clock_max_lag_ns");
        json_builder_add_int_value(b, net->clock_max_lag);
        g_mutex_unlock(&net->clock_lock);
    }
    json_builder_set_member_name(b, "profile");
    json_builder_add_string_value(b, net->profile->name);
    json_builder_set_member_name(b, "follows");
    json_builder_add_string_value(b, net->profile->follows);
    json_builder_set_member_name(b, "ram_access");
    json_builder_add_string_value(b, rig_guest_ram_path_name(net->ram));
    add_features(b, "offered", net->offered);
    add_features(b, "features", net->features);
    add_features(b, "not_modelled",
                 net->offered & RIG_GUEST_NETKVM_NOT_MODELLED);
    add_features(b, "offloads", net->offloads);
    json_builder_set_member_name(b, "rsc_active");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "ipv4");
    json_builder_add_boolean_value(b, rig_guest_net_rsc_active(net, 4));
    json_builder_set_member_name(b, "ipv6");
    json_builder_add_boolean_value(b, rig_guest_net_rsc_active(net, 6));
    json_builder_end_object(b);
    json_builder_set_member_name(b, "d0_entries");
    json_builder_add_int_value(b, (gint64)net->d0_entries);
    json_builder_set_member_name(b, "mrg_rxbuf");
    json_builder_add_boolean_value(b, net->mrg_rxbuf);
    json_builder_set_member_name(b, "mac");
    json_builder_add_string_value(b, mac);
    json_builder_set_member_name(b, "rx_mode");
    json_builder_add_string_value(
        b, net->rx_mode == RIG_GUEST_RX_MERGEABLE ? "mergeable" : "big");
    json_builder_set_member_name(b, "rx_buffer_size");
    json_builder_add_int_value(b, net->rx_buf_size);
    json_builder_set_member_name(b, "rx_buffers");
    json_builder_add_int_value(b, net->rx_count);
    json_builder_set_member_name(b, "rx_ring");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "size");
    json_builder_add_int_value(b, net->rxq.layout.size);
    json_builder_set_member_name(b, "desc");
    json_builder_add_int_value(b, (gint64)net->rxq.layout.desc);
    json_builder_set_member_name(b, "avail");
    json_builder_add_int_value(b, (gint64)net->rxq.layout.avail);
    json_builder_set_member_name(b, "used");
    json_builder_add_int_value(b, (gint64)net->rxq.layout.used);
    json_builder_set_member_name(b, "indirect");
    json_builder_add_boolean_value(b, net->rx_table != NULL);
    json_builder_set_member_name(b, "event_idx");
    json_builder_add_boolean_value(b, net->rxq.event_idx);
    json_builder_set_member_name(b, "notifies");
    json_builder_add_int_value(b, (gint64)net->rxq.notifies);
    json_builder_set_member_name(b, "notifies_suppressed");
    json_builder_add_int_value(b, (gint64)net->rxq.notifies_suppressed);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "resets");
    json_builder_add_int_value(b, (gint64)net->resets);
    json_builder_set_member_name(b, "starving");
    json_builder_add_boolean_value(b, net->starving);
    json_builder_set_member_name(b, "counters");
    json_builder_add_value(
        b, rig_guest_counters_to_json(&net->counters, net->flows));
    json_builder_set_member_name(b, "netkvm");
    json_builder_add_value(
        b, rig_guest_netkvm_counters_to_json(&net->counters.netkvm));
    if (with_frames) {
        json_builder_set_member_name(b, "frames");
        json_builder_begin_array(b);
        for (guint i = 0; i < net->frames->len; i++) {
            json_builder_add_value(
                b, rig_guest_frame_to_json(net->frames->pdata[i], TRUE));
        }
        json_builder_end_array(b);
    }
    json_builder_end_object(b);
    return json_builder_get_root(b);
}
