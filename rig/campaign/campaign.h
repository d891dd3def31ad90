/*
 * The adversarial campaign of `rig fuzz-device`.
 *
 * Real components only: a private network namespace with a vnet_hdr tap
 * (MTU 64 KiB), QEMU from the one launcher (rig/qemu/vm.c) under
 * -accel qtest with RSC on, the reference guest (rig/guest) negotiating
 * like NetKVM, and an AF_PACKET injector (rig/trafgen) on the tap's host
 * side.  The campaign runs in rounds; each round draws its frames
 * (rig/campaign/mutate.h) and its events from the seed and the round
 * number, so one round replays alone:
 *
 *   - frames in 1..4 chunks; between chunks, at random: a clock step (the
 *     drain timer fires), a harvest posting a random number of RX buffers
 *     (the guest never re-posts by itself: starvation at random moments),
 *     CTRL_GUEST_OFFLOADS_SET switching RSC off or on, a device reset;
 *   - in a fifth of the rounds the RX ring is filled right after the first
 *     chunk, then the clock is stepped: the drain meets a full ring;
 *   - the round ends drained: every buffer posted, the clock stepped past
 *     rsc_interval until the tap is empty and nothing more comes out.
 *
 * Then the conservation check (rig/campaign/conserve.h) judges the round,
 * QEMU's liveness and its sanitizer logs are checked, and any finding saves
 * the round's frames as a pcap with the command that reproduces it.
 */
#pragma once

#include <signal.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "campaign/conserve.h"
#include "campaign/mutate.h"

#define FUZZ_ERROR (fuzz_error_quark())

typedef enum {
    FUZZ_ERROR_FAILED,      /* the campaign could not run */
    FUZZ_ERROR_INTERRUPTED, /* SIGINT / SIGTERM */
} FuzzErrorCode;

typedef struct {
    const char *qemu;       /* binary */
    const char *qemu_label; /* as given: fixed, stock or a path */
    JsonNode *qemu_build;   /* harness/qemu-build.h's record (borrowed) */
    gboolean sanitized;     /* the --sanitize build was asked for */
    guint64 seed;
    guint64 max_frames;    /* stop once this many were sent; 0: no limit */
    guint max_seconds;     /* stop after this long; 0: no limit */
    guint64 from_round;    /* first round */
    guint64 max_rounds;    /* 0: no limit */
    const char *out_dir;   /* findings, sanitizer logs (created) */
    gboolean strict;       /* RSC data loss at a full ring / reorder after
                            * switching RSC off are violations */
    guint max_findings;    /* save this many, then stop (or, with
                            * keep_going, count the rest unsaved) */
    gboolean keep_going;   /* only a QEMU crash ends the run early */
    guint32 skip_shapes;   /* 1 << FuzzKind never drawn (fuzz_gen_set_skip) */
    const char *skip_text; /* as given to --skip, for the reproduction */
    gboolean tty;          /* progress rewrites one line */
    volatile sig_atomic_t *stop;
} FuzzConfig;

typedef struct {
    guint64 rounds;
    guint64 frames_sent;
    guint64 frames_delivered;
    guint64 untouched;
    guint64 merged_frames;
    guint64 merged_segments;
    guint64 payload_sent;
    guint64 payload_matched;
    guint64 accounted[FUZZ_ACCOUNT_COUNT];
    guint64 violations[FUZZ_VIOLATION_COUNT];
    guint64 kinds[FUZZ_KIND_COUNT];
    guint64 resets;
    guint64 offload_toggles;
    guint64 ring_fills;
    guint64 clock_steps;
    guint64 sanitizer_reports;
    gboolean qemu_crashed;
    char *qemu_exit;     /* how QEMU ended, when it crashed */
    GPtrArray *findings; /* JsonNode * objects */
    gdouble seconds;
    JsonNode *rsc_stats; /* QEMU's counters at the end, NULL if unread */
} FuzzSummary;

GQuark fuzz_error_quark(void);

/**
 * fuzz_campaign_run:
 * @config: what to run
 * @summary: (out caller-allocates): figures, filled as far as the run got
 *   (also on failure); clear with fuzz_summary_clear()
 * @error: return location: FUZZ_ERROR when the campaign could not run
 *
 * Returns: TRUE when the campaign ran to its limit (findings are in
 *   @summary, not errors).
 */
gboolean fuzz_campaign_run(const FuzzConfig *config, FuzzSummary *summary,
                           GError **error);

void fuzz_summary_clear(FuzzSummary *summary);

/**
 * fuzz_summary_to_json:
 * Returns: (transfer full): the summary as one JSON object.
 */
JsonNode *fuzz_summary_to_json(const FuzzConfig *config,
                               const FuzzSummary *summary);

/**
 * fuzz_repro_command:
 * @config: the campaign
 * @round: the round to replay
 *
 * Returns: (transfer full): the `rig fuzz-device` command line that replays
 *   @round alone.
 */
char *fuzz_repro_command(const FuzzConfig *config, guint64 round);
