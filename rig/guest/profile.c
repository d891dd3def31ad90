#include "guest/profile.h"

/*
 * What NetKVM's ParaNdis_InitializeContext() (NetKVM/Common/
 * ParaNdis_Common.cpp, virtio-win/kvm-guest-drivers-windows at fbcc19d7)
 * acks with its default settings, in its order: STATUS, CTRL_VQ,
 * GUEST_ANNOUNCE, MAC, CTRL_MAC_ADDR (InitializeMAC), MTU, [MRG_RXBUF],
 * EVENT_IDX, CSUM, GUEST_CSUM, CTRL_GUEST_OFFLOADS + RSC_EXT + GUEST_TSO4/6
 * (InitializeRSCState, *RscIPv4/6=1), HOST_TSO4/6 (*LsoV2IPv4/6=1),
 * HOST_USO (*UsoIPv4/6=1), INDIRECT_DESC, ANY_LAYOUT, VERSION_1, CTRL_RX,
 * CTRL_RX_EXTRA, CTRL_VLAN; SPEED_DUPLEX (InitializeLinkPropertiesConfig).
 * RIG_GUEST_NETKVM_NOT_MODELLED lists what it also acks and the rig does
 * not implement.
 */
#define NETKVM_COMMON                                                          \
    (RIG_BIT(RIG_VIRTIO_NET_F_STATUS) | RIG_BIT(RIG_VIRTIO_NET_F_CTRL_VQ) |    \
     RIG_BIT(RIG_VIRTIO_NET_F_GUEST_ANNOUNCE) |                                \
     RIG_BIT(RIG_VIRTIO_NET_F_MAC) | RIG_BIT(RIG_VIRTIO_NET_F_CTRL_MAC_ADDR) | \
     RIG_BIT(RIG_VIRTIO_NET_F_MTU) | RIG_BIT(RIG_VIRTIO_RING_F_EVENT_IDX) |    \
     RIG_BIT(RIG_VIRTIO_NET_F_CSUM) | RIG_BIT(RIG_VIRTIO_NET_F_GUEST_CSUM) |   \
     RIG_BIT(RIG_VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) |                           \
     RIG_BIT(RIG_VIRTIO_NET_F_RSC_EXT_BIT) |                                   \
     RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO4) |                                    \
     RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO6) |                                    \
     RIG_BIT(RIG_VIRTIO_NET_F_HOST_TSO4) |                                     \
     RIG_BIT(RIG_VIRTIO_NET_F_HOST_TSO6) |                                     \
     RIG_BIT(RIG_VIRTIO_NET_F_HOST_USO) |                                      \
     RIG_BIT(RIG_VIRTIO_RING_F_INDIRECT_DESC) |                                \
     RIG_BIT(RIG_VIRTIO_F_ANY_LAYOUT) | RIG_BIT(RIG_VIRTIO_F_VERSION_1) |      \
     RIG_BIT(RIG_VIRTIO_NET_F_CTRL_RX) |                                       \
     RIG_BIT(RIG_VIRTIO_NET_F_CTRL_RX_EXTRA) |                                 \
     RIG_BIT(RIG_VIRTIO_NET_F_CTRL_VLAN) |                                     \
     RIG_BIT(RIG_VIRTIO_NET_F_SPEED_DUPLEX))

#define MRG_RXBUF RIG_BIT(RIG_VIRTIO_NET_F_MRG_RXBUF)

/* Without these the control queue, and so the NetKVM sequence, is absent. */
#define BASE_REQUIRED                                                          \
    (RIG_BIT(RIG_VIRTIO_F_VERSION_1) | RIG_BIT(RIG_VIRTIO_NET_F_CTRL_VQ) |     \
     RIG_BIT(RIG_VIRTIO_NET_F_CTRL_GUEST_OFFLOADS))

#define OFFLOAD_CSUM RIG_BIT(RIG_VIRTIO_NET_F_GUEST_CSUM)
#define OFFLOAD_TSO4 RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO4)
#define OFFLOAD_TSO6 RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO6)
#define OFFLOAD_RSC  RIG_BIT(RIG_VIRTIO_NET_F_RSC_EXT_BIT)

#define RELEASED_SOURCE                                                        \
    "NetKVM/Common/ParaNdis_Common.cpp ParaNdis_InitializeContext before "     \
    "commit 1a562db4 (2026-04-30): MRG_RXBUF always acked, traditional "       \
    "buffers posted"

static const RigGuestProfile profiles[] = {
    {
        .name = "netkvm",
        .description = "the released virtio-win NetKVM drivers: ack "
                       "MRG_RXBUF but post 64 KiB buffers; offloads "
                       "csum|tso4|tso6|rsc on every D0 entry",
        .follows = RELEASED_SOURCE,
        .features = NETKVM_COMMON | MRG_RXBUF,
        .required = BASE_REQUIRED | OFFLOAD_RSC | OFFLOAD_TSO4 | OFFLOAD_TSO6,
        .buffers = RIG_GUEST_BUFFERS_BIG,
        .packet_filter = TRUE,
    },
    {
        .name = "netkvm-head",
        .description = "NetKVM's source head (MergeableBuffers=0, the "
                       "default): MRG_RXBUF not acked",
        .follows = "NetKVM/Common/ParaNdis_Common.cpp "
                   "ParaNdis_InitializeContext at fbcc19d7 (bUseMergedBuffers "
                   "= bMergeableBuffersConfigured && AckFeature(MRG_RXBUF))",
        .features = NETKVM_COMMON,
        .required = BASE_REQUIRED | OFFLOAD_RSC | OFFLOAD_TSO4 | OFFLOAD_TSO6,
        .buffers = RIG_GUEST_BUFFERS_BIG,
        .packet_filter = TRUE,
    },
    {
        .name = "no-rsc",
        .description = "netkvm without RSC_EXT (an older driver, or QEMU's "
                       "guest_rsc_ext=off): every segment arrives alone",
        .follows = RELEASED_SOURCE "; RSC_EXT not acked",
        .features = (NETKVM_COMMON | MRG_RXBUF) & ~OFFLOAD_RSC,
        .required = BASE_REQUIRED,
        .buffers = RIG_GUEST_BUFFERS_BIG,
        .packet_filter = TRUE,
    },
    {
        .name = "rsc-v4-only",
        .description = "netkvm with *RscIPv6=0: GUEST_TSO6 not acked",
        .follows = RELEASED_SOURCE "; InitializeRSCState with "
                                   "RSC.bIPv6SupportedSW false",
        .features = (NETKVM_COMMON | MRG_RXBUF) & ~OFFLOAD_TSO6,
        .required = BASE_REQUIRED | OFFLOAD_RSC | OFFLOAD_TSO4,
        .buffers = RIG_GUEST_BUFFERS_BIG,
        .packet_filter = TRUE,
    },
    {
        .name = "rsc-v6-only",
        .description = "netkvm with *RscIPv4=0: GUEST_TSO4 not acked",
        .follows = RELEASED_SOURCE "; InitializeRSCState with "
                                   "RSC.bIPv4SupportedSW false",
        .features = (NETKVM_COMMON | MRG_RXBUF) & ~OFFLOAD_TSO4,
        .required = BASE_REQUIRED | OFFLOAD_RSC | OFFLOAD_TSO6,
        .buffers = RIG_GUEST_BUFFERS_BIG,
        .packet_filter = TRUE,
    },
    {
        .name = "mrg-rxbuf",
        .description = "netkvm-head with MergeableBuffers=1: 4 KiB buffers, "
                       "frames span several",
        .follows = "NetKVM/Common/ParaNdis_RX.cpp "
                   "CreateMergeableRxDescriptorOnInit at fbcc19d7",
        .features = NETKVM_COMMON | MRG_RXBUF,
        .required = BASE_REQUIRED | OFFLOAD_RSC | OFFLOAD_TSO4 | OFFLOAD_TSO6 |
                    MRG_RXBUF,
        .buffers = RIG_GUEST_BUFFERS_SMALL,
        .packet_filter = TRUE,
    },
};

uint64_t rig_guest_profile_offloads(uint64_t acked, gboolean ipv4,
                                    gboolean ipv6)
{
    uint64_t mask = OFFLOAD_CSUM;

    /* RSC.bHasDynamicConfig needs GUEST_CSUM (InitializeRSCState). */
    if (!(acked & RIG_BIT(RIG_VIRTIO_NET_F_CTRL_GUEST_OFFLOADS)) ||
        !(acked & OFFLOAD_CSUM)) {
        return 0;
    }
    if (ipv4 && (acked & OFFLOAD_TSO4)) {
        mask |= OFFLOAD_TSO4;
    }
    if (ipv6 && (acked & OFFLOAD_TSO6)) {
        mask |= OFFLOAD_TSO6;
    }
    if (acked & OFFLOAD_RSC) {
        mask |= OFFLOAD_RSC;
    }
    return mask;
}

gboolean rig_guest_rsc_active(uint64_t acked, uint64_t offloads,
                              gboolean offloads_set, int family)
{
    uint64_t tso = family == 6 ? OFFLOAD_TSO6 : OFFLOAD_TSO4;

    if (!(acked & OFFLOAD_RSC) || !(acked & tso)) {
        return FALSE;
    }
    return !offloads_set || ((offloads & OFFLOAD_RSC) && (offloads & tso));
}

const RigGuestProfile *rig_guest_profile_lookup(const char *name)
{
    for (guint i = 0; i < G_N_ELEMENTS(profiles); i++) {
        if (g_strcmp0(profiles[i].name, name) == 0) {
            return &profiles[i];
        }
    }
    return NULL;
}

const RigGuestProfile *rig_guest_profile_all(guint *ret_n)
{
    *ret_n = G_N_ELEMENTS(profiles);
    return profiles;
}

char *rig_guest_profile_names(void)
{
    GString *s = g_string_new(NULL);

    for (guint i = 0; i < G_N_ELEMENTS(profiles); i++) {
        g_string_append_printf(s, "%s%s", i ? ", " : "", profiles[i].name);
    }
    return g_string_free(s, FALSE);
}

const char *rig_virtio_net_feature_name(unsigned bit)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        {0, "VIRTIO_NET_F_CSUM"},
        {1, "VIRTIO_NET_F_GUEST_CSUM"},
        {2, "VIRTIO_NET_F_CTRL_GUEST_OFFLOADS"},
        {3, "VIRTIO_NET_F_MTU"},
        {5, "VIRTIO_NET_F_MAC"},
        {7, "VIRTIO_NET_F_GUEST_TSO4"},
        {8, "VIRTIO_NET_F_GUEST_TSO6"},
        {9, "VIRTIO_NET_F_GUEST_ECN"},
        {10, "VIRTIO_NET_F_GUEST_UFO"},
        {11, "VIRTIO_NET_F_HOST_TSO4"},
        {12, "VIRTIO_NET_F_HOST_TSO6"},
        {13, "VIRTIO_NET_F_HOST_ECN"},
        {14, "VIRTIO_NET_F_HOST_UFO"},
        {15, "VIRTIO_NET_F_MRG_RXBUF"},
        {16, "VIRTIO_NET_F_STATUS"},
        {17, "VIRTIO_NET_F_CTRL_VQ"},
        {18, "VIRTIO_NET_F_CTRL_RX"},
        {19, "VIRTIO_NET_F_CTRL_VLAN"},
        {20, "VIRTIO_NET_F_CTRL_RX_EXTRA"},
        {21, "VIRTIO_NET_F_GUEST_ANNOUNCE"},
        {22, "VIRTIO_NET_F_MQ"},
        {23, "VIRTIO_NET_F_CTRL_MAC_ADDR"},
        {24, "VIRTIO_F_NOTIFY_ON_EMPTY"},
        {27, "VIRTIO_F_ANY_LAYOUT"},
        {28, "VIRTIO_RING_F_INDIRECT_DESC"},
        {29, "VIRTIO_RING_F_EVENT_IDX"},
        {32, "VIRTIO_F_VERSION_1"},
        {33, "VIRTIO_F_IOMMU_PLATFORM"},
        {34, "VIRTIO_F_RING_PACKED"},
        {36, "VIRTIO_F_ORDER_PLATFORM"},
        {40, "VIRTIO_F_RING_RESET"},
        {54, "VIRTIO_NET_F_GUEST_USO4"},
        {55, "VIRTIO_NET_F_GUEST_USO6"},
        {56, "VIRTIO_NET_F_HOST_USO"},
        {57, "VIRTIO_NET_F_HASH_REPORT"},
        {60, "VIRTIO_NET_F_RSS"},
        {61, "VIRTIO_NET_F_RSC_EXT"},
        {62, "VIRTIO_NET_F_STANDBY"},
        {63, "VIRTIO_NET_F_SPEED_DUPLEX"},
    };

    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        if (names[i].bit == bit) {
            return names[i].name;
        }
    }
    return NULL;
}
