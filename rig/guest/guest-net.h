/*
 * The reference virtio-net guest: a driver that negotiates and configures
 * the device like Windows NetKVM (profile.h names the NetKVM source each
 * profile follows), receives into guest RAM it manages itself, and
 * records every frame the device delivers, beside the counters NetKVM
 * itself would report.  Registers, notifications and the clock go over
 * qtest: with `-accel qtest` no vCPU exists and the guest owns the virtual
 * clock (which drives QEMU's RSC drain timer).  Guest RAM is reached
 * either through a shared mapping (fast) or over qtest (guest-ram.h).
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdint.h>

#include "guest/profile.h"
#include "guest/qtest.h"
#include "guest/rx-frame.h"

typedef enum {
    /* The caller steps the virtual clock (rig_guest_net_clock_step()). */
    RIG_GUEST_CLOCK_DETERMINISTIC,
    /* A thread steps the virtual clock to follow CLOCK_MONOTONIC. */
    RIG_GUEST_CLOCK_REALTIME,
    /* QEMU's clocks run on their own (no -accel qtest: halt firmware). */
    RIG_GUEST_CLOCK_FREE,
} RigGuestClockMode;

typedef enum {
    /* One 64 KiB + header buffer per chain (GUEST_TSO big packets). */
    RIG_GUEST_RX_BIG,
    /* MRG_RXBUF with small buffers: a frame spans num_buffers of them. */
    RIG_GUEST_RX_MERGEABLE,
} RigGuestRxMode;

#define RIG_GUEST_BIG_BUF_SIZE     (65536 + 128)
#define RIG_GUEST_DEFAULT_MRG_SIZE 4096
#define RIG_GUEST_DEFAULT_RAM      (128u * 1024 * 1024)
#define RIG_GUEST_RAM_START        (1u * 1024 * 1024)

typedef struct {
    const char *profile;    /* NULL: "netkvm" */
    int devfn;              /* -1: first virtio-net function */
    unsigned rx_queue_size; /* 0: device default */
    unsigned rx_buffers;    /* buffers posted at start; G_MAXUINT: fill */
    unsigned mrg_buf_size;  /* mergeable buffer size; 0: default */
    uint64_t ram_size;      /* guest RAM (-m); 0: RIG_GUEST_DEFAULT_RAM */
    RigGuestClockMode clock;
    gboolean keep_data;     /* keep frame bytes in the records */
    gboolean skip_offloads; /* do not send CTRL_GUEST_OFFLOADS_SET */
    guint timeout_ms;       /* device acks, used ring; 0: 5000 */
    void *ram_map;          /* guest RAM mapped here (rig_vm_get_shared_ram);
                             * NULL: reach it over qtest */
    uint64_t ram_map_size;
} RigGuestNetConfig;

typedef struct RigGuestNet RigGuestNet;

/**
 * rig_guest_clock_mode_name:
 * Returns: (transfer none): "deterministic", "realtime" or "free".
 */
const char *rig_guest_clock_mode_name(RigGuestClockMode mode);

/**
 * rig_guest_clock_mode_parse:
 * @name: a mode name
 * @ret_mode: (out): set only on success
 *
 * Returns: TRUE when @name is a mode.
 */
gboolean rig_guest_clock_mode_parse(const char *name,
                                    RigGuestClockMode *ret_mode);

/**
 * rig_guest_net_config_init:
 * @config: (out caller-allocates): filled with defaults (netkvm, fill the
 *   RX ring, deterministic clock)
 */
void rig_guest_net_config_init(RigGuestNetConfig *config);

/**
 * rig_guest_net_new:
 * @qtest: connected client (borrowed: must outlive the guest)
 * @config: what to negotiate and how to receive (copied)
 * @error: return location for a GError
 *
 * Finds and enables the device, resets it, negotiates the profile's
 * features, sets up the RX, TX and control queues, puts the initial RX
 * buffers in the ring, sets DRIVER_OK and enters D0 as NetKVM does
 * (rig_guest_net_enter_d0()), then sends the packet filter NDIS sets after
 * initialisation (CTRL_RX, MAC table, VLAN ids).  With
 * RIG_GUEST_CLOCK_REALTIME the clock thread runs from here on.
 *
 * Returns: (transfer full): the guest, or NULL with @error set.
 */
RigGuestNet *rig_guest_net_new(RigQtest *qtest, const RigGuestNetConfig *config,
                               GError **error);

/**
 * rig_guest_net_free:
 * @net: (nullable): guest; stops the clock thread (the device is left as
 *   it is: QEMU's memory belongs to QEMU)
 */
void rig_guest_net_free(RigGuestNet *net);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RigGuestNet, rig_guest_net_free)

/**
 * rig_guest_net_get_features:
 * Returns: the features written to the device (after FEATURES_OK).
 */
uint64_t rig_guest_net_get_features(RigGuestNet *net);

/**
 * rig_guest_net_get_offered:
 * Returns: the features the device offered.
 */
uint64_t rig_guest_net_get_offered(RigGuestNet *net);

/**
 * rig_guest_net_get_rx_count:
 * Returns: RX buffers the guest owns (the RX ring's size).
 */
guint rig_guest_net_get_rx_count(RigGuestNet *net);

/**
 * rig_guest_net_get_mac:
 * @net: guest
 * @ret_mac: (out caller-allocates): 6 bytes (zero without VIRTIO_NET_F_MAC)
 */
void rig_guest_net_get_mac(RigGuestNet *net, uint8_t ret_mac[6]);

/**
 * rig_guest_net_get_offloads:
 * Returns: the guest offloads last acked by the device (0 when never set).
 */
uint64_t rig_guest_net_get_offloads(RigGuestNet *net);

/**
 * rig_guest_net_set_offloads:
 * @net: guest
 * @offloads: VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET mask (feature bit numbers:
 *   GUEST_CSUM 1, GUEST_TSO4 7, GUEST_TSO6 8, RSC_EXT 61)
 * @error: return location (REFUSED when the device answers VIRTIO_NET_ERR)
 *
 * Returns: TRUE when the device acked VIRTIO_NET_OK.
 */
gboolean rig_guest_net_set_offloads(RigGuestNet *net, uint64_t offloads,
                                    GError **error);

/**
 * rig_guest_net_enter_d0:
 * @net: guest
 * @error: return location for a GError
 *
 * What ParaNdis_DeviceEnterD0 (NetKVM/Common/ParaNdis_Common.cpp) sends on
 * every entry to D0: the offloads for the current RSC state
 * (ParaNdis_DeviceConfigureRSC), CTRL_MAC_ADDR_SET (ParaNdis_UpdateMAC),
 * then an RX kick.
 *
 * Returns: TRUE when the device acked every command.
 */
gboolean rig_guest_net_enter_d0(RigGuestNet *net, GError **error);

/**
 * rig_guest_net_reset:
 * @net: guest
 * @error: return location for a GError
 *
 * A driver restart: writes 0 to device_status (virtio spec 4.1.4.3: the
 * device resets), then initialises it again exactly as
 * rig_guest_net_new() did: negotiation, fresh zeroed rings, the initial RX
 * buffers, DRIVER_OK, D0 entry and the packet filter.  Frame records and
 * counters are kept, so frames the device delivers after the reset show
 * up after those before it.
 *
 * Returns: TRUE when the device runs again.
 */
gboolean rig_guest_net_reset(RigGuestNet *net, GError **error);

/**
 * rig_guest_net_get_resets:
 * Returns: how many rig_guest_net_reset() calls succeeded.
 */
guint64 rig_guest_net_get_resets(RigGuestNet *net);

/**
 * rig_guest_net_set_rsc:
 * @net: guest
 * @ipv4: 1 enable, 0 disable, -1 leave RSC for IPv4 as it is
 * @ipv6: the same for IPv6
 * @error: return location (INVALID for a family whose GUEST_TSO bit was
 *   not acked: NetKVM answers NDIS_STATUS_NOT_SUPPORTED)
 *
 * OID_TCP_OFFLOAD_PARAMETERS as NetKVM's OnSetRSCParameters
 * (NetKVM/wlh/ParaNdis6_Oid.cpp) handles it: the new state, then
 * ParaNdis_DeviceConfigureRSC.  Disabling both families sends GUEST_CSUM
 * + RSC_EXT (bit 61) without TSO bits.
 *
 * Returns: TRUE when the device acked the offloads command.
 */
gboolean rig_guest_net_set_rsc(RigGuestNet *net, int ipv4, int ipv6,
                               GError **error);

/**
 * rig_guest_net_rsc_active:
 * @net: guest
 * @family: 4 or 6
 *
 * Returns: whether QEMU's RSC path runs for @family now
 *   (rig_guest_rsc_active() on the negotiated features and last offloads).
 */
gboolean rig_guest_net_rsc_active(RigGuestNet *net, int family);

/**
 * rig_guest_net_post_rx:
 * @net: guest
 * @count: buffers to post at most (G_MAXUINT: every free one)
 * @ret_posted: (out) (optional): how many were posted
 * @error: return location for a GError
 *
 * Makes free RX buffers available and notifies the device.  Ends a
 * starvation period.
 *
 * Returns: TRUE on success.
 */
gboolean rig_guest_net_post_rx(RigGuestNet *net, guint count, guint *ret_posted,
                               GError **error);

/**
 * rig_guest_net_starve:
 * @net: guest
 * @frames: end starvation after this many more frames (0: no frame limit)
 * @duration_us: end it after this much host time (0: no time limit)
 *
 * From now on harvested buffers are not re-posted, until a limit is hit or
 * rig_guest_net_post_rx() is called; at the end all held buffers are
 * posted again.  With both limits 0 it lasts until rig_guest_net_post_rx().
 */
void rig_guest_net_starve(RigGuestNet *net, guint frames, guint64 duration_us);

/**
 * rig_guest_net_receive:
 * @net: guest
 * @want: return once this many frames were received in this call
 * @timeout_ms: or once this much host time passed (not an error)
 * @ret_received: (out) (optional): frames received in this call
 * @error: return location (DEVICE for a ring violation, qtest errors)
 *
 * Polls the used ring, records each frame, re-posts its buffers.
 *
 * Returns: TRUE unless an error occurred.
 */
gboolean rig_guest_net_receive(RigGuestNet *net, guint want, guint timeout_ms,
                               guint *ret_received, GError **error);

/**
 * rig_guest_net_send:
 * @net: guest
 * @frame: Ethernet frame (borrowed), sent with an all-zero header
 * @len: its length (14..65550)
 * @error: return location for a GError
 *
 * Returns: TRUE once the device consumed it.
 */
gboolean rig_guest_net_send(RigGuestNet *net, const uint8_t *frame, size_t len,
                            GError **error);

/**
 * rig_guest_net_clock_step:
 * @net: guest in RIG_GUEST_CLOCK_DETERMINISTIC mode
 * @ns: nanoseconds (0: to the next timer deadline)
 * @error: return location (INVALID in another mode)
 *
 * Returns: TRUE on success.
 */
gboolean rig_guest_net_clock_step(RigGuestNet *net, gint64 ns, GError **error);

/**
 * rig_guest_net_get_vclock:
 * Returns: the virtual clock last seen (ns), -1 in RIG_GUEST_CLOCK_FREE.
 */
gint64 rig_guest_net_get_vclock(RigGuestNet *net);

/**
 * rig_guest_net_get_frames:
 * Returns: (transfer none) (element-type RigGuestFrame): every record.
 */
GPtrArray *rig_guest_net_get_frames(RigGuestNet *net);

/**
 * rig_guest_net_get_counters:
 * Returns: (transfer none): the running counters.
 */
const RigGuestCounters *rig_guest_net_get_counters(RigGuestNet *net);

/**
 * rig_guest_net_free_rx_buffers:
 * @net: guest
 *
 * RX buffers the device can still fill: posted minus those the harvested
 * frames used (num_buffers each with MRG_RXBUF, else one).
 *
 * Returns: the count.
 */
guint64 rig_guest_net_free_rx_buffers(RigGuestNet *net);

/**
 * rig_guest_net_stats_to_json:
 * @net: guest
 * @with_frames: include every frame record
 *
 * Returns: (transfer full): {"clock_mode", "profile", "follows",
 *   "ram_access", "features", "offloads", "rsc_active", "mac", "rx_mode",
 *   "counters": {...}, "netkvm": {...}, "frames": [...]}.
 */
JsonNode *rig_guest_net_stats_to_json(RigGuestNet *net, gboolean with_frames);
