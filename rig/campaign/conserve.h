/*
 * The conservation check of one campaign round: every frame the device
 * delivered is either a frame that was sent, byte for byte (RSC bypassed or
 * drained it alone), or a merge of sent TCP segments of one flow whose
 * payloads, concatenated in sequence order, are exactly its payload; every
 * frame sent comes out exactly once, or is accounted for by a documented
 * reason; and the in-order segments of a flow (the ones QEMU may cache)
 * come out in the order they were sent.
 *
 * A round ends with everything drained, so a round is checked on its own:
 * add what was sent and what the guest received, then finish.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

typedef enum {
    /* A delivered frame is neither a sent frame nor a merge of sent
     * segments (payload bytes changed, shifted, invented, or padding
     * bytes taken for payload). */
    FUZZ_VIOLATION_ALTERED,
    /* A sent frame never came out and no documented reason covers it. */
    FUZZ_VIOLATION_LOST,
    /* An in-order segment of a flow came out after a later one. */
    FUZZ_VIOLATION_REORDERED,
    /* A merged frame without RSC_INFO, or with fewer segments than it
     * merged. */
    FUZZ_VIOLATION_SEGMENTS,
    FUZZ_VIOLATION_COUNT
} FuzzViolationKind;

/* Documented reasons for a frame that did not come out as sent. */
typedef enum {
    /* A segment without payload (ACK, window update) merged into a
     * coalesced frame of its flow: it carries no byte to deliver. */
    FUZZ_ACCOUNT_ABSORBED,
    /* QEMU freed cached segments because the RX ring was full at drain
     * time (its purge_failed / drain_failed / final_failed counters moved
     * in the round); the stock behaviour the fix series removes. */
    FUZZ_ACCOUNT_RING_FULL,
    /* The guest reset the device while segments were cached. */
    FUZZ_ACCOUNT_RESET,
    /* The tap's queue overflowed (its tx_dropped counter moved). */
    FUZZ_ACCOUNT_TAP_QUEUE,
    /* Reordered in a round where RSC was switched off with segments
     * cached: stock QEMU delivers them at the next drain, after newer
     * segments that bypassed. */
    FUZZ_ACCOUNT_OFFLOADS_OFF,
    FUZZ_ACCOUNT_COUNT
} FuzzAccount;

/* What happened during the round, from the device and the tap. */
typedef struct {
    gboolean ring_full_drops; /* QEMU's drain-failure counters moved */
    gboolean reset;           /* device reset with frames in flight */
    gboolean offloads_off;    /* RSC switched off with frames in flight */
    guint64 tap_dropped;      /* the tap's tx_dropped moved by this */
    gboolean strict;          /* RING_FULL and OFFLOADS_OFF are violations
                               * (a fixed QEMU must not need them) */
} FuzzRoundEvents;

typedef struct {
    FuzzViolationKind kind;
    gint64 sent_index;      /* -1 when not about one sent frame */
    gint64 delivered_index; /* -1 when not about one delivered frame */
    char *text;
} FuzzViolation;

typedef struct {
    guint64 sent;
    guint64 delivered;
    guint64 untouched;       /* delivered byte for byte */
    guint64 merged_frames;   /* delivered as a merge of >= 2 segments */
    guint64 merged_segments; /* segments in those */
    guint64 payload_sent;    /* TCP payload bytes of parsable segments */
    guint64 payload_matched; /* of those, delivered exactly once */
    guint64 accounted[FUZZ_ACCOUNT_COUNT];
    GPtrArray *violations; /* FuzzViolation * */
} FuzzCheckResult;

typedef struct FuzzChecker FuzzChecker;

const char *fuzz_violation_kind_name(FuzzViolationKind kind);
const char *fuzz_account_name(FuzzAccount account);

/**
 * fuzz_checker_new:
 * Returns: (transfer full): an empty round.
 */
FuzzChecker *fuzz_checker_new(void);

void fuzz_checker_free(FuzzChecker *checker);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FuzzChecker, fuzz_checker_free)

/**
 * fuzz_checker_add_sent:
 * @checker: round
 * @frame: Ethernet frame as injected (copied)
 * @len: its length
 */
void fuzz_checker_add_sent(FuzzChecker *checker, const uint8_t *frame,
                           size_t len);

/**
 * fuzz_checker_add_delivered:
 * @checker: round
 * @buf: virtio_net_hdr_v1 (12 bytes) then the frame, as the guest got it
 *   (copied)
 * @len: its length
 */
void fuzz_checker_add_delivered(FuzzChecker *checker, const uint8_t *buf,
                                size_t len);

/**
 * fuzz_checker_finish:
 * @checker: round (may be finished once)
 * @events: what happened in the round
 * @ret_result: (out caller-allocates): figures and violations; clear with
 *   fuzz_check_result_clear()
 */
void fuzz_checker_finish(FuzzChecker *checker, const FuzzRoundEvents *events,
                         FuzzCheckResult *ret_result);

void fuzz_check_result_clear(FuzzCheckResult *result);
