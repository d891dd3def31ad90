/*
 * The checks engine.  Every check is a pure function of the views; the
 * one piece of shared work is the decomposition of each received data
 * frame into the sent segments it is made of (match_frames()), which the
 * conservation, boundary and window checks all read.
 */
#include "harness/check.h"

#include <string.h>

#define MAX_DETAILS 5

/* How a received data frame maps onto sent data segments. */
typedef struct {
    gboolean matched; /* made of consecutive sent segments of its flow */
    guint first;      /* index in cs->sent->frames */
    guint last;
    guint nsegs;
} FrameMatch;

typedef struct {
    const CheckScenario *cs;
    GArray *matches;     /* FrameMatch per guest frame (same index) */
    guint8 *consumed;    /* per sent frame: times it was matched */
    guint sent_segments; /* data segments sent */
    guint sent_tcp;      /* TCP segments sent (pure ACKs, FIN, ... too) */
    guint64 sent_bytes;
    guint recv_frames; /* data frames received (flow known) */
    guint64 recv_bytes;
    guint coalesced_frames;  /* RSC_INFO set */
    guint64 header_segments; /* sum csum_start (RSC) + 1 per other TCP frame */
    guint recv_tcp_alone;    /* TCP frames received without RSC_INFO */
    guint64 coalesced_segments; /* sum csum_start over RSC frames */
    guint noise_frames;         /* received frames of no scenario flow */
} Match;

static gboolean frame_is_data(const CheckFrame *f)
{
    return f->is_tcp && f->flow != CHECK_FLOW_NONE && f->payload_len > 0;
}

static gboolean frame_is_rsc(const CheckFrame *f)
{
    return (f->hdr_flags & CHECK_HDR_F_RSC_INFO) != 0;
}

static gboolean frame_is_control(const CheckFrame *f)
{
    return f->is_tcp && ((f->tcp_flags & CHECK_TCP_CONTROL) ||
                         (f->tcp_options && !f->ts_only));
}

static CheckFrame *view_frame(const CheckView *v, guint i)
{
    return &g_array_index(v->frames, CheckFrame, i);
}

CheckView *check_view_new(void)
{
    CheckView *v = g_new0(CheckView, 1);

    v->available = TRUE;
    v->has_content = TRUE;
    v->frames = g_array_new(FALSE, TRUE, sizeof(CheckFrame));
    v->payload = g_byte_array_new();
    return v;
}

void check_view_free(CheckView *view)
{
    if (!view) {
        return;
    }
    g_free(view->unavailable_reason);
    g_array_unref(view->frames);
    g_byte_array_unref(view->payload);
    g_free(view);
}

CheckFrame *check_view_add_frame(CheckView *view, const CheckFrame *frame,
                                 const guint8 *payload)
{
    CheckFrame f = *frame;

    f.payload_off = view->payload->len;
    if (payload) {
        g_byte_array_append(view->payload, payload, frame->payload_len);
    } else if (frame->payload_len) {
        g_byte_array_set_size(view->payload,
                              view->payload->len + frame->payload_len);
        memset(view->payload->data + f.payload_off, 0, frame->payload_len);
        view->has_content = FALSE;
    }
    g_array_append_val(view->frames, f);
    return view_frame(view, view->frames->len - 1);
}

void check_view_set_unavailable(CheckView *view, const char *reason)
{
    view->available = FALSE;
    g_free(view->unavailable_reason);
    view->unavailable_reason = g_strdup(reason);
}

static void check_flow_free(gpointer data)
{
    CheckFlow *f = data;

    g_free(f->name);
    g_free(f);
}

CheckScenario *check_scenario_new(const ProfileScenario *scenario)
{
    CheckScenario *cs = g_new0(CheckScenario, 1);

    cs->scenario = scenario;
    cs->flows = g_ptr_array_new_with_free_func(check_flow_free);
    cs->sent = check_view_new();
    cs->guest = check_view_new();
    cs->oracle_qemu = check_view_new();
    cs->oracle_spec = check_view_new();
    cs->device.available = FALSE;
    cs->device.unavailable_reason = g_strdup("not read");
    cs->build = QEMU_BUILD_OTHER;
    return cs;
}

void check_scenario_free(CheckScenario *cs)
{
    if (!cs) {
        return;
    }
    g_ptr_array_unref(cs->flows);
    check_view_free(cs->sent);
    check_view_free(cs->guest);
    check_view_free(cs->oracle_qemu);
    check_view_free(cs->oracle_spec);
    g_free(cs->device.unavailable_reason);
    g_clear_pointer(&cs->unavailable, g_hash_table_unref);
    g_free(cs);
}

void check_scenario_set_unavailable(CheckScenario *cs, const char *check_name,
                                    const char *reason)
{
    if (!cs->unavailable) {
        cs->unavailable =
            g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    }
    g_hash_table_replace(cs->unavailable,
                         g_strdup(check_name ? check_name : "*"),
                         g_strdup(reason));
}

/* A check the QEMU can not support is skipped, never failed. */
static void apply_unavailable(const CheckScenario *cs, CheckResult *r)
{
    const char *why;

    if (!cs->unavailable) {
        return;
    }
    /* A scenario that could not run at all says so on every check. */
    why = g_hash_table_lookup(cs->unavailable, "*");
    if (!why) {
        why = g_hash_table_lookup(cs->unavailable, r->name);
    }
    if (!why) {
        return;
    }
    r->status = CHECK_SKIP;
    g_free(r->observed);
    r->observed = g_strdup("not evaluated");
    g_free(r->detail);
    r->detail = g_strdup(why);
}

guint check_scenario_add_flow(CheckScenario *cs, const char *name,
                              guint8 family)
{
    CheckFlow *f = g_new0(CheckFlow, 1);

    f->name = g_strdup(name);
    f->family = family;
    g_ptr_array_add(cs->flows, f);
    return cs->flows->len - 1;
}

void check_result_free(CheckResult *result)
{
    if (!result) {
        return;
    }
    g_free(result->name);
    g_free(result->expected);
    g_free(result->observed);
    g_free(result->detail);
    g_free(result);
}

const char *check_status_name(CheckStatus status)
{
    switch (status) {
    case CHECK_PASS:
        return "pass";
    case CHECK_FAIL:
        return "fail";
    case CHECK_XFAIL:
        return "xfail";
    case CHECK_XPASS:
        return "xpass";
    case CHECK_SKIP:
    default:
        return "skip";
    }
}

gboolean check_status_fails_verdict(CheckStatus status)
{
    return status == CHECK_FAIL;
}

static CheckResult *result_new(const char *name, gboolean ok, char *expected,
                               char *observed)
{
    CheckResult *r = g_new0(CheckResult, 1);

    r->name = g_strdup(name);
    r->status = ok ? CHECK_PASS : CHECK_FAIL;
    r->expected = expected;
    r->observed = observed;
    return r;
}

static CheckResult *result_skip(const char *name, const char *expected,
                                const char *reason)
{
    CheckResult *r =
        result_new(name, FALSE, g_strdup(expected), g_strdup("not evaluated"));

    r->status = CHECK_SKIP;
    r->detail = g_strdup(reason);
    return r;
}

/* Appends one difference line, at most MAX_DETAILS of them. */
static void detail_add(GString *d, guint *count, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void detail_add(GString *d, guint *count, const char *fmt, ...)
{
    va_list ap;

    (*count)++;
    if (*count > MAX_DETAILS) {
        return;
    }
    if (d->len) {
        g_string_append(d, "; ");
    }
    va_start(ap, fmt);
    g_string_append_vprintf(d, fmt, ap);
    va_end(ap);
}

static char *detail_finish(GString *d, guint count)
{
    if (count > MAX_DETAILS) {
        g_string_append_printf(d, "; ... %u more", count - MAX_DETAILS);
    }
    if (d->len == 0) {
        g_string_free(d, TRUE);
        return NULL;
    }
    return g_string_free(d, FALSE);
}

/*
 * Per flow, unconsumed sent data segments indexed by sequence number, so
 * that a received frame is decomposed in linear time.  A sequence number
 * sent twice (retransmission) keeps its indexes in send order.
 */
typedef struct {
    GHashTable *by_seq; /* (flow << 32 | seq) -> GArray of guint */
} SeqIndex;

static guint64 seq_key(guint flow, guint32 seq)
{
    return ((guint64)flow << 32) | seq;
}

static void seq_index_init(SeqIndex *ix, const CheckView *sent)
{
    ix->by_seq = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                       (GDestroyNotify)g_array_unref);
    for (guint i = 0; i < sent->frames->len; i++) {
        const CheckFrame *f = view_frame(sent, i);
        guint64 key = seq_key(f->flow, f->seq);
        GArray *list;

        if (!frame_is_data(f)) {
            continue;
        }
        list = g_hash_table_lookup(ix->by_seq, &key);
        if (!list) {
            list = g_array_new(FALSE, FALSE, sizeof(guint));
            g_hash_table_insert(ix->by_seq, g_memdup2(&key, sizeof(key)), list);
        }
        g_array_append_val(list, i);
    }
}

/* First unconsumed sent segment of @flow at @seq with index > @after. */
static gboolean seq_index_find(const SeqIndex *ix, const guint8 *consumed,
                               guint flow, guint32 seq, gint64 after,
                               guint *ret_index)
{
    guint64 key = seq_key(flow, seq);
    GArray *list = g_hash_table_lookup(ix->by_seq, &key);

    for (guint i = 0; list && i < list->len; i++) {
        guint idx = g_array_index(list, guint, i);

        if ((gint64)idx > after && !consumed[idx]) {
            *ret_index = idx;
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean content_equal(const CheckView *a, const CheckFrame *fa,
                              guint32 a_off, const CheckView *b,
                              const CheckFrame *fb, guint32 len)
{
    if (!a->has_content || !b->has_content) {
        return TRUE;
    }
    return memcmp(a->payload->data + fa->payload_off + a_off,
                  b->payload->data + fb->payload_off, len) == 0;
}

/* Decomposes guest frame @g into consecutive sent segments. */
static void match_one(Match *m, const SeqIndex *ix, const CheckFrame *g,
                      FrameMatch *fm)
{
    const CheckView *sent = m->cs->sent;
    const CheckView *guest = m->cs->guest;
    GArray *taken = g_array_new(FALSE, FALSE, sizeof(guint));
    guint32 covered = 0;
    gint64 after = -1;

    while (covered < g->payload_len) {
        const CheckFrame *s;
        guint idx;

        if (!seq_index_find(ix, m->consumed, g->flow, g->seq + covered, after,
                            &idx)) {
            break;
        }
        s = view_frame(sent, idx);
        if (s->payload_len > g->payload_len - covered ||
            !content_equal(guest, g, covered, sent, s, s->payload_len)) {
            break;
        }
        m->consumed[idx]++;
        g_array_append_val(taken, idx);
        covered += s->payload_len;
        after = idx;
    }
    if (covered == g->payload_len && taken->len > 0) {
        fm->matched = TRUE;
        fm->first = g_array_index(taken, guint, 0);
        fm->last = g_array_index(taken, guint, taken->len - 1);
        fm->nsegs = taken->len;
    } else {
        for (guint i = 0; i < taken->len; i++) {
            m->consumed[g_array_index(taken, guint, i)]--;
        }
    }
    g_array_unref(taken);
}

static void match_frames(const CheckScenario *cs, Match *m)
{
    const CheckView *sent = cs->sent;
    const CheckView *guest = cs->guest;
    SeqIndex ix;

    memset(m, 0, sizeof(*m));
    m->cs = cs;
    m->matches =
        g_array_sized_new(FALSE, TRUE, sizeof(FrameMatch), guest->frames->len);
    g_array_set_size(m->matches, guest->frames->len);
    m->consumed = g_new0(guint8, sent->frames->len + 1);
    for (guint i = 0; i < sent->frames->len; i++) {
        const CheckFrame *s = view_frame(sent, i);

        if (frame_is_data(s)) {
            m->sent_segments++;
            m->sent_bytes += s->payload_len;
        }
        if (s->is_tcp && s->flow != CHECK_FLOW_NONE) {
            m->sent_tcp++;
        }
    }
    seq_index_init(&ix, sent);
    for (guint i = 0; i < guest->frames->len; i++) {
        const CheckFrame *g = view_frame(guest, i);

        if (g->flow == CHECK_FLOW_NONE) {
            m->noise_frames++;
            continue;
        }
        if (frame_is_rsc(g)) {
            m->coalesced_frames++;
        }
        /* QEMU counts a pure ACK or window update it merges in csum_start:
         * segments are accounted over every TCP segment. */
        if (g->is_tcp && frame_is_rsc(g)) {
            m->header_segments += g->csum_start;
            m->coalesced_segments += g->csum_start;
        } else if (g->is_tcp) {
            m->header_segments++;
            m->recv_tcp_alone++;
        }
        if (!frame_is_data(g)) {
            continue;
        }
        m->recv_frames++;
        m->recv_bytes += g->payload_len;
        match_one(m, &ix, g, &g_array_index(m->matches, FrameMatch, i));
    }
    g_hash_table_unref(ix.by_seq);
}

static void match_clear(Match *m)
{
    g_array_unref(m->matches);
    g_free(m->consumed);
}

static const char *flow_name(const CheckScenario *cs, guint flow)
{
    if (flow >= cs->flows->len) {
        return "?";
    }
    return ((const CheckFlow *)g_ptr_array_index(cs->flows, flow))->name;
}

static CheckResult *check_payload_conserved(const Match *m)
{
    const CheckScenario *cs = m->cs;
    const CheckView *sent = cs->sent;
    const CheckView *guest = cs->guest;
    g_autofree gint64 *last_in_order = g_new(gint64, cs->flows->len + 1);
    GString *d = g_string_new(NULL);
    guint nd = 0, lost_segs = 0, unmatched = 0, disorder = 0;
    guint64 lost_bytes = 0, unmatched_bytes = 0;
    CheckResult *r;

    for (guint f = 0; f <= cs->flows->len; f++) {
        last_in_order[f] = -1;
    }
    for (guint i = 0; i < guest->frames->len; i++) {
        const CheckFrame *g = view_frame(guest, i);
        const FrameMatch *fm = &g_array_index(m->matches, FrameMatch, i);

        if (!frame_is_data(g)) {
            continue;
        }
        if (!fm->matched) {
            unmatched++;
            unmatched_bytes += g->payload_len;
            detail_add(d, &nd,
                       "received frame %u (%s seq %u, %u bytes) is not made "
                       "of sent segments (duplicate or corrupt)",
                       i, flow_name(cs, g->flow), g->seq, g->payload_len);
            continue;
        }
        if (view_frame(sent, fm->first)->may_overtake) {
            continue;
        }
        if ((gint64)fm->first < last_in_order[g->flow]) {
            disorder++;
            detail_add(d, &nd,
                       "received frame %u (%s seq %u) arrived after data "
                       "sent later",
                       i, flow_name(cs, g->flow), g->seq);
        } else {
            last_in_order[g->flow] = fm->last;
        }
    }
    for (guint i = 0; i < sent->frames->len; i++) {
        const CheckFrame *s = view_frame(sent, i);

        if (frame_is_data(s) && !m->consumed[i]) {
            lost_segs++;
            lost_bytes += s->payload_len;
            detail_add(d, &nd, "sent segment %u (%s seq %u, %u bytes) lost", i,
                       flow_name(cs, s->flow), s->seq, s->payload_len);
        }
    }
    r = result_new(
        "payload-conserved", lost_segs == 0 && unmatched == 0 && disorder == 0,
        g_strdup_printf("%" G_GUINT64_FORMAT " bytes in %u segments over %u "
                        "flows, each byte once, in send order",
                        m->sent_bytes, m->sent_segments, cs->flows->len),
        g_strdup_printf("%" G_GUINT64_FORMAT
                        " bytes received; %" G_GUINT64_FORMAT
                        " bytes lost (%u segments); %" G_GUINT64_FORMAT
                        " bytes duplicate or corrupt (%u frames); %u frames "
                        "out of order",
                        m->recv_bytes, lost_bytes, lost_segs, unmatched_bytes,
                        unmatched, disorder));
    r->detail = detail_finish(d, nd);
    return r;
}

/*
 * Segments without data merged into a coalesced frame (window updates):
 * the fixed build does not count them in the segment count (csum_start),
 * stock counts them as data segments; both add up.
 */
static guint64 merged_empty_segments(const Match *m)
{
    const CheckView *sent = m->cs->sent;
    const CheckView *guest = m->cs->guest;
    guint64 n = 0;

    for (guint i = 0; i < guest->frames->len; i++) {
        const CheckFrame *g = view_frame(guest, i);
        const FrameMatch *fm = &g_array_index(m->matches, FrameMatch, i);

        if (!fm->matched || !frame_is_rsc(g)) {
            continue;
        }
        for (guint s = fm->first + 1; s <= fm->last; s++) {
            const CheckFrame *sf = view_frame(sent, s);

            n += sf->flow == g->flow && sf->is_tcp && sf->payload_len == 0;
        }
    }
    return n;
}

/* An ACK-only TCP segment of a known flow: what QEMU may merge as a
 * window update. */
static gboolean frame_is_bare_ack(const CheckFrame *f)
{
    return f->is_tcp && f->flow != CHECK_FLOW_NONE && f->payload_len == 0 &&
           !(f->tcp_flags & CHECK_TCP_CONTROL);
}

/*
 * Window updates QEMU merged without counting them, by its own counter.
 * The matcher above only sees window updates between two merged data
 * segments; one merged after a unit's last data segment (the timer drains
 * the unit before more data comes, which the free clock decides) is seen
 * only by the device.  Trusted only as far as bare ACKs were sent and not
 * delivered alone, so a data segment QEMU takes for a window update (and
 * whose bytes it drops) still fails the check.
 */
static guint64 device_merged_window_updates(const Match *m)
{
    const CheckScenario *cs = m->cs;
    guint64 bare = 0, alone = 0, merged;

    if (!cs->device.available) {
        return 0;
    }
    merged =
        cs->device.delta.ipv4.win_update + cs->device.delta.ipv6.win_update;
    for (guint i = 0; i < cs->sent->frames->len; i++) {
        bare += frame_is_bare_ack(view_frame(cs->sent, i));
    }
    for (guint i = 0; i < cs->guest->frames->len; i++) {
        const CheckFrame *g = view_frame(cs->guest, i);

        alone += frame_is_bare_ack(g) && !frame_is_rsc(g);
    }
    return merged <= bare - MIN(alone, bare) ? merged : 0;
}

static CheckResult *check_segments_conserved(const Match *m)
{
    guint64 empty = merged_empty_segments(m);
    guint64 win_updates = device_merged_window_updates(m);

    return result_new(
        "segments-conserved",
        m->header_segments == m->sent_tcp ||
            (empty && m->header_segments + empty == m->sent_tcp) ||
            (win_updates && m->header_segments + win_updates == m->sent_tcp),
        g_strdup_printf("%u TCP segments (%u with data)", m->sent_tcp,
                        m->sent_segments),
        g_strdup_printf("%" G_GUINT64_FORMAT
                        " (RSC segments of %u coalesced frames + %u TCP "
                        "frames delivered alone); %" G_GUINT64_FORMAT
                        " window updates merged by QEMU's count",
                        m->header_segments, m->coalesced_frames,
                        m->recv_tcp_alone, win_updates));
}

/* Closes a coalescing unit (finalize): FIN, RST, URG, ECE, CWR, TCP
 * options other than a timestamp (Microsoft allows that one), ECN CE.
 * SYN and the sanity-check bypasses do not: data around them keeps
 * coalescing, they only must not be merged themselves. */
static gboolean frame_is_finalizer(const CheckFrame *f)
{
    return f->is_tcp &&
           ((f->tcp_flags & (CHECK_TCP_CONTROL & ~CHECK_TCP_SYN)) ||
            (f->tcp_options && !f->ts_only) || f->ecn == CHECK_ECN_CE);
}

/*
 * A sent segment that must reach the guest on its own: a control segment,
 * a bypass case (IP options, fragment, extension header, not TCP), ECN CE
 * or a bad checksum (Microsoft's exception conditions).  An ECT-marked
 * segment may coalesce with segments of the same marking.
 */
static gboolean frame_must_be_alone(const CheckFrame *f)
{
    return frame_is_control(f) || f->ecn == CHECK_ECN_CE || f->bad_csum ||
           (f->may_overtake && f->ecn == 0);
}

static CheckResult *check_no_cross_boundary(const Match *m)
{
    const CheckScenario *cs = m->cs;
    const CheckView *sent = cs->sent;
    const CheckView *guest = cs->guest;
    GString *d = g_string_new(NULL);
    guint nd = 0, multi = 0;
    CheckResult *r;

    for (guint i = 0; i < guest->frames->len; i++) {
        const CheckFrame *g = view_frame(guest, i);
        const FrameMatch *fm = &g_array_index(m->matches, FrameMatch, i);

        if (!frame_is_data(g) || !fm->matched || fm->nsegs < 2) {
            continue;
        }
        multi++;
        if (g->tcp_flags & CHECK_TCP_CONTROL) {
            detail_add(d, &nd, "frame %u (%s seq %u) carries flags 0x%02x", i,
                       flow_name(cs, g->flow), g->seq, g->tcp_flags);
        }
        for (guint s = fm->first; s <= fm->last; s++) {
            const CheckFrame *sf = view_frame(sent, s);
            gboolean merged = frame_is_data(sf) && s != fm->first;

            if (sf->flow != g->flow) {
                continue;
            }
            if (merged && frame_must_be_alone(sf)) {
                detail_add(
                    d, &nd,
                    "frame %u (%s seq %u, %u segments) merges sent "
                    "segment %u, which must be delivered alone "
                    "(flags 0x%02x%s%s%s%s)",
                    i, flow_name(cs, g->flow), g->seq, fm->nsegs, s,
                    sf->tcp_flags,
                    sf->tcp_options && !sf->ts_only ? ", TCP options" : "",
                    sf->ecn == CHECK_ECN_CE ? ", ECN CE" : "",
                    sf->bad_csum ? ", bad checksum" : "",
                    sf->may_overtake && !sf->ecn ? ", IP bypass case" : "");
            } else if (merged && sf->ecn != view_frame(sent, fm->first)->ecn) {
                detail_add(d, &nd,
                           "frame %u (%s seq %u) merges segments of ECN "
                           "codepoints %u and %u (a change of marking ends "
                           "coalescing)",
                           i, flow_name(cs, g->flow), g->seq,
                           view_frame(sent, fm->first)->ecn, sf->ecn);
            } else if (!frame_is_data(sf) && frame_is_finalizer(sf)) {
                detail_add(d, &nd,
                           "frame %u (%s seq %u, %u segments) spans control "
                           "segment %u (flags 0x%02x%s)",
                           i, flow_name(cs, g->flow), g->seq, fm->nsegs, s,
                           sf->tcp_flags,
                           sf->tcp_options ? ", TCP options" : "");
            }
        }
    }
    for (guint i = 0; i < guest->frames->len; i++) {
        const CheckFrame *g = view_frame(guest, i);
        const FrameMatch *fm = &g_array_index(m->matches, FrameMatch, i);

        if (frame_is_data(g) && !fm->matched && frame_is_rsc(g)) {
            detail_add(d, &nd,
                       "coalesced frame %u (%s seq %u) is not one flow's "
                       "consecutive segments",
                       i, flow_name(cs, g->flow), g->seq);
        }
    }
    r = result_new(
        "no-cross-boundary", nd == 0,
        g_strdup("no frame merges or spans a control segment, "
                 "merges a bypass case or mixes flows"),
        g_strdup_printf("%u violations in %u multi-segment frames", nd, multi));
    r->detail = detail_finish(d, nd);
    return r;
}

static CheckResult *check_frame_size(const CheckScenario *cs)
{
    const CheckView *guest = cs->guest;
    GString *d = g_string_new(NULL);
    guint nd = 0;
    guint32 max_ip = 0;
    CheckResult *r;

    for (guint i = 0; i < guest->frames->len; i++) {
        const CheckFrame *g = view_frame(guest, i);
        /* IPv4: total length; IPv6: payload length, 40 bytes less. */
        guint32 ip =
            g->family == 6 && g->l3_len >= 40 ? g->l3_len - 40 : g->l3_len;

        if (g->family != 4 && g->family != 6) {
            continue;
        }
        max_ip = MAX(max_ip, ip);
        if (ip > 65535) {
            detail_add(d, &nd, "frame %u: IP length %u", i, ip);
        }
    }
    r = result_new("frame-size", nd == 0,
                   g_strdup("IP length <= 65535 on every frame"),
                   g_strdup_printf("largest %u", max_ip));
    r->detail = detail_finish(d, nd);
    return r;
}

static CheckResult *check_rsc_info(const Match *m)
{
    const CheckScenario *cs = m->cs;
    const CheckView *guest = cs->guest;
    GString *d = g_string_new(NULL);
    guint nd = 0, multi = 0;
    CheckResult *r;

    for (guint i = 0; i < guest->frames->len; i++) {
        const CheckFrame *g = view_frame(guest, i);
        const FrameMatch *fm = &g_array_index(m->matches, FrameMatch, i);
        guint8 want_gso = g->family == 6 ? CHECK_GSO_TCPV6 : CHECK_GSO_TCPV4;
        gboolean multi_seg = fm->matched && fm->nsegs > 1;

        if (g->flow == CHECK_FLOW_NONE) {
            continue;
        }
        if (multi_seg) {
            multi++;
        }
        if (!multi_seg && !frame_is_rsc(g)) {
            continue;
        }
        if (!frame_is_rsc(g)) {
            detail_add(d, &nd, "frame %u holds %u segments without RSC_INFO", i,
                       fm->nsegs);
        } else if ((g->gso_type & 0x7f) != want_gso) {
            detail_add(d, &nd, "frame %u: gso_type %u, expected %u", i,
                       g->gso_type, want_gso);
        } else if (g->csum_start == 0) {
            detail_add(d, &nd, "frame %u: RSC_INFO with 0 segments", i);
        }
    }
    r = result_new("rsc-info", nd == 0,
                   g_strdup("RSC_INFO and gso_type TCPV4/TCPV6 on every "
                            "coalesced frame"),
                   g_strdup_printf("%u coalesced frames, %u multi-segment, "
                                   "%u wrong",
                                   m->coalesced_frames, multi, nd));
    r->detail = detail_finish(d, nd);
    return r;
}

/*
 * QEMU drains a chain every rsc_interval while it holds data, so the
 * segments of one coalesced frame reached QEMU within one interval.  They
 * are compared by send time: QEMU's read of the tap adds latency, which
 * timing_slack_ns and window_tolerance (the share of frames allowed over
 * the bound) absorb on a loaded host.  A device ignoring its interval puts
 * nearly every frame over it.
 */
static CheckResult *check_coalescing_window(const Match *m)
{
    const CheckScenario *cs = m->cs;
    const CheckView *sent = cs->sent;
    const CheckView *guest = cs->guest;
    guint64 limit = cs->rsc_interval_ns + cs->timing_slack_ns;
    GString *d = g_string_new(NULL);
    guint nd = 0, multi = 0;
    gint64 max_span = 0;
    double share;
    CheckResult *r;

    for (guint i = 0; i < guest->frames->len; i++) {
        const CheckFrame *g = view_frame(guest, i);
        const FrameMatch *fm = &g_array_index(m->matches, FrameMatch, i);
        gint64 span;

        if (!frame_is_data(g) || !fm->matched || fm->nsegs < 2) {
            continue;
        }
        multi++;
        span = view_frame(sent, fm->last)->time_ns -
               view_frame(sent, fm->first)->time_ns;
        max_span = MAX(max_span, span);
        if (span > (gint64)limit) {
            detail_add(d, &nd,
                       "frame %u: %u segments sent over %" G_GINT64_FORMAT
                       " us",
                       i, fm->nsegs, span / 1000);
        }
    }
    share = multi ? (double)nd / multi : 0.0;
    r = result_new(
        "coalescing-window", share <= cs->window_tolerance,
        g_strdup_printf("segments of a frame sent within %" G_GUINT64_FORMAT
                        " us (rsc_interval + slack) in at least %.1f %% of "
                        "coalesced frames",
                        limit / 1000, 100.0 * (1.0 - cs->window_tolerance)),
        g_strdup_printf("%u of %u frames over (%.1f %%), widest span "
                        "%" G_GINT64_FORMAT " us",
                        nd, multi, 100.0 * share, max_span / 1000));
    r->detail = detail_finish(d, nd);
    return r;
}

static CheckResult *check_checksum_flags(const Match *m)
{
    const CheckScenario *cs = m->cs;
    const CheckView *guest = cs->guest;
    ProfileCsum want = cs->scenario->csum_flags;
    GString *d = g_string_new(NULL);
    guint nd = 0;
    CheckResult *r;

    for (guint i = 0; i < guest->frames->len; i++) {
        const CheckFrame *g = view_frame(guest, i);
        guint8 f = g->hdr_flags;
        gboolean ok;

        if (g->flow == CHECK_FLOW_NONE || !frame_is_rsc(g)) {
            continue;
        }
        switch (want) {
        case PROFILE_CSUM_NONE:
            ok = !(f & (CHECK_HDR_F_NEEDS_CSUM | CHECK_HDR_F_DATA_VALID));
            break;
        case PROFILE_CSUM_NEEDS_CSUM:
            ok = (f & CHECK_HDR_F_NEEDS_CSUM) != 0;
            break;
        case PROFILE_CSUM_DATA_VALID:
            ok = (f & CHECK_HDR_F_DATA_VALID) != 0;
            break;
        case PROFILE_CSUM_ANY:
        default:
            ok = TRUE;
            break;
        }
        if (!ok) {
            detail_add(d, &nd, "frame %u: flags 0x%02x", i, f);
        }
    }
    r = result_new("checksum-flags", nd == 0,
                   g_strdup_printf("checksum flags \"%s\" on every coalesced "
                                   "frame",
                                   profile_csum_name(want)),
                   g_strdup_printf("%u of %u coalesced frames differ", nd,
                                   m->coalesced_frames));
    r->detail = detail_finish(d, nd);
    return r;
}

static CheckResult *check_coalescing_ratio(const Match *m)
{
    double want = m->cs->scenario->min_coalescing_ratio;
    double ratio =
        m->recv_frames ? (double)m->sent_segments / m->recv_frames : 0.0;

    return result_new("coalescing-ratio", m->recv_frames > 0 && ratio >= want,
                      g_strdup_printf(">= %.2f segments per data frame", want),
                      g_strdup_printf("%.2f (%u segments in %u frames)", ratio,
                                      m->sent_segments, m->recv_frames));
}

static CheckResult *check_coalesced_share(const Match *m)
{
    double want = m->cs->scenario->min_coalesced_share;
    double share = m->header_segments ? (double)m->coalesced_segments /
                                            (double)m->header_segments
                                      : 0.0;

    return result_new(
        "coalesced-share", m->header_segments > 0 && share >= want,
        g_strdup_printf(">= %.0f %% of received segments coalesced",
                        want * 100.0),
        g_strdup_printf(
            "%.1f %% (%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT ")",
            share * 100.0, m->coalesced_segments, m->header_segments));
}

static CheckResult *check_frame_count(const Match *m)
{
    gint64 want = m->cs->scenario->expect_frames;

    return result_new("frame-count", (gint64)m->recv_frames == want,
                      g_strdup_printf("%" G_GINT64_FORMAT " data frames", want),
                      g_strdup_printf("%u data frames", m->recv_frames));
}

static CheckResult *check_coalesced_count(const Match *m)
{
    gint64 want = m->cs->scenario->expect_coalesced_frames;

    return result_new(
        "coalesced-count", (gint64)m->coalesced_frames == want,
        g_strdup_printf("%" G_GINT64_FORMAT " coalesced frames", want),
        g_strdup_printf("%u coalesced frames", m->coalesced_frames));
}

static const RscStats *stats_family(const RigRscStats *s, ProfileFamily family)
{
    return family == PROFILE_FAMILY_IPV6 ? &s->ipv6 : &s->ipv4;
}

/* Frames of @family sent; FALSE when some sent frame has no family. */
static gboolean sent_family_frames(const CheckScenario *cs, guint8 family,
                                   guint64 *ret_count)
{
    guint64 n = 0;

    for (guint i = 0; i < cs->sent->frames->len; i++) {
        const CheckFrame *f = view_frame(cs->sent, i);

        if (f->family == 0) {
            return FALSE;
        }
        n += f->family == family;
    }
    *ret_count = n;
    return TRUE;
}

static CheckResult *check_device_counters(const Match *m)
{
    const CheckScenario *cs = m->cs;
    const ProfileScenario *sc = cs->scenario;
    const char *fam = profile_family_name(sc->family);
    const RscStats *dev;
    guint64 want[RSC_STATS_N_FIELDS];
    gboolean have[RSC_STATS_N_FIELDS] = {FALSE};
    g_autoptr(GString) exp = g_string_new(NULL);
    GString *d = g_string_new(NULL);
    guint nd = 0, compared = 0;
    guint64 merges = 0;
    guint8 fam_num;
    CheckResult *r;

    if (!cs->device.available) {
        return result_skip("device-counters",
                           "device counters agree with sent/received/oracle",
                           cs->device.unavailable_reason);
    }
    dev = stats_family(&cs->device.delta, sc->family);
    fam_num = sc->family == PROFILE_FAMILY_IPV6 ? 6 : 4;
    if (cs->oracle_counters_valid) {
        const RscStats *o = stats_family(&cs->oracle_counters, sc->family);

        for (guint i = 0; i < RSC_STATS_N_FIELDS; i++) {
            want[i] = o->counter[i];
            have[i] = TRUE;
        }
        g_string_append_printf(exp, "oracle (%s mode) counters",
                               cs->build == QEMU_BUILD_FIXED ? "spec" : "qemu");
    }
    for (guint i = 0; i < sc->expect_counters->len; i++) {
        const ProfileCounter *c =
            &g_array_index(sc->expect_counters, ProfileCounter, i);
        gint idx = rsc_stats_field_index(c->name);

        if (idx < 0) {
            continue;
        }
        want[idx] = c->value;
        have[idx] = TRUE;
        g_string_append_printf(exp, "%s%s=%" G_GUINT64_FORMAT,
                               exp->len ? ", " : "", c->name, c->value);
    }
    /*
     * Every merge increments "coalesced" once and the segment count of the
     * delivered frame once: holds when no cached segment was dropped.
     */
    if (dev->drain_failed + dev->purge_failed + dev->final_failed == 0) {
        for (guint i = 0; i < cs->guest->frames->len; i++) {
            const CheckFrame *g = view_frame(cs->guest, i);

            if (g->flow != CHECK_FLOW_NONE && frame_is_rsc(g) &&
                g->csum_start > 0 && g->family == fam_num) {
                merges += g->csum_start - 1u;
            }
        }
        compared++;
        if (dev->coalesced != merges) {
            detail_add(
                d, &nd,
                "%s coalesced: %" G_GUINT64_FORMAT
                " merges seen by the guest, device says %" G_GUINT64_FORMAT,
                fam, merges, dev->coalesced);
        }
        g_string_append_printf(exp, "%scoalesced = merges seen by the guest",
                               exp->len ? ", " : "");
    }
    /* Every frame of the family reaches its chain (timing-independent). */
    if (cs->rsc_enabled && !have[RSC_STATS_INDEX(received)] &&
        sent_family_frames(cs, fam_num, &want[RSC_STATS_INDEX(received)])) {
        have[RSC_STATS_INDEX(received)] = TRUE;
        g_string_append_printf(exp, "%sreceived = %s frames sent",
                               exp->len ? ", " : "", fam);
    }
    for (guint i = 0; i < RSC_STATS_N_FIELDS; i++) {
        if (!have[i]) {
            continue;
        }
        compared++;
        if (dev->counter[i] != want[i]) {
            detail_add(d, &nd,
                       "%s %s: expected %" G_GUINT64_FORMAT
                       ", observed %" G_GUINT64_FORMAT,
                       fam, rsc_stats_field_name(i), want[i], dev->counter[i]);
        }
    }
    r = result_new(
        "device-counters", nd == 0, g_strdup_printf("%s: %s", fam, exp->str),
        g_strdup_printf("%u of %u comparisons differ (received "
                        "%" G_GUINT64_FORMAT ", coalesced %" G_GUINT64_FORMAT
                        ")",
                        nd, compared, dev->received, dev->coalesced));
    r->detail = detail_finish(d, nd);
    return r;
}

/* Compares two frame records field by field; returns the first field. */
static const char *frame_diff(const CheckView *ov, const CheckFrame *o,
                              const CheckView *gv, const CheckFrame *g,
                              guint64 *ret_want, guint64 *ret_got)
{
#define FIELD(f)                                                               \
    if (o->f != g->f) {                                                        \
        *ret_want = o->f;                                                      \
        *ret_got = g->f;                                                       \
        return #f;                                                             \
    }
    FIELD(flow)
    FIELD(seq)
    FIELD(payload_len)
    FIELD(tcp_flags)
    FIELD(ack)
    FIELD(window)
    FIELD(l3_len)
    FIELD(hdr_flags)
    FIELD(gso_type)
    FIELD(gso_size)
    FIELD(csum_start)
    FIELD(csum_offset)
#undef FIELD
    if (!content_equal(ov, o, 0, gv, g, o->payload_len)) {
        *ret_want = *ret_got = 0;
        return "payload bytes";
    }
    return NULL;
}

static CheckResult *check_oracle(const CheckScenario *cs, const char *name,
                                 const char *mode, const CheckView *oracle)
{
    const CheckView *guest = cs->guest;
    g_autoptr(GArray) want = g_array_new(FALSE, FALSE, sizeof(guint));
    g_autoptr(GArray) got = g_array_new(FALSE, FALSE, sizeof(guint));
    g_autofree char *expected =
        g_strdup_printf("received frames = rig/rsc prediction (%s mode)", mode);
    GString *d;
    guint nd = 0;
    CheckResult *r;

    if (cs->clock != PROFILE_CLOCK_QTEST) {
        return result_skip(name, expected,
                           "frame-by-frame comparison needs the deterministic "
                           "clock (profile clock = qtest)");
    }
    if (!oracle->available) {
        return result_skip(name, expected, oracle->unavailable_reason);
    }
    if (!guest->available) {
        return result_skip(name, expected, guest->unavailable_reason);
    }
    for (guint i = 0; i < oracle->frames->len; i++) {
        if (view_frame(oracle, i)->flow != CHECK_FLOW_NONE) {
            g_array_append_val(want, i);
        }
    }
    for (guint i = 0; i < guest->frames->len; i++) {
        if (view_frame(guest, i)->flow != CHECK_FLOW_NONE) {
            g_array_append_val(got, i);
        }
    }
    d = g_string_new(NULL);
    for (guint i = 0; i < MIN(want->len, got->len); i++) {
        const CheckFrame *o = view_frame(oracle, g_array_index(want, guint, i));
        const CheckFrame *g = view_frame(guest, g_array_index(got, guint, i));
        guint64 w, o_val;
        const char *field = frame_diff(oracle, o, guest, g, &w, &o_val);

        if (field) {
            detail_add(d, &nd,
                       "frame %u: %s expected %" G_GUINT64_FORMAT
                       ", observed %" G_GUINT64_FORMAT,
                       i, field, w, o_val);
        }
    }
    if (want->len != got->len) {
        detail_add(d, &nd, "expected %u frames, received %u", want->len,
                   got->len);
    }
    r = result_new(name, nd == 0,
                   g_strdup_printf("%s: %u frames", expected, want->len),
                   g_strdup_printf("%u frames, %u differences", got->len, nd));
    r->detail = detail_finish(d, nd);
    if (r->status == CHECK_FAIL && g_str_equal(mode, "spec") &&
        !cs->spec_must_pass) {
        g_autofree char *old = r->detail;

        /* The spec is the target of pending QEMU patches: report, not fail. */
        r->status = CHECK_XFAIL;
        r->detail = g_strdup_printf("known: QEMU does not meet the spec yet "
                                    "(profile spec_must_pass = false); %s",
                                    old ? old : "");
    }
    return r;
}

/* Whether the fixed build has @patch (a file name or its number). */
static gboolean build_has_patch(const CheckScenario *cs, const char *patch)
{
    if (cs->build != QEMU_BUILD_FIXED) {
        return FALSE;
    }
    if (!cs->build_fix_patches) {
        return TRUE;
    }
    for (guint i = 0; cs->build_fix_patches[i]; i++) {
        if (g_str_has_prefix(cs->build_fix_patches[i], patch)) {
            return TRUE;
        }
    }
    return FALSE;
}

/*
 * stock_known_failures apply to a build that lacks one of the fixed_by
 * patches: stock, any other QEMU (it stands for upstream, whose RSC code
 * is stock's) and a fixed build bisected before them.  The full fixed
 * build must pass (certification).
 */
static void apply_stock_failure(const CheckScenario *cs, CheckResult *r)
{
    const ProfileScenario *sc = cs->scenario;
    const char *build = qemu_build_kind_name(cs->build);
    g_autofree char *patches = NULL;
    gboolean lacks = FALSE;

    if (!profile_scenario_is_stock_failure(sc, r->name)) {
        return;
    }
    for (guint i = 0; sc->fixed_by && sc->fixed_by[i]; i++) {
        lacks |= !build_has_patch(cs, sc->fixed_by[i]);
    }
    if (!lacks) {
        return;
    }
    patches = g_strjoinv(" + ", sc->fixed_by);
    if (r->status == CHECK_FAIL) {
        g_autofree char *old = r->detail;

        r->status = CHECK_XFAIL;
        r->detail = g_strdup_printf("known failure on the %s build: %s; fixed "
                                    "by %s%s%s",
                                    build, sc->stock_failure_reason, patches,
                                    old ? "; " : "", old ? old : "");
    } else if (r->status == CHECK_PASS) {
        r->status = CHECK_XPASS;
        r->detail = g_strdup_printf(
            "listed in stock_known_failures (%s, fixed by %s) but passed on "
            "the %s build: this QEMU has the fix",
            sc->stock_failure_reason, patches, build);
    }
}

static void apply_known_failure(const CheckScenario *cs, CheckResult *r)
{
    const ProfileScenario *sc = cs->scenario;

    apply_stock_failure(cs, r);
    if (!profile_scenario_is_known_failure(sc, r->name)) {
        return;
    }
    if (r->status == CHECK_FAIL) {
        g_autofree char *old = r->detail;

        r->status = CHECK_XFAIL;
        r->detail =
            g_strdup_printf("known failure: %s%s%s", sc->known_failure_reason,
                            old ? "; " : "", old ? old : "");
    } else if (r->status == CHECK_PASS) {
        r->status = CHECK_XPASS;
        r->detail = g_strdup_printf("listed as a known failure (%s) but "
                                    "passed: remove it from known_failures",
                                    sc->known_failure_reason);
    }
}

GPtrArray *check_run_all(const CheckScenario *cs)
{
    const ProfileScenario *sc = cs->scenario;
    GPtrArray *results =
        g_ptr_array_new_with_free_func((GDestroyNotify)check_result_free);
    Match m;

    if (!cs->sent->available || !cs->guest->available) {
        const char *why = !cs->sent->available ? cs->sent->unavailable_reason
                                               : cs->guest->unavailable_reason;

        g_ptr_array_add(results, result_skip("payload-conserved",
                                             "sent and received views", why));
    } else {
        match_frames(cs, &m);
        g_ptr_array_add(results, check_payload_conserved(&m));
        g_ptr_array_add(results, check_segments_conserved(&m));
        g_ptr_array_add(results, check_no_cross_boundary(&m));
        g_ptr_array_add(results, check_frame_size(cs));
        g_ptr_array_add(results, check_rsc_info(&m));
        g_ptr_array_add(results, check_coalescing_window(&m));
        if (sc->csum_flags != PROFILE_CSUM_ANY) {
            g_ptr_array_add(results, check_checksum_flags(&m));
        }
        if (sc->min_coalescing_ratio > 0.0) {
            g_ptr_array_add(results, check_coalescing_ratio(&m));
        }
        if (sc->min_coalesced_share > 0.0) {
            g_ptr_array_add(results, check_coalesced_share(&m));
        }
        if (sc->expect_frames >= 0) {
            g_ptr_array_add(results, check_frame_count(&m));
        }
        if (sc->expect_coalesced_frames >= 0) {
            g_ptr_array_add(results, check_coalesced_count(&m));
        }
        g_ptr_array_add(results, check_device_counters(&m));
        match_clear(&m);
    }
    /* qemu mode models stock QEMU: the fixed build must differ from it
     * wherever a fix applies, so there only spec mode is compared. */
    if (sc->oracle && cs->build != QEMU_BUILD_FIXED) {
        g_ptr_array_add(
            results, check_oracle(cs, "oracle-qemu", "qemu", cs->oracle_qemu));
    }
    if (sc->oracle) {
        g_ptr_array_add(
            results, check_oracle(cs, "oracle-spec", "spec", cs->oracle_spec));
    }
    for (guint i = 0; i < results->len; i++) {
        apply_unavailable(cs, g_ptr_array_index(results, i));
        apply_known_failure(cs, g_ptr_array_index(results, i));
    }
    return results;
}
