/*
 * The checks engine: pure functions over in-memory views of one scenario.
 *
 * Views (all built by the run orchestration from real components):
 *   sent    what rsc-trafgen sent (every frame, with its send time)
 *   guest   what the reference guest received (header + frame decoded)
 *   device  QEMU's RSC counters (rsc-stats deltas); may be unavailable
 *   oracle  rig/rsc's prediction in qemu mode and in spec mode
 * Frames are reduced to CheckFrame records; payload bytes live in one
 * byte array per view, so that the content itself is compared.
 *
 * Check names (stable, used by profiles' known_failures and in reports):
 *   payload-conserved   per flow, every sent payload byte arrives once, in
 *                       send order (frames the device may deliver at once,
 *                       e.g. IP options, may overtake cached data)
 *   segments-conserved  sum of RSC segments over coalesced frames +
 *                       uncoalesced data frames = data segments sent
 *   no-cross-boundary   no frame spans a control segment or mixes flows
 *   frame-size          no frame's IP length above 64 KiB
 *   rsc-info            every coalesced frame has RSC_INFO and gso_type
 *   coalescing-window   segments of a coalesced frame were sent within one
 *                       rsc_interval (+ slack) of each other
 *   checksum-flags      header flags of coalesced frames as the profile says
 *   coalescing-ratio    data segments / delivered data frames >= minimum
 *   coalesced-share     share of segments delivered coalesced >= minimum
 *   frame-count         delivered data frames = expect_frames
 *   coalesced-count     coalesced frames = expect_coalesced_frames
 *   device-counters     QEMU's counters = the oracle's and the profile's
 *   oracle-qemu         received frames = rig/rsc prediction, qemu mode
 *   oracle-spec         received frames = rig/rsc prediction, spec mode
 */
#pragma once

#include <glib.h>

#include "harness/profile.h"
#include "harness/qemu-build.h"
#include "qemu/rsc-stats.h"

#define CHECK_FLOW_NONE G_MAXUINT

/* virtio_net_hdr_v1 values the checks interpret. */
#define CHECK_HDR_F_NEEDS_CSUM 1
#define CHECK_HDR_F_DATA_VALID 2
#define CHECK_HDR_F_RSC_INFO   4
#define CHECK_GSO_NONE         0
#define CHECK_GSO_TCPV4        1
#define CHECK_GSO_TCPV6        4

/* TCP flags as on the wire. */
#define CHECK_TCP_FIN 0x01
#define CHECK_TCP_SYN 0x02
#define CHECK_TCP_RST 0x04
#define CHECK_TCP_PSH 0x08
#define CHECK_TCP_ACK 0x10
#define CHECK_TCP_URG 0x20
#define CHECK_TCP_ECE 0x40
#define CHECK_TCP_CWR 0x80

/* The ECN codepoint "congestion experienced". */
#define CHECK_ECN_CE 3

/* Flags that make QEMU deliver a segment on its own. */
#define CHECK_TCP_CONTROL                                                      \
    (CHECK_TCP_FIN | CHECK_TCP_SYN | CHECK_TCP_RST | CHECK_TCP_URG |           \
     CHECK_TCP_ECE | CHECK_TCP_CWR)

/* One frame of a view, decoded. */
typedef struct {
    gint64 time_ns; /* send time (sent) or harvest time (guest, oracle) */
    guint flow;     /* index in CheckScenario.flows, or CHECK_FLOW_NONE */
    guint8 family;  /* 4, 6, or 0 for neither */
    gboolean is_tcp;
    /* Sent view: the device delivers this frame without draining its flow
     * (bypass: IP options, fragment, ECN, extension header, SYN, ...). */
    gboolean may_overtake;
    gboolean tcp_options; /* TCP data offset > 5 */
    gboolean ts_only;     /* the options are one timestamp and NOPs: such
                           * segments may coalesce (Microsoft's rules) */
    guint8 ecn;           /* the IP header's ECN codepoint */
    gboolean bad_csum;    /* sent view: IPv4 or TCP checksum wrong */
    guint8 tcp_flags;
    guint32 seq;
    guint32 ack;
    guint16 window;
    guint32 payload_len;
    guint32 payload_off; /* into CheckView.payload */
    guint32 l3_len;      /* IPv4 total length; IPv6 40 + payload length */
    guint32 frame_len;   /* Ethernet frame, without the virtio header */
    /* virtio_net_hdr_v1 as received (guest, oracle); zero for sent. */
    guint8 hdr_flags;
    guint8 gso_type;
    guint16 gso_size;
    guint16 csum_start;  /* RSC_INFO: segments */
    guint16 csum_offset; /* RSC_INFO: duplicate ACKs */
} CheckFrame;

typedef struct {
    gboolean available;
    char *unavailable_reason; /* set when !available */
    GArray *frames;           /* CheckFrame */
    GByteArray *payload;      /* payload bytes of all frames */
    gboolean has_content;     /* every frame was added with its bytes */
} CheckView;

typedef struct {
    char *name;    /* "192.0.2.1:40000 > 192.0.2.2:5001 tcp" */
    guint8 family; /* 4 or 6 */
} CheckFlow;

typedef struct {
    gboolean available;
    char *unavailable_reason;
    RigRscStats delta; /* counters after the scenario minus before */
} CheckDevice;

/* Everything the checks look at for one scenario. */
typedef struct {
    const ProfileScenario *scenario; /* borrowed from the Profile */
    ProfileClock clock;
    guint64 rsc_interval_ns;
    guint64 timing_slack_ns;
    double window_tolerance; /* share of frames allowed over the window */
    gboolean spec_must_pass;
    GPtrArray *flows; /* CheckFlow * */
    CheckView *sent;
    CheckView *guest;
    CheckView *oracle_qemu;
    CheckView *oracle_spec;
    CheckDevice device;
    /* The build decides which oracle mode is the reference: spec mode on
     * the fixed build (oracle-qemu is then not run), qemu mode on stock
     * and any other QEMU; and whether stock_known_failures apply. */
    QemuBuildKind build;
    /* The fixed build's fix patches (borrowed), NULL when not recorded
     * (then it is taken to have the whole series). */
    char **build_fix_patches;
    RigRscStats oracle_counters; /* predicted by the reference mode */
    gboolean oracle_counters_valid;
    /* RSC negotiated for a family: QEMU then counts every frame of both
     * families in its chains' "received". */
    gboolean rsc_enabled;
    /* Checks this QEMU can not support: check name (or "*" for every
     * check) -> why, naming the missing capability; NULL when none.  See
     * check_scenario_set_unavailable(). */
    GHashTable *unavailable;
} CheckScenario;

typedef enum {
    CHECK_PASS,
    CHECK_FAIL,
    CHECK_XFAIL, /* failed, listed as a known failure: verdict unaffected */
    CHECK_XPASS, /* listed as a known failure but passed: remove the entry */
    CHECK_SKIP,  /* could not be evaluated (view unavailable): never a pass */
} CheckStatus;

typedef struct {
    char *name;
    CheckStatus status;
    char *expected;
    char *observed;
    char *detail; /* first differences, reason of a skip; may be NULL */
} CheckResult;

/**
 * check_view_new:
 *
 * Returns: (transfer full): an empty, available view; free with
 *   check_view_free()
 */
CheckView *check_view_new(void);

/**
 * check_view_free:
 * @view: (nullable) (transfer full): a view
 */
void check_view_free(CheckView *view);

/**
 * check_view_add_frame:
 * @view: a view
 * @frame: the record; its payload_off is ignored and set here
 * @payload: (nullable): frame->payload_len bytes of payload, copied; NULL
 *   stores zeros (content then is not compared)
 *
 * Returns: (transfer none): the stored record, valid until the next add
 */
CheckFrame *check_view_add_frame(CheckView *view, const CheckFrame *frame,
                                 const guint8 *payload);

/**
 * check_view_set_unavailable:
 * @view: a view
 * @reason: why (e.g. "stock QEMU without rsc-stats"), copied
 */
void check_view_set_unavailable(CheckView *view, const char *reason);

/**
 * check_scenario_new:
 * @scenario: (transfer none): the profile scenario, must outlive the result
 *
 * Returns: (transfer full): empty views, device unavailable until set,
 *   build QEMU_BUILD_OTHER; free with check_scenario_free()
 */
CheckScenario *check_scenario_new(const ProfileScenario *scenario);

/**
 * check_scenario_free:
 * @cs: (nullable) (transfer full): the scenario data
 */
void check_scenario_free(CheckScenario *cs);

/**
 * check_scenario_add_flow:
 * @cs: the scenario data
 * @name: a printable flow name, copied
 * @family: 4 or 6
 *
 * Returns: the index to store in CheckFrame.flow
 */
guint check_scenario_add_flow(CheckScenario *cs, const char *name,
                              guint8 family);

/**
 * check_scenario_set_unavailable:
 * @cs: the scenario data
 * @check_name: (nullable): a check name, or NULL for every check
 * @reason: why it can not be evaluated, naming the capability the QEMU
 *   lacks (e.g. from rig_qemu_caps_missing()), copied
 *
 * check_run_all() then reports the check as skipped with @reason, whatever
 * the views say: a QEMU that lacks a capability is never failed for it.
 * The reason given for every check (NULL) wins over a check's own.
 */
void check_scenario_set_unavailable(CheckScenario *cs, const char *check_name,
                                    const char *reason);

/**
 * check_result_free:
 * @result: (nullable) (transfer full): a result
 */
void check_result_free(CheckResult *result);

/**
 * check_run_all:
 * @cs: the views of one scenario
 *
 * Runs every check that applies to the scenario (expectations the profile
 * leaves unset are not reported; checks whose view is unavailable are
 * reported as skipped) and applies the scenario's known failures.
 *
 * Returns: (transfer full) (element-type CheckResult): the results in a
 *   fixed order; free with g_ptr_array_unref()
 */
GPtrArray *check_run_all(const CheckScenario *cs);

/**
 * check_status_name:
 * @status: a status
 *
 * Returns: (transfer none): "pass", "fail", "xfail", "xpass" or "skip"
 */
const char *check_status_name(CheckStatus status);

/**
 * check_status_fails_verdict:
 * @status: a status
 *
 * Returns: TRUE only for CHECK_FAIL
 */
gboolean check_status_fails_verdict(CheckStatus status);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(CheckView, check_view_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CheckScenario, check_scenario_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CheckResult, check_result_free)
