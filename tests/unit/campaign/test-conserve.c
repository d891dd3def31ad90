/*
 * The conservation check: what passes (untouched frames, exact merges,
 * absorbed ACKs, documented losses) and what it must catch (altered or
 * invented payload, QEMU's trailer-as-payload merge, loss, duplication,
 * reordering, wrong segment counts).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "campaign/conserve.h"
#include "net/build.h"

#define HDR RIG_VIRTIO_NET_HDR_V1_LEN

typedef struct {
    uint8_t data[HDR + 70000];
    size_t len; /* frame bytes after the header */
} Frame;

static Frame frames[8];
static Frame out;

/* A TCP segment of the test flow: seq, payload length, extra trailer. */
static Frame *segment(Frame *f, uint32_t seq, size_t payload, size_t trailer)
{
    RigNetFrameDesc d = {
        .family = 4,
        .protocol = RIG_IPPROTO_TCP,
        .ttl = 64,
        .df = true,
        .src_port = 20000,
        .dst_port = 5001,
        .seq = seq,
        .ack = 77,
        .window = 1000,
        .tcp_flags = RIG_TCP_ACK,
        .payload_len = payload,
    };
    ssize_t n;

    memcpy(d.src_ip, (uint8_t[]){10, 0, 0, 1}, 4);
    memcpy(d.dst_ip, (uint8_t[]){10, 0, 0, 2}, 4);
    memset(f->data, 0, HDR);
    n = rig_net_build_frame(&d, f->data + HDR, sizeof(f->data) - HDR);
    assert_true(n > 0);
    memset(f->data + HDR + n, 0xee, trailer);
    f->len = (size_t)n + trailer;
    return f;
}

static void sent(FuzzChecker *c, const Frame *f)
{
    fuzz_checker_add_sent(c, f->data + HDR, f->len);
}

static void delivered(FuzzChecker *c, const Frame *f)
{
    fuzz_checker_add_delivered(c, f->data, HDR + f->len);
}

/* What QEMU delivers for a merge: the first frame, the IP length grown,
 * the later payloads appended where it appends them (@at, from the start
 * of the frame), RSC_INFO with @segments. */
static void merged(Frame *dst, const Frame *first, size_t at,
                   const Frame *const *rest, guint n, uint16_t segments)
{
    size_t ip_len = rig_be16_get(first->data + HDR + 14 + 2);

    memcpy(dst->data, first->data, HDR + first->len);
    dst->len = at;
    for (guint i = 0; i < n; i++) {
        size_t plen = rig_be16_get(rest[i]->data + HDR + 14 + 2) - 40;

        memcpy(dst->data + HDR + dst->len, rest[i]->data + HDR + 54, plen);
        dst->len += plen;
        ip_len += plen;
    }
    rig_be16_put(dst->data + HDR + 14 + 2, (uint16_t)ip_len);
    dst->data[0] = RIG_VIRTIO_NET_HDR_F_RSC_INFO;
    dst->data[1] = RIG_VIRTIO_NET_HDR_GSO_TCPV4;
    rig_le16_put(dst->data + 6, segments);
}

static FuzzCheckResult finish(FuzzChecker *c, gboolean strict,
                              gboolean ring_full, gboolean reset,
                              gboolean offloads_off)
{
    FuzzRoundEvents ev = {.strict = strict,
                          .ring_full_drops = ring_full,
                          .reset = reset,
                          .offloads_off = offloads_off};
    FuzzCheckResult r;

    fuzz_checker_finish(c, &ev, &r);
    return r;
}

static guint count(const FuzzCheckResult *r, FuzzViolationKind kind)
{
    guint n = 0;

    for (guint i = 0; i < r->violations->len; i++) {
        n += ((FuzzViolation *)r->violations->pdata[i])->kind == kind;
    }
    return n;
}

static void test_untouched_frames_pass(void **state)
{
    g_autoptr(FuzzChecker) c = fuzz_checker_new();
    FuzzCheckResult r;

    for (guint i = 0; i < 3; i++) {
        sent(c, segment(&frames[i], 1000 + 100 * i, 100, 0));
    }
    for (guint i = 0; i < 3; i++) {
        delivered(c, &frames[i]);
    }
    r = finish(c, TRUE, FALSE, FALSE, FALSE);
    assert_int_equal(r.violations->len, 0);
    assert_int_equal(r.untouched, 3);
    assert_int_equal(r.payload_sent, 300);
    assert_int_equal(r.payload_matched, 300);
    fuzz_check_result_clear(&r);
}

static void test_exact_merge_passes(void **state)
{
    g_autoptr(FuzzChecker) c = fuzz_checker_new();
    const Frame *rest[] = {&frames[1], &frames[2]};
    FuzzCheckResult r;

    segment(&frames[0], UINT32_MAX - 49, 100, 0); /* wraps at 2^32 */
    segment(&frames[1], 50, 1000, 0);
    segment(&frames[2], 1050, 7, 0);
    for (guint i = 0; i < 3; i++) {
        sent(c, &frames[i]);
    }
    merged(&out, &frames[0], frames[0].len, rest, 2, 3);
    delivered(c, &out);
    r = finish(c, TRUE, FALSE, FALSE, FALSE);
    assert_int_equal(r.violations->len, 0);
    assert_int_equal(r.merged_frames, 1);
    assert_int_equal(r.merged_segments, 3);
    assert_int_equal(r.payload_matched, 1107);
    fuzz_check_result_clear(&r);
}

static void test_altered_payload_is_caught(void **state)
{
    g_autoptr(FuzzChecker) c = fuzz_checker_new();
    const Frame *rest[] = {&frames[1]};
    FuzzCheckResult r;

    sent(c, segment(&frames[0], 1000, 100, 0));
    sent(c, segment(&frames[1], 1100, 100, 0));
    merged(&out, &frames[0], frames[0].len, rest, 1, 2);
    out.data[HDR + 54 + 150] ^= 1;
    delivered(c, &out);
    r = finish(c, FALSE, TRUE, TRUE, TRUE);
    /* a changed byte is no documented reason, whatever happened */
    assert_int_equal(count(&r, FUZZ_VIOLATION_ALTERED), 1);
    fuzz_check_result_clear(&r);
}

/* QEMU 10.0 appends the next payload after the cached frame's trailer. */
static void test_trailer_taken_for_payload_is_caught(void **state)
{
    g_autoptr(FuzzChecker) c = fuzz_checker_new();
    const Frame *rest[] = {&frames[1]};
    FuzzCheckResult r;

    sent(c, segment(&frames[0], 1000, 2, 4)); /* 60-byte minimum frame */
    sent(c, segment(&frames[1], 1002, 500, 0));
    merged(&out, &frames[0], frames[0].len, rest, 1, 2);
    delivered(c, &out);
    r = finish(c, TRUE, FALSE, FALSE, FALSE);
    assert_int_equal(count(&r, FUZZ_VIOLATION_ALTERED), 1);
    assert_int_equal(count(&r, FUZZ_VIOLATION_LOST), 2);
    fuzz_check_result_clear(&r);

    /* appended at the end of the IP packet instead: right */
    c = (fuzz_checker_free(c), fuzz_checker_new());
    sent(c, &frames[0]);
    sent(c, &frames[1]);
    merged(&out, &frames[0], frames[0].len - 4, rest, 1, 2);
    delivered(c, &out);
    r = finish(c, TRUE, FALSE, FALSE, FALSE);
    assert_int_equal(r.violations->len, 0);
    fuzz_check_result_clear(&r);
}

static void test_loss_and_its_reasons(void **state)
{
    struct {
        gboolean strict, ring_full, reset;
        guint lost;
        FuzzAccount account;
    } cases[] = {
        {TRUE, FALSE, FALSE, 1, FUZZ_ACCOUNT_COUNT},
        {FALSE, TRUE, FALSE, 0, FUZZ_ACCOUNT_RING_FULL},
        {TRUE, TRUE, FALSE, 1, FUZZ_ACCOUNT_COUNT},
        {TRUE, FALSE, TRUE, 0, FUZZ_ACCOUNT_RESET},
    };

    for (guint k = 0; k < G_N_ELEMENTS(cases); k++) {
        g_autoptr(FuzzChecker) c = fuzz_checker_new();
        FuzzCheckResult r;

        sent(c, segment(&frames[0], 1000, 100, 0));
        sent(c, segment(&frames[1], 1100, 100, 0));
        delivered(c, &frames[0]);
        r = finish(c, cases[k].strict, cases[k].ring_full, cases[k].reset,
                   FALSE);
        assert_int_equal(count(&r, FUZZ_VIOLATION_LOST), cases[k].lost);
        if (cases[k].account < FUZZ_ACCOUNT_COUNT) {
            assert_int_equal(r.accounted[cases[k].account], 1);
        }
        fuzz_check_result_clear(&r);
    }
}

static void test_duplicate_is_caught(void **state)
{
    g_autoptr(FuzzChecker) c = fuzz_checker_new();
    FuzzCheckResult r;

    sent(c, segment(&frames[0], 1000, 100, 0));
    delivered(c, &frames[0]);
    delivered(c, &frames[0]);
    r = finish(c, FALSE, TRUE, TRUE, TRUE);
    assert_int_equal(count(&r, FUZZ_VIOLATION_ALTERED), 1);
    assert_int_equal(r.untouched, 1);
    fuzz_check_result_clear(&r);
}

static void test_reorder_is_caught(void **state)
{
    for (guint strict = 0; strict < 2; strict++) {
        g_autoptr(FuzzChecker) c = fuzz_checker_new();
        FuzzCheckResult r;

        sent(c, segment(&frames[0], 1000, 100, 0));
        sent(c, segment(&frames[1], 1100, 100, 0));
        delivered(c, &frames[1]);
        delivered(c, &frames[0]);
        r = finish(c, strict, FALSE, FALSE, FALSE);
        assert_int_equal(count(&r, FUZZ_VIOLATION_REORDERED), 1);
        fuzz_check_result_clear(&r);

        /* RSC switched off mid-coalesce: stock behaviour when lenient */
        c = (fuzz_checker_free(c), fuzz_checker_new());
        sent(c, &frames[0]);
        sent(c, &frames[1]);
        delivered(c, &frames[1]);
        delivered(c, &frames[0]);
        r = finish(c, strict, FALSE, FALSE, TRUE);
        assert_int_equal(count(&r, FUZZ_VIOLATION_REORDERED), strict ? 1 : 0);
        assert_int_equal(r.accounted[FUZZ_ACCOUNT_OFFLOADS_OFF],
                         strict ? 0 : 1);
        fuzz_check_result_clear(&r);
    }
}

/* A pure ACK cached, then the same segment sent twice: QEMU merges the
 * ACK's headers with the first copy and delivers the second as it is; the
 * checker cannot tell the copies apart, and must not call that a reorder. */
static void test_retransmitted_copies_are_not_reordered(void **state)
{
    g_autoptr(FuzzChecker) c = fuzz_checker_new();
    const Frame *rest[] = {&frames[1]};
    FuzzCheckResult r;

    sent(c, segment(&frames[0], 1000, 0, 0));
    sent(c, segment(&frames[1], 1000, 100, 0));
    sent(c, &frames[1]);
    merged(&out, &frames[0], frames[0].len, rest, 1, 2);
    delivered(c, &out);
    delivered(c, &frames[1]);
    r = finish(c, TRUE, FALSE, FALSE, FALSE);
    assert_int_equal(r.violations->len, 0);
    fuzz_check_result_clear(&r);
}

static void test_segment_count_is_checked(void **state)
{
    g_autoptr(FuzzChecker) c = fuzz_checker_new();
    const Frame *rest[] = {&frames[1], &frames[2]};
    FuzzCheckResult r;

    for (guint i = 0; i < 3; i++) {
        sent(c, segment(&frames[i], 1000 + 100 * i, 100, 0));
    }
    merged(&out, &frames[0], frames[0].len, rest, 2, 2);
    delivered(c, &out);
    r = finish(c, TRUE, FALSE, FALSE, FALSE);
    assert_int_equal(count(&r, FUZZ_VIOLATION_SEGMENTS), 1);
    assert_int_equal(count(&r, FUZZ_VIOLATION_ALTERED), 0);
    fuzz_check_result_clear(&r);
}

static void test_ack_without_payload_is_absorbed(void **state)
{
    g_autoptr(FuzzChecker) c = fuzz_checker_new();
    const Frame *rest[] = {&frames[2]};
    FuzzCheckResult r;

    sent(c, segment(&frames[0], 1000, 100, 0));
    sent(c, segment(&frames[1], 1100, 0, 0)); /* window update */
    sent(c, segment(&frames[2], 1100, 100, 0));
    merged(&out, &frames[0], frames[0].len, rest, 1, 2);
    delivered(c, &out);
    r = finish(c, TRUE, FALSE, FALSE, FALSE);
    assert_int_equal(r.violations->len, 0);
    assert_int_equal(r.accounted[FUZZ_ACCOUNT_ABSORBED], 1);
    fuzz_check_result_clear(&r);
}

/* A duplicate ACK merged into a data frame leaves its bytes as they were;
 * only the header (RSC_INFO, 2 segments) tells. */
static void test_ack_merged_into_identical_frame_is_absorbed(void **state)
{
    for (guint rsc_info = 0; rsc_info < 2; rsc_info++) {
        g_autoptr(FuzzChecker) c = fuzz_checker_new();
        FuzzCheckResult r;

        sent(c, segment(&frames[0], 1000, 100, 0));
        sent(c, segment(&frames[1], 1100, 0, 0));
        out = frames[0];
        if (rsc_info) {
            out.data[0] = RIG_VIRTIO_NET_HDR_F_RSC_INFO;
            rig_le16_put(out.data + 6, 2);
        }
        delivered(c, &out);
        r = finish(c, TRUE, FALSE, FALSE, FALSE);
        /* without RSC_INFO the ACK is simply missing */
        assert_int_equal(count(&r, FUZZ_VIOLATION_LOST), rsc_info ? 0 : 1);
        assert_int_equal(r.accounted[FUZZ_ACCOUNT_ABSORBED], rsc_info);
        fuzz_check_result_clear(&r);
    }
}

static void test_invented_frame_is_caught(void **state)
{
    g_autoptr(FuzzChecker) c = fuzz_checker_new();
    static const uint8_t junk[HDR + 20] = {0};
    FuzzCheckResult r;

    fuzz_checker_add_delivered(c, junk, sizeof(junk));
    r = finish(c, FALSE, TRUE, TRUE, TRUE);
    assert_int_equal(count(&r, FUZZ_VIOLATION_ALTERED), 1);
    fuzz_check_result_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_untouched_frames_pass),
        cmocka_unit_test(test_exact_merge_passes),
        cmocka_unit_test(test_altered_payload_is_caught),
        cmocka_unit_test(test_trailer_taken_for_payload_is_caught),
        cmocka_unit_test(test_loss_and_its_reasons),
        cmocka_unit_test(test_duplicate_is_caught),
        cmocka_unit_test(test_reorder_is_caught),
        cmocka_unit_test(test_retransmitted_copies_are_not_reordered),
        cmocka_unit_test(test_segment_count_is_checked),
        cmocka_unit_test(test_ack_without_payload_is_absorbed),
        cmocka_unit_test(test_ack_merged_into_identical_frame_is_absorbed),
        cmocka_unit_test(test_invented_frame_is_caught),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
