#include "guest/profile.h"

#define NETKVM_FEATURES                                                        \
    (RIG_BIT(RIG_VIRTIO_F_VERSION_1) | RIG_BIT(RIG_VIRTIO_NET_F_MAC) |         \
     RIG_BIT(RIG_VIRTIO_NET_F_STATUS) | RIG_BIT(RIG_VIRTIO_NET_F_CTRL_VQ) |    \
     RIG_BIT(RIG_VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) |                           \
     RIG_BIT(RIG_VIRTIO_NET_F_GUEST_CSUM) |                                    \
     RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO4) |                                    \
     RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO6) |                                    \
     RIG_BIT(RIG_VIRTIO_NET_F_RSC_EXT_BIT))

/* Without these the control queue, and so the NetKVM sequence, is absent. */
#define BASE_REQUIRED                                                          \
    (RIG_BIT(RIG_VIRTIO_F_VERSION_1) | RIG_BIT(RIG_VIRTIO_NET_F_CTRL_VQ) |     \
     RIG_BIT(RIG_VIRTIO_NET_F_CTRL_GUEST_OFFLOADS))

#define OFFLOAD_CSUM RIG_BIT(RIG_VIRTIO_NET_F_GUEST_CSUM)
#define OFFLOAD_TSO4 RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO4)
#define OFFLOAD_TSO6 RIG_BIT(RIG_VIRTIO_NET_F_GUEST_TSO6)
#define OFFLOAD_RSC  RIG_BIT(RIG_VIRTIO_NET_F_RSC_EXT_BIT)

static const RigGuestProfile profiles[] = {
    {
        .name = "netkvm",
        .description = "what Windows NetKVM acks for RSC, then "
                       "GUEST_OFFLOADS_SET csum|tso4|tso6|rsc",
        .features = NETKVM_FEATURES,
        .required = BASE_REQUIRED | OFFLOAD_RSC | OFFLOAD_TSO4 | OFFLOAD_TSO6,
        .offloads = OFFLOAD_CSUM | OFFLOAD_TSO4 | OFFLOAD_TSO6 | OFFLOAD_RSC,
    },
    {
        .name = "no-rsc",
        .description = "NetKVM without RSC_EXT: every segment arrives alone",
        .features = NETKVM_FEATURES & ~OFFLOAD_RSC,
        .required = BASE_REQUIRED,
        .offloads = OFFLOAD_CSUM | OFFLOAD_TSO4 | OFFLOAD_TSO6,
    },
    {
        .name = "rsc-v4-only",
        .description = "RSC for IPv4 only (GUEST_TSO6 not acked)",
        .features = NETKVM_FEATURES & ~OFFLOAD_TSO6,
        .required = BASE_REQUIRED | OFFLOAD_RSC | OFFLOAD_TSO4,
        .offloads = OFFLOAD_CSUM | OFFLOAD_TSO4 | OFFLOAD_RSC,
    },
    {
        .name = "rsc-v6-only",
        .description = "RSC for IPv6 only (GUEST_TSO4 not acked)",
        .features = NETKVM_FEATURES & ~OFFLOAD_TSO4,
        .required = BASE_REQUIRED | OFFLOAD_RSC | OFFLOAD_TSO6,
        .offloads = OFFLOAD_CSUM | OFFLOAD_TSO6 | OFFLOAD_RSC,
    },
    {
        .name = "mrg-rxbuf",
        .description = "netkvm plus MRG_RXBUF: frames span small buffers",
        .features = NETKVM_FEATURES | RIG_BIT(RIG_VIRTIO_NET_F_MRG_RXBUF),
        .required = BASE_REQUIRED | OFFLOAD_RSC | OFFLOAD_TSO4 | OFFLOAD_TSO6 |
                    RIG_BIT(RIG_VIRTIO_NET_F_MRG_RXBUF),
        .offloads = OFFLOAD_CSUM | OFFLOAD_TSO4 | OFFLOAD_TSO6 | OFFLOAD_RSC,
    },
};

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
