#include "campaign/conserve.h"

#include <string.h>

#include "net/parse.h"

#define VNET_HDR_LEN RIG_VIRTIO_NET_HDR_V1_LEN

typedef struct {
    GBytes *bytes;
    gboolean tcp;     /* parsed as a TCP segment (not a fragment) */
    gboolean ordered; /* one QEMU may cache: must keep its flow's order */
    gboolean syn;
    gboolean qemu_tcp; /* what QEMU's RSC path takes for TCP: IPv4/IPv6
                        * ethertype and protocol byte 6, however damaged */
    RigNetView view;
    char flow[RIG_FLOW_KEY_STR_MAX];
    gint64 matched_by; /* delivered index, -1 */
} SentFrame;

typedef struct {
    GBytes *frame; /* without the virtio-net header */
    uint8_t flags;
    uint16_t segments;
    gint64 first_sent; /* -1 until matched */
} DeliveredFrame;

struct FuzzChecker {
    GArray *sent;      /* SentFrame */
    GArray *delivered; /* DeliveredFrame */
    GHashTable *flows; /* flow string -> GArray of guint sent indices */
};

static const char *const VIOLATION_NAMES[] = {"altered", "lost", "reordered",
                                              "segments"};
static const char *const ACCOUNT_NAMES[] = {"absorbed", "ring_full", "reset",
                                            "tap_queue", "offloads_off"};
G_STATIC_ASSERT(G_N_ELEMENTS(VIOLATION_NAMES) == FUZZ_VIOLATION_COUNT);
G_STATIC_ASSERT(G_N_ELEMENTS(ACCOUNT_NAMES) == FUZZ_ACCOUNT_COUNT);

const char *fuzz_violation_kind_name(FuzzViolationKind kind)
{
    return (unsigned)kind < FUZZ_VIOLATION_COUNT ? VIOLATION_NAMES[kind] : "?";
}

const char *fuzz_account_name(FuzzAccount account)
{
    return (unsigned)account < FUZZ_ACCOUNT_COUNT ? ACCOUNT_NAMES[account]
                                                  : "?";
}

static void sent_clear(gpointer p)
{
    g_bytes_unref(((SentFrame *)p)->bytes);
}

static void delivered_clear(gpointer p)
{
    g_bytes_unref(((DeliveredFrame *)p)->frame);
}

FuzzChecker *fuzz_checker_new(void)
{
    FuzzChecker *c = g_new0(FuzzChecker, 1);

    c->sent = g_array_new(FALSE, TRUE, sizeof(SentFrame));
    g_array_set_clear_func(c->sent, sent_clear);
    c->delivered = g_array_new(FALSE, TRUE, sizeof(DeliveredFrame));
    g_array_set_clear_func(c->delivered, delivered_clear);
    c->flows = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                     (GDestroyNotify)g_array_unref);
    return c;
}

void fuzz_checker_free(FuzzChecker *c)
{
    if (!c) {
        return;
    }
    g_array_unref(c->sent);
    g_array_unref(c->delivered);
    g_hash_table_unref(c->flows);
    g_free(c);
}

/*
 * The segments QEMU may cache, hence must deliver in order: what its
 * sanity checks let through (IPv4 without options, DF and no fragment, no
 * ECN; IPv6 straight to TCP, no ECN; no SYN), carrying payload.
 */
static gboolean is_ordered(const RigNetView *v)
{
    if (v->has_vlan || v->payload_len == 0 || (v->tos & RIG_ECN_MASK) ||
        (v->tcp_flags & RIG_TCP_SYN)) {
        return FALSE;
    }
    if (v->family == 4) {
        return v->l3_hdr_len == RIG_IPV4_HLEN && v->df && !v->is_fragment;
    }
    return v->ipv6_ext_count == 0;
}

/* QEMU reads the protocol byte at a fixed offset, whatever the rest says. */
static gboolean qemu_sees_tcp(const uint8_t *frame, size_t len)
{
    uint16_t type;

    if (len < RIG_ETH_HLEN + RIG_IPV6_HLEN) {
        return len >= RIG_ETH_HLEN + RIG_IPV4_HLEN &&
               rig_be16_get(frame + 12) == RIG_ETHERTYPE_IPV4 &&
               frame[RIG_ETH_HLEN + 9] == RIG_IPPROTO_TCP;
    }
    type = rig_be16_get(frame + 12);
    return (type == RIG_ETHERTYPE_IPV4 &&
            frame[RIG_ETH_HLEN + 9] == RIG_IPPROTO_TCP) ||
           (type == RIG_ETHERTYPE_IPV6 &&
            frame[RIG_ETH_HLEN + 6] == RIG_IPPROTO_TCP);
}

void fuzz_checker_add_sent(FuzzChecker *c, const uint8_t *frame, size_t len)
{
    SentFrame s = {.bytes = g_bytes_new(frame, len), .matched_by = -1};
    guint index = c->sent->len;

    s.qemu_tcp = qemu_sees_tcp(frame, len);
    if (rig_net_parse(frame, len, 0, &s.view, NULL) == 0 &&
        s.view.protocol == RIG_IPPROTO_TCP && s.view.l4_off != 0 &&
        !s.view.is_fragment) {
        GArray *list;

        s.tcp = TRUE;
        s.syn = (s.view.tcp_flags & RIG_TCP_SYN) != 0;
        s.ordered = is_ordered(&s.view);
        rig_flow_key_format(&s.view.flow, s.flow, sizeof(s.flow));
        list = g_hash_table_lookup(c->flows, s.flow);
        if (!list) {
            list = g_array_new(FALSE, FALSE, sizeof(guint));
            g_hash_table_insert(c->flows, g_strdup(s.flow), list);
        }
        g_array_append_val(list, index);
    }
    g_array_append_val(c->sent, s);
}

void fuzz_checker_add_delivered(FuzzChecker *c, const uint8_t *buf, size_t len)
{
    DeliveredFrame d = {.first_sent = -1};

    if (len >= VNET_HDR_LEN) {
        d.flags = buf[0];
        d.segments = rig_le16_get(buf + 6); /* csum_start */
        d.frame = g_bytes_new(buf + VNET_HDR_LEN, len - VNET_HDR_LEN);
    } else {
        d.frame = g_bytes_new(buf, len);
    }
    g_array_append_val(c->delivered, d);
}

static void violation(FuzzCheckResult *r, FuzzViolationKind kind, gint64 sent,
                      gint64 delivered, const char *fmt, ...)
    G_GNUC_PRINTF(5, 6);

static void violation(FuzzCheckResult *r, FuzzViolationKind kind, gint64 sent,
                      gint64 delivered, const char *fmt, ...)
{
    FuzzViolation *v = g_new0(FuzzViolation, 1);
    va_list ap;

    v->kind = kind;
    v->sent_index = sent;
    v->delivered_index = delivered;
    va_start(ap, fmt);
    v->text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(r->violations, v);
}

static void violation_free(gpointer p)
{
    FuzzViolation *v = p;

    g_free(v->text);
    g_free(v);
}

static const uint8_t *sent_payload(const SentFrame *s)
{
    return (const uint8_t *)g_bytes_get_data(s->bytes, NULL) +
           s->view.payload_off;
}

/* Pass 1: delivered frames identical to a sent one, earliest first. */
static void match_untouched(FuzzChecker *c, FuzzCheckResult *r)
{
    g_autoptr(GHashTable) by_bytes = g_hash_table_new_full(
        g_bytes_hash, g_bytes_equal, NULL, (GDestroyNotify)g_queue_free);

    for (guint i = 0; i < c->sent->len; i++) {
        SentFrame *s = &g_array_index(c->sent, SentFrame, i);
        GQueue *q = g_hash_table_lookup(by_bytes, s->bytes);

        if (!q) {
            q = g_queue_new();
            g_hash_table_insert(by_bytes, s->bytes, q);
        }
        g_queue_push_tail(q, GUINT_TO_POINTER(i));
    }
    for (guint j = 0; j < c->delivered->len; j++) {
        DeliveredFrame *d = &g_array_index(c->delivered, DeliveredFrame, j);
        GQueue *q = g_hash_table_lookup(by_bytes, d->frame);
        guint i;

        if (!q || g_queue_is_empty(q)) {
            continue;
        }
        i = GPOINTER_TO_UINT(g_queue_pop_head(q));
        g_array_index(c->sent, SentFrame, i).matched_by = j;
        d->first_sent = i;
        r->untouched++;
    }
}

/*
 * Tries to explain delivered frame @j as the sent segments of its flow
 * (@list) that start with list[@start_pos] and follow in sequence order,
 * their payloads making its payload exactly.  Marks them matched.
 *
 * Returns: how many segments it merged, 0 when it is no such merge.
 */
static guint try_merge(FuzzChecker *c, GArray *list, guint start_pos,
                       const RigNetView *dv, const uint8_t *dframe, guint j)
{
    g_autoptr(GArray) used = g_array_new(FALSE, FALSE, sizeof(guint));
    const uint8_t *dpay = dframe + dv->payload_off;
    size_t off = 0;
    uint32_t expect = dv->seq;

    for (guint pos = start_pos; pos < list->len && off < dv->payload_len;
         pos++) {
        guint i = g_array_index(list, guint, pos);
        SentFrame *s = &g_array_index(c->sent, SentFrame, i);
        size_t plen = s->view.payload_len;
        gboolean fits = s->matched_by < 0 && !s->syn && plen > 0 &&
                        s->view.seq == expect &&
                        plen <= dv->payload_len - off &&
                        memcmp(dpay + off, sent_payload(s), plen) == 0;

        if (used->len == 0) {
            /* The first segment gives the headers: same L2 header. */
            if (!fits || memcmp(dframe, g_bytes_get_data(s->bytes, NULL),
                                RIG_ETH_HLEN) != 0) {
                return 0;
            }
        } else if (!fits) {
            continue;
        }
        g_array_append_val(used, i);
        off += plen;
        expect += (uint32_t)plen;
    }
    if (off != dv->payload_len || used->len == 0) {
        return 0;
    }
    for (guint k = 0; k < used->len; k++) {
        g_array_index(c->sent, SentFrame, g_array_index(used, guint, k))
            .matched_by = j;
    }
    return used->len;
}

/* A delivered ACK whose window (or flags) changed by a merge. */
static gboolean match_empty(FuzzChecker *c, GArray *list, const RigNetView *dv,
                            guint j, guint *ret_first)
{
    for (guint pos = 0; pos < list->len; pos++) {
        guint i = g_array_index(list, guint, pos);
        SentFrame *s = &g_array_index(c->sent, SentFrame, i);

        if (s->matched_by < 0 && s->view.payload_len == 0 && !s->syn &&
            s->view.seq == dv->seq && s->view.ack == dv->ack) {
            s->matched_by = j;
            *ret_first = i;
            return TRUE;
        }
    }
    return FALSE;
}

static void describe_delivered(GString *out, const RigNetView *v, size_t len)
{
    char flow[RIG_FLOW_KEY_STR_MAX];

    rig_flow_key_format(&v->flow, flow, sizeof(flow));
    g_string_append_printf(out,
                           "%s seq %u ack %u, %zu bytes, IP length %zu, "
                           "payload %zu",
                           flow, v->seq, v->ack, len, v->l3_len,
                           v->payload_len);
}

/* Pass 2: the others must be merges of one flow's segments. */
static void match_merged(FuzzChecker *c, FuzzCheckResult *r,
                         GHashTable *merged_flows)
{
    for (guint j = 0; j < c->delivered->len; j++) {
        DeliveredFrame *d = &g_array_index(c->delivered, DeliveredFrame, j);
        gsize dlen;
        const uint8_t *dframe = g_bytes_get_data(d->frame, &dlen);
        RigNetView dv;
        RigNetError why = RIG_NET_ERR_NONE;
        char flow[RIG_FLOW_KEY_STR_MAX];
        GArray *list;
        guint n = 0, first = 0;
        g_autoptr(GString) text = g_string_new(NULL);

        if (d->first_sent >= 0) {
            continue;
        }
        if (rig_net_parse(dframe, dlen, 0, &dv, &why) != 0 ||
            dv.protocol != RIG_IPPROTO_TCP || dv.l4_off == 0) {
            violation(r, FUZZ_VIOLATION_ALTERED, -1, j,
                      "delivered frame %u (%zu bytes) is no sent frame and "
                      "no TCP segment (%s)",
                      j, (size_t)dlen,
                      why ? rig_net_error_name(why) : "not TCP");
            continue;
        }
        rig_flow_key_format(&dv.flow, flow, sizeof(flow));
        list = g_hash_table_lookup(c->flows, flow);
        if (list && dv.payload_len == 0 &&
            match_empty(c, list, &dv, j, &first)) {
            d->first_sent = first;
            g_hash_table_add(merged_flows, g_strdup(flow));
            continue;
        }
        for (guint pos = 0; list && pos < list->len && n == 0; pos++) {
            n = try_merge(c, list, pos, &dv, dframe, j);
            first = g_array_index(list, guint, pos);
        }
        if (n == 0) {
            describe_delivered(text, &dv, dlen);
            violation(r, FUZZ_VIOLATION_ALTERED, -1, j,
                      "delivered frame %u (%s) is no sent frame and its "
                      "payload is not the payload of consecutive sent "
                      "segments of its flow",
                      j, text->str);
            continue;
        }
        d->first_sent = first;
        g_hash_table_add(merged_flows, g_strdup(flow));
        if (n >= 2) {
            r->merged_frames++;
            r->merged_segments += n;
            if (!(d->flags & RIG_VIRTIO_NET_HDR_F_RSC_INFO)) {
                violation(r, FUZZ_VIOLATION_SEGMENTS, first, j,
                          "delivered frame %u merges %u segments of %s but "
                          "its header has no RSC_INFO",
                          j, n, flow);
            } else if (d->segments < n) {
                violation(r, FUZZ_VIOLATION_SEGMENTS, first, j,
                          "delivered frame %u merges %u segments of %s but "
                          "its header says %u",
                          j, n, flow, d->segments);
            }
        }
    }
}

/* Two sends of the same bytes at the same seq (a retransmission): which
 * one a delivered frame stands for cannot be told, so no order between
 * them either. */
static gboolean same_data(const SentFrame *a, const SentFrame *b)
{
    return a->view.seq == b->view.seq &&
           a->view.payload_len == b->view.payload_len &&
           memcmp(sent_payload(a), sent_payload(b), a->view.payload_len) == 0;
}

/* Pass 3: per flow, cacheable segments in the order they were sent. */
static void check_order(FuzzChecker *c, const FuzzRoundEvents *ev,
                        FuzzCheckResult *r)
{
    g_autoptr(GHashTable) last = g_hash_table_new(g_str_hash, g_str_equal);

    for (guint j = 0; j < c->delivered->len; j++) {
        DeliveredFrame *d = &g_array_index(c->delivered, DeliveredFrame, j);
        SentFrame *s;
        gpointer prev;

        if (d->first_sent < 0) {
            continue;
        }
        s = &g_array_index(c->sent, SentFrame, d->first_sent);
        if (!s->ordered) {
            continue;
        }
        if (g_hash_table_lookup_extended(last, s->flow, NULL, &prev) &&
            GPOINTER_TO_SIZE(prev) > (gsize)d->first_sent + 1 &&
            !same_data(
                &g_array_index(c->sent, SentFrame, GPOINTER_TO_SIZE(prev) - 1),
                s)) {
            if (ev->reset) {
                r->accounted[FUZZ_ACCOUNT_RESET]++;
            } else if (ev->offloads_off && !ev->strict) {
                r->accounted[FUZZ_ACCOUNT_OFFLOADS_OFF]++;
            } else {
                violation(r, FUZZ_VIOLATION_REORDERED, d->first_sent, j,
                          "%s: segment sent #%" G_GINT64_FORMAT
                          " (seq %u) delivered after segment sent #%zu%s",
                          s->flow, d->first_sent, s->view.seq,
                          GPOINTER_TO_SIZE(prev) - 1,
                          ev->offloads_off ? " (RSC was switched off with "
                                             "segments cached)"
                                           : "");
            }
            continue;
        }
        g_hash_table_insert(last, s->flow,
                            GSIZE_TO_POINTER((gsize)d->first_sent + 1));
    }
}

/* Pass 4: what never came out. */
static void account_missing(FuzzChecker *c, const FuzzRoundEvents *ev,
                            GHashTable *merged_flows, FuzzCheckResult *r)
{
    guint64 tap_left = ev->tap_dropped;

    for (guint i = 0; i < c->sent->len; i++) {
        SentFrame *s = &g_array_index(c->sent, SentFrame, i);
        gsize len;

        if (s->matched_by >= 0) {
            if (s->tcp) {
                r->payload_matched += s->view.payload_len;
            }
            continue;
        }
        g_bytes_get_data(s->bytes, &len);
        if (s->tcp && s->view.payload_len == 0 && !s->syn &&
            g_hash_table_contains(merged_flows, s->flow)) {
            r->accounted[FUZZ_ACCOUNT_ABSORBED]++;
        } else if (ev->reset) {
            r->accounted[FUZZ_ACCOUNT_RESET]++;
        } else if (tap_left > 0) {
            tap_left--;
            r->accounted[FUZZ_ACCOUNT_TAP_QUEUE]++;
        } else if (ev->ring_full_drops && s->qemu_tcp && !ev->strict) {
            r->accounted[FUZZ_ACCOUNT_RING_FULL]++;
        } else if (s->tcp) {
            violation(r, FUZZ_VIOLATION_LOST, i, -1,
                      "sent #%u (%s seq %u, %zu bytes, payload %zu) never "
                      "came out%s",
                      i, s->flow, s->view.seq, (size_t)len, s->view.payload_len,
                      ev->ring_full_drops
                          ? " (QEMU freed cached segments at a full RX ring)"
                          : "");
        } else {
            violation(r, FUZZ_VIOLATION_LOST, i, -1,
                      "sent #%u (%zu bytes, not a TCP segment) never came "
                      "out",
                      i, (size_t)len);
        }
    }
}

void fuzz_checker_finish(FuzzChecker *c, const FuzzRoundEvents *events,
                         FuzzCheckResult *r)
{
    g_autoptr(GHashTable) merged_flows =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    memset(r, 0, sizeof(*r));
    r->violations = g_ptr_array_new_with_free_func(violation_free);
    r->sent = c->sent->len;
    r->delivered = c->delivered->len;
    for (guint i = 0; i < c->sent->len; i++) {
        SentFrame *s = &g_array_index(c->sent, SentFrame, i);

        if (s->tcp) {
            r->payload_sent += s->view.payload_len;
        }
    }
    match_untouched(c, r);
    match_merged(c, r, merged_flows);
    /* A segment without payload merged into a frame whose bytes it did not
     * change (a duplicate ACK): the header still says RSC_INFO. */
    for (guint j = 0; j < c->delivered->len; j++) {
        const DeliveredFrame *d =
            &g_array_index(c->delivered, DeliveredFrame, j);
        const SentFrame *s;

        if (d->first_sent < 0 || !(d->flags & RIG_VIRTIO_NET_HDR_F_RSC_INFO)) {
            continue;
        }
        s = &g_array_index(c->sent, SentFrame, d->first_sent);
        if (s->tcp) {
            g_hash_table_add(merged_flows, g_strdup(s->flow));
        }
    }
    check_order(c, events, r);
    account_missing(c, events, merged_flows, r);
}

void fuzz_check_result_clear(FuzzCheckResult *r)
{
    g_clear_pointer(&r->violations, g_ptr_array_unref);
}
