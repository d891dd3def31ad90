/*
 * What the reference guest records for every received frame, and the
 * counters it keeps, in the shape NetKVM reports them (frames, coalesced
 * frames, segments, bytes, duplicate ACKs), plus per-flow sequence
 * accounting so that data lost inside the device shows up as a gap.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdint.h>

#include "net/parse.h"

typedef struct {
    guint64 index;    /* 0-based order of arrival */
    gint64 host_ns;   /* CLOCK_MONOTONIC when harvested */
    gint64 vclock_ns; /* QEMU virtual clock at harvest; -1 if unknown */
    uint32_t len;     /* bytes the device wrote, virtio-net header included */
    /* virtio_net_hdr_v1 as received */
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t num_buffers;
    gboolean coalesced; /* RSC_INFO set (the rig's raw view) */
    uint16_t segments;  /* csum_start when coalesced, else 1 */
    uint16_t dup_acks;  /* csum_offset when coalesced, else 0 */
    /* What NetKVM makes of it (see RigGuestNetkvmKind). */
    uint8_t netkvm_kind;
    uint32_t netkvm_segments; /* NET_BUFFER_LIST_COALESCED_SEG_COUNT */
    uint32_t ip_len;          /* the IP datagram: NetKVM's L2PayloadLen */
    /* the frame, parsed by rig/net */
    int parse_errno;         /* 0, or rig_net_parse()'s negative errno */
    const char *parse_error; /* static reason name, NULL when parsed */
    uint8_t family;          /* 4, 6, or 0 (not IP) */
    uint8_t protocol;
    char flow[RIG_FLOW_KEY_STR_MAX];
    uint32_t seq;
    uint32_t ack;
    uint16_t tcp_flags;
    uint16_t window;
    uint32_t payload_len;
    char sha256[65]; /* of header + frame, for byte-identical logs */
    GBytes *data;    /* header + frame, when the guest keeps data */
} RigGuestFrame;

/*
 * NetKVM's receive decision (ParaNdis_PrepareReceivedPacket,
 * NetKVM/wlh/ParaNdis6_Impl.cpp): RSC_INFO is looked at only when
 * gso_type != NONE; a GSO frame without it gets an estimated segment
 * count (PktGetTCPCoalescedSegmentsCount: TCP payload / gso_size, rounded
 * up, gso_size capped to 1500 - IP and TCP headers) and counts as "host"
 * coalescing.
 */
typedef enum {
    RIG_GUEST_NETKVM_SINGLE, /* gso_type NONE: RSC_INFO ignored */
    RIG_GUEST_NETKVM_WIN,    /* RSC_INFO: framesCoalescedWindows */
    RIG_GUEST_NETKVM_HOST,   /* GSO without RSC_INFO: framesCoalescedHost */
} RigGuestNetkvmKind;

/*
 * NetKVM's counters as Windows shows them (the names `rig session stats`
 * prints): RSC.Statistics through OID_GEN_STATISTICS / RscStatistics
 * (ParaNdis6_Oid.cpp) and NetKvm_Diag rx (WMI).
 */
typedef struct {
    guint64 coalesced_packets; /* CoalescedPkts += segments */
    guint64 coalesced_bytes;   /* CoalescedOctets += IP datagram */
    guint64 coalescing_events; /* CoalesceEvents += 1 */
    guint64 coalesced_win;     /* rx.CoalescedWin: frames with RSC_INFO */
    guint64 coalesced_host;    /* rx.CoalescedHost: GSO frames without */
    guint64 dropped_multi_buf; /* num_buffers > 1 into big buffers */
} RigGuestNetkvmCounters;

/* Per TCP flow: what a receiving TCP would notice. */
typedef struct {
    char flow[RIG_FLOW_KEY_STR_MAX];
    guint64 frames;
    guint64 payload_bytes;
    uint32_t next_seq; /* seq expected next (after the first frame) */
    guint64 gaps;      /* frames that started past next_seq */
    guint64 gap_bytes; /* bytes missing before those frames */
    guint64 overlaps;  /* frames that started before next_seq */
} RigGuestFlowStats;

typedef struct {
    guint64 frames;
    guint64 coalesced_frames; /* CoalescedPackets events (RSC_INFO) */
    guint64 segments;         /* sum of csum_start over coalesced frames */
    guint64 coalesced_bytes;  /* payload bytes of coalesced frames */
    guint64 bytes;            /* frame bytes, virtio-net header excluded */
    guint64 dup_acks;         /* sum of csum_offset over coalesced frames */
    guint64 gso_frames;       /* gso_type != NONE */
    guint64 parse_errors;
    guint64 buffers_posted;
    guint64 starved_buffers; /* harvested but not re-posted (starvation) */
    guint64 tx_frames;
    guint64 ctrl_commands;
    guint64 ctrl_failed; /* answered VIRTIO_NET_ERR */
    RigGuestNetkvmCounters netkvm;
} RigGuestCounters;

/**
 * rig_guest_frame_decode:
 * @buf: virtio-net header followed by the frame (borrowed)
 * @len: bytes in @buf
 * @ret_frame: (out caller-allocates): zeroed by the caller; header fields,
 *   parse results and digest are filled (data, index and times are not)
 *
 * A short buffer or an unparsable frame is recorded in parse_errno and
 * parse_error, never a failure: what the device delivered is evidence.
 */
void rig_guest_frame_decode(const uint8_t *buf, size_t len,
                            RigGuestFrame *ret_frame);

/**
 * rig_guest_frame_free:
 * @frame: (nullable): a record allocated with g_new0()
 */
void rig_guest_frame_free(RigGuestFrame *frame);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RigGuestFrame, rig_guest_frame_free)

/**
 * rig_guest_counters_add:
 * @c: counters
 * @frame: a decoded frame
 */
void rig_guest_counters_add(RigGuestCounters *c, const RigGuestFrame *frame);

/**
 * rig_guest_netkvm_counters_to_json:
 * @c: NetKVM's counters
 *
 * Returns: (transfer full): {"rsc_statistics": {CoalescedPackets,
 *   CoalescedBytes, CoalescingEvents, CoalescingExceptions},
 *   "netkvm_diag": {CoalescedWin, CoalescedHost}, "dropped_multi_buffer"}:
 *   the shape of `rig session stats` for a Windows guest.
 */
JsonNode *rig_guest_netkvm_counters_to_json(const RigGuestNetkvmCounters *c);

/**
 * rig_guest_flow_account:
 * @flows: hash table flow string -> RigGuestFlowStats * (owned values)
 * @frame: a decoded TCP frame (others are ignored)
 */
void rig_guest_flow_account(GHashTable *flows, const RigGuestFrame *frame);

/**
 * rig_guest_frame_to_json:
 * @frame: a record
 * @with_data: include the bytes (hex) when the record has them
 *
 * Returns: (transfer full): a JSON object.
 */
JsonNode *rig_guest_frame_to_json(const RigGuestFrame *frame,
                                  gboolean with_data);

/**
 * rig_guest_frame_log_line:
 * @frame: a record
 *
 * A line with only what the device decided (no host time), so that two
 * deterministic runs can be compared byte for byte.
 *
 * Returns: (transfer full): the line without newline; g_free().
 */
char *rig_guest_frame_log_line(const RigGuestFrame *frame);

/**
 * rig_guest_counters_to_json:
 * @c: counters
 * @flows: (nullable): per-flow table from rig_guest_flow_account()
 *
 * Returns: (transfer full): a JSON object.
 */
JsonNode *rig_guest_counters_to_json(const RigGuestCounters *c,
                                     GHashTable *flows);
