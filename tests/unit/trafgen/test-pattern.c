/*
 * Pattern grammar and expansion: every built-in case, segment by segment
 * (flags, seq, ack, window, payload length, knobs), and the frames the
 * segments become, decoded again with rig/net's parser.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/build.h"
#include "net/checksum.h"
#include "net/parse.h"
#include "trafgen/frame.h"
#include "trafgen/pattern.h"

#define A   RIG_TCP_ACK
#define FA  (RIG_TCP_FIN | RIG_TCP_ACK)
#define RA  (RIG_TCP_RST | RIG_TCP_ACK)
#define PA  (RIG_TCP_PSH | RIG_TCP_ACK)
#define UA  (RIG_TCP_URG | RIG_TCP_ACK)
#define EA  (RIG_TCP_ECE | RIG_TCP_ACK)
#define CA  (RIG_TCP_CWR | RIG_TCP_ACK)
#define SYN RIG_TCP_SYN
#define UDP 0xffff /* marks a UDP datagram in the tables */
#define ARP 0xfffe /* marks an ARP request in the tables */

/* Expected segment, relative to the flow's start: seq from isn + 1, ack
 * from the initial ack, window from the default window. */
typedef struct {
    uint16_t flags;
    int64_t seq;
    int64_t ack;
    uint32_t len;
    int32_t win;
} Expect;

#define D(seq)                                                                 \
    {                                                                          \
        A, (seq), 0, 1000, 0                                                   \
    }

static GArray *expand(const char *text, gboolean ipv6, guint flow)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(TrafgenPattern) p = trafgen_pattern_parse(text, &error);
    GArray *out = g_array_new(FALSE, TRUE, sizeof(TrafgenSegment));
    TrafgenCursor c;
    TrafgenSegment seg;

    assert_non_null(p);
    assert_true(trafgen_pattern_check_family(p, ipv6, NULL));
    trafgen_cursor_init(&c, p, flow, 1000, ipv6);
    while (trafgen_cursor_next(&c, &seg)) {
        g_array_append_val(out, seg);
    }
    assert_int_equal(out->len, trafgen_pattern_slots(p));
    return out;
}

static GArray *expand_builtin(const char *name, gboolean ipv6)
{
    g_autofree char *text = trafgen_pattern_builtin(name, ipv6, 1, NULL);

    assert_non_null(text);
    return expand(text, ipv6, 0);
}

static void check(GArray *segs, const Expect *expect, size_t n)
{
    TrafgenFlowState st;

    trafgen_flow_state_init(&st, 0);
    assert_int_equal(segs->len, n);
    for (size_t i = 0; i < n; i++) {
        const TrafgenSegment *s = &g_array_index(segs, TrafgenSegment, i);

        if (expect[i].flags == UDP) {
            assert_int_equal(s->kind, TRAFGEN_STEP_UDP);
            assert_int_equal(s->payload_len, expect[i].len);
            continue;
        }
        if (expect[i].flags == ARP) {
            /* not TCP: no seq/ack/window, no payload, no delimiter */
            assert_int_equal(s->kind, TRAFGEN_STEP_ARP);
            assert_int_equal(s->flags, 0);
            assert_int_equal(s->seq, 0);
            assert_int_equal(s->ack, 0);
            assert_int_equal(s->window, 0);
            assert_int_equal(s->payload_len, 0);
            assert_false(s->delimiter);
            continue;
        }
        if (s->flags != expect[i].flags || s->payload_len != expect[i].len ||
            s->seq != (uint32_t)(st.snd_nxt + expect[i].seq) ||
            s->ack != (uint32_t)(st.ack + expect[i].ack) ||
            s->window != (uint16_t)(st.window + expect[i].win)) {
            fail_msg("segment %zu: expected flags %#x seq +%" G_GINT64_FORMAT
                     " ack +%" G_GINT64_FORMAT " len %u win %+d, got flags "
                     "%#x seq +%u ack +%u len %u win %+d",
                     i, expect[i].flags, expect[i].seq, expect[i].ack,
                     expect[i].len, expect[i].win, s->flags,
                     s->seq - st.snd_nxt, s->ack - st.ack, s->payload_len,
                     (int)s->window - (int)st.window);
        }
        assert_int_equal(s->delimiter,
                         (s->flags & (RIG_TCP_FIN | RIG_TCP_RST)) != 0);
    }
    /* every built-in case ends with its delimiter */
    assert_true(g_array_index(segs, TrafgenSegment, n - 1).delimiter);
}

#define CHECK_BUILTIN(name, ipv6, ...)                                         \
    do {                                                                       \
        static const Expect e[] = {__VA_ARGS__};                               \
        g_autoptr(GArray) s = expand_builtin(name, ipv6);                      \
        check(s, e, G_N_ELEMENTS(e));                                          \
    } while (0)

static void test_flag_cases(void **state)
{
    for (int v6 = 0; v6 <= 1; v6++) {
        CHECK_BUILTIN("syn", v6, D(0), D(1000), D(2000), {SYN, 3000, 0, 0, 0},
                      D(3000), D(4000), D(5000), {FA, 6000, 0, 0, 0});
        CHECK_BUILTIN("fin", v6, D(0), D(1000), D(2000), {FA, 3000, 0, 0, 0});
        CHECK_BUILTIN("rst", v6, D(0), D(1000), D(2000), {RA, 3000, 0, 0, 0});
        CHECK_BUILTIN("urg", v6, D(0), D(1000), D(2000), {UA, 3000, 0, 1000, 0},
                      D(4000), D(5000), {FA, 6000, 0, 0, 0});
        CHECK_BUILTIN("ece", v6, D(0), D(1000), D(2000), {EA, 3000, 0, 1000, 0},
                      D(4000), D(5000), {FA, 6000, 0, 0, 0});
        CHECK_BUILTIN("cwr", v6, D(0), D(1000), D(2000), {CA, 3000, 0, 1000, 0},
                      D(4000), D(5000), {FA, 6000, 0, 0, 0});
        CHECK_BUILTIN("psh", v6, D(0), D(1000), {PA, 2000, 0, 1000, 0}, D(3000),
                      D(4000), {FA, 5000, 0, 0, 0});
    }
}

static void test_ack_cases(void **state)
{
    for (int v6 = 0; v6 <= 1; v6++) {
        CHECK_BUILTIN("pureack", v6, D(0), D(1000), D(2000),
                      {A, 3000, 100, 0, 0}, {A, 3000, 100, 1000, 0},
                      {A, 4000, 100, 1000, 0}, {FA, 5000, 100, 0, 0});
        CHECK_BUILTIN("dupack", v6, D(0), D(1000), {A, 2000, 100, 0, 0},
                      {A, 2000, 100, 0, 0}, {A, 2000, 100, 0, 0},
                      {A, 2000, 100, 1000, 0}, {A, 3000, 100, 1000, 0},
                      {FA, 4000, 100, 0, 0});
        CHECK_BUILTIN("winupdate", v6, D(0), D(1000), {A, 2000, 100, 0, 0},
                      {A, 2000, 100, 0, 1024}, {A, 2000, 100, 1000, 1024},
                      {A, 3000, 100, 1000, 1024}, {FA, 4000, 100, 0, 1024});
        CHECK_BUILTIN("afterack", v6, {A, 0, 100, 0, 0}, {A, 0, 100, 1000, 0},
                      {A, 1000, 100, 1000, 0}, {A, 2000, 100, 1000, 0},
                      {FA, 3000, 100, 0, 0});
    }
}

static void test_order_and_window_cases(void **state)
{
    for (int v6 = 0; v6 <= 1; v6++) {
        /* the hole is one segment wide; later data fills it */
        CHECK_BUILTIN("ooo", v6, D(0), D(1000), D(2000), D(4000), D(3000),
                      D(4000), {FA, 5000, 0, 0, 0});
        CHECK_BUILTIN("retrans", v6, D(0), D(1000), D(2000), D(2000), D(3000),
                      D(4000), {FA, 5000, 0, 0, 0});
        CHECK_BUILTIN("seqoow", v6, D(0), D(1000), D(2000), D(73000), D(3000),
                      D(4000), {FA, 5000, 0, 0, 0});
        CHECK_BUILTIN("ackoow", v6, D(0), D(1000), D(2000),
                      {A, 3000, 70000, 1000, 0}, D(4000), D(5000),
                      {FA, 6000, 0, 0, 0});
    }
}

static void test_header_knob_cases(void **state)
{
    const struct {
        const char *name;
        gboolean v4;
        gboolean v6;
        size_t knob_offset;
    } cases[] = {
        {"ipopt", TRUE, FALSE, G_STRUCT_OFFSET(TrafgenKnobs, ipopt)},
        {"nodf", TRUE, FALSE, G_STRUCT_OFFSET(TrafgenKnobs, nodf)},
        {"frag", TRUE, TRUE, G_STRUCT_OFFSET(TrafgenKnobs, frag)},
        {"ecn", TRUE, TRUE, G_STRUCT_OFFSET(TrafgenKnobs, ecn)},
        {"exthdr", FALSE, TRUE, G_STRUCT_OFFSET(TrafgenKnobs, exthdr)},
    };
    static const Expect e[] = {D(0),    D(1000), D(2000),
                               D(3000), D(4000), {FA, 5000, 0, 0, 0}};

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        for (int v6 = 0; v6 <= 1; v6++) {
            g_autoptr(GError) error = NULL;
            g_autofree char *text =
                trafgen_pattern_builtin(cases[i].name, v6, 1, &error);
            g_autoptr(GArray) s = NULL;

            if (!(v6 ? cases[i].v6 : cases[i].v4)) {
                assert_null(text);
                assert_non_null(error);
                continue;
            }
            s = expand(text, v6, 0);
            check(s, e, G_N_ELEMENTS(e));
            for (guint k = 0; k < s->len; k++) {
                const TrafgenSegment *seg =
                    &g_array_index(s, TrafgenSegment, k);
                gboolean on = G_STRUCT_MEMBER(gboolean, &seg->knobs,
                                              cases[i].knob_offset);

                assert_int_equal(on, k == 2);
            }
        }
    }
}

static void test_misc_cases(void **state)
{
    for (int v6 = 0; v6 <= 1; v6++) {
        g_autoptr(GArray) ts = NULL;
        g_autoptr(GArray) big = NULL;
        g_autoptr(GArray) bad = NULL;
        uint64_t total = 0;

        CHECK_BUILTIN("nontcp", v6, D(0), D(1000), {UDP, 0, 0, 1000, 0},
                      D(2000), D(3000), {FA, 4000, 0, 0, 0});
        /* the ARP request consumes no sequence space */
        CHECK_BUILTIN("nonip", v6, D(0), D(1000), {ARP, 0, 0, 0, 0}, D(2000),
                      D(3000), {FA, 4000, 0, 0, 0});
        CHECK_BUILTIN("tsopt", v6, D(0), D(1000), D(2000), D(3000),
                      {FA, 4000, 0, 0, 0});
        ts = expand_builtin("tsopt", v6);
        for (guint k = 0; k < 4; k++) {
            const TrafgenSegment *seg = &g_array_index(ts, TrafgenSegment, k);

            assert_true(seg->knobs.ts);
            assert_int_equal(seg->tsval, k + 1);
        }

        big = expand_builtin("oversize", v6);
        assert_int_equal(big->len, 49);
        for (guint k = 0; k < 48; k++) {
            total += g_array_index(big, TrafgenSegment, k).payload_len;
        }
        /* the run's payload crosses the 64 KiB RSC limit */
        assert_true(total > 65535);
        assert_int_equal(g_array_index(big, TrafgenSegment, 48).flags, FA);

        bad = expand_builtin("malformed", v6);
        assert_int_equal(bad->len, v6 ? 9 : 10);
    }
}

static void test_whql_and_all(void **state)
{
    g_autofree char *whql = trafgen_pattern_builtin("whql", FALSE, 250, NULL);
    g_autofree char *all4 = trafgen_pattern_builtin("all", FALSE, 1, NULL);
    g_autofree char *all6 = trafgen_pattern_builtin("all", TRUE, 1, NULL);
    g_autofree char *twice = trafgen_pattern_builtin("fin", FALSE, 2, NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(GArray) w = NULL;

    assert_string_equal(whql, "data*250");
    w = expand(whql, FALSE, 0);
    assert_int_equal(w->len, 250);
    assert_int_equal(g_array_index(w, TrafgenSegment, 249).seq,
                     g_array_index(w, TrafgenSegment, 0).seq + 249 * 1000);
    assert_null(trafgen_pattern_builtin("whql", FALSE, 0, &error));
    g_clear_error(&error);

    assert_string_equal(twice, "data*3,fin,data*3,fin");
    assert_non_null(strstr(all4, "ipopt"));
    assert_null(strstr(all4, "exthdr"));
    assert_non_null(strstr(all6, "exthdr"));
    assert_null(strstr(all6, "ipopt"));
    assert_null(strstr(all6, "nodf"));
    g_array_unref(expand(all4, FALSE, 0));
    g_array_unref(expand(all6, TRUE, 0));

    assert_null(trafgen_pattern_builtin("nosuch", FALSE, 1, &error));
    assert_non_null(strstr(error->message, "nosuch"));
    for (const char *const *n = trafgen_pattern_builtin_names(); *n; n++) {
        g_autofree char *t4 = trafgen_pattern_builtin(*n, FALSE, 1, NULL);
        g_autofree char *t6 = trafgen_pattern_builtin(*n, TRUE, 1, NULL);

        assert_true(t4 != NULL || t6 != NULL);
    }
}

static void test_grammar(void **state)
{
    static const char *const bad[] = {
        "",
        "dat",
        "data*x",
        "data:len=70000",
        "data:foo",
        "data:seq=5",
        "data:iplen=x",
        "data:doff=16",
        "data:doff=-1",
        "data:doff",
        "data*3,,fin",
        "data:psh=1",
        "ack:adv=-1",
        /* issue 11 item 3: an empty knob was a NULL name (segfault) */
        "data:",
        "data*4:,fin",
        "data::psh",
        "data: ",
        "data:=5",
        "data:psh:",
    };
    g_autoptr(GArray) s = NULL;
    const TrafgenSegment *seg;

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(TrafgenPattern) p = trafgen_pattern_parse(bad[i], &error);

        if (p != NULL) {
            fail_msg("'%s' parsed", bad[i]);
        }
        assert_non_null(error);
    }

    s = expand(" data*2:len=10:psh , ack:adv=7 ,winupd:win=100, idle*2, "
               "fin:len=5, data:seq=-3:ack=+2:trunc=50:iplen=long:badcsum",
               FALSE, 0);
    assert_int_equal(s->len, 8);
    seg = &g_array_index(s, TrafgenSegment, 1);
    assert_int_equal(seg->payload_len, 10);
    assert_int_equal(seg->flags, PA);
    seg = &g_array_index(s, TrafgenSegment, 2);
    assert_int_equal(seg->ack - g_array_index(s, TrafgenSegment, 0).ack, 7);
    seg = &g_array_index(s, TrafgenSegment, 3);
    assert_int_equal(seg->window, 100);
    assert_int_equal(g_array_index(s, TrafgenSegment, 4).kind,
                     TRAFGEN_STEP_IDLE);
    seg = &g_array_index(s, TrafgenSegment, 6);
    assert_int_equal(seg->flags, FA);
    assert_int_equal(seg->payload_len, 5);
    assert_int_equal(seg->window, 100); /* win= persists */
    seg = &g_array_index(s, TrafgenSegment, 7);
    /* snd_nxt after FIN with 5 bytes: +20 data +5 +1 */
    assert_int_equal(seg->seq,
                     g_array_index(s, TrafgenSegment, 0).seq + 26 - 3);
    assert_int_equal(seg->ack, g_array_index(s, TrafgenSegment, 2).ack + 2);
    assert_int_equal(seg->knobs.trunc, 50);
    assert_int_equal(seg->knobs.iplen, TRAFGEN_IPLEN_LONG);
    assert_true(seg->knobs.badcsum);
}

static void test_family_check(void **state)
{
    g_autoptr(TrafgenPattern) v4only = trafgen_pattern_parse("data:nodf", NULL);
    g_autoptr(TrafgenPattern) v6only =
        trafgen_pattern_parse("data:exthdr", NULL);
    g_autoptr(GError) error = NULL;

    assert_false(trafgen_pattern_check_family(v4only, TRUE, &error));
    g_clear_error(&error);
    assert_true(trafgen_pattern_check_family(v4only, FALSE, NULL));
    assert_false(trafgen_pattern_check_family(v6only, FALSE, &error));
    assert_true(trafgen_pattern_check_family(v6only, TRUE, NULL));
}

static void test_flows_differ(void **state)
{
    g_autoptr(GArray) f0 = expand("data*2", FALSE, 0);
    g_autoptr(GArray) f3 = expand("data*2", FALSE, 3);

    assert_int_equal(g_array_index(f3, TrafgenSegment, 0).flow, 3);
    assert_int_not_equal(g_array_index(f0, TrafgenSegment, 0).seq,
                         g_array_index(f3, TrafgenSegment, 0).seq);
}

/* Every segment of "all" as a frame: the parser must read back exactly the
 * segment, with valid checksums unless corrupted on purpose. */
static void check_frames(gboolean ipv6)
{
    g_autofree char *text = trafgen_pattern_builtin("all", ipv6, 1, NULL);
    g_autoptr(GArray) segs = expand(text, ipv6, 2);
    g_autofree uint8_t *buf = g_malloc(RIG_NET_FRAME_MAX);
    TrafgenEndpoints ep;

    trafgen_endpoints_init_default(&ep, ipv6);
    for (guint i = 0; i < segs->len; i++) {
        const TrafgenSegment *s = &g_array_index(segs, TrafgenSegment, i);
        ssize_t n = trafgen_frame_build(&ep, s, buf, RIG_NET_FRAME_MAX);
        RigNetView v;
        RigNetError reason = RIG_NET_ERR_NONE;
        int r;

        assert_true(n > 0);
        r = rig_net_parse(buf, (size_t)n, RIG_NET_PARSE_VERIFY_CSUM, &v,
                          &reason);
        if (s->kind == TRAFGEN_STEP_ARP) {
            assert_int_equal(n, RIG_ETH_MIN_FRAME);
            assert_int_equal(r, 0);
            assert_int_equal(v.family, 0);
            assert_int_equal(v.ethertype, RIG_ETHERTYPE_ARP);
            continue;
        }
        if (s->knobs.trunc >= 0) {
            assert_int_equal(n, s->knobs.trunc);
            assert_true(r < 0);
            continue;
        }
        if (s->knobs.iplen != TRAFGEN_IPLEN_OK) {
            assert_true(r < 0);
            continue;
        }
        if (r < 0) {
            fail_msg("segment %u: %s", i, rig_net_error_name(reason));
        }
        assert_int_equal(v.family, ipv6 ? 6 : 4);
        assert_int_equal(v.is_fragment, s->knobs.frag);
        if (v.is_fragment) {
            /* rig/net stops at L3 for any fragment: the payload is the
             * IP payload, L4 header included */
            assert_int_equal(v.protocol, RIG_IPPROTO_TCP);
            continue;
        }
        if (v.src_port != 40000 + 2) {
            fail_msg("segment %u (%s): src_port %u proto %u", i,
                     trafgen_step_kind_to_string(s->kind), v.src_port,
                     v.protocol);
        }
        assert_int_equal(v.dst_port, 5001);
        assert_int_equal(v.payload_len, s->payload_len);
        assert_int_equal(v.tos & RIG_ECN_MASK, s->knobs.ecn ? RIG_ECN_CE : 0);
        if (s->kind == TRAFGEN_STEP_UDP) {
            assert_int_equal(v.protocol, RIG_IPPROTO_UDP);
            /* UDP payloads follow the pattern seeded by the flow */
            assert_int_equal(rig_net_pattern_check(buf + v.payload_off,
                                                   v.payload_len, s->flow),
                             -1);
        } else {
            assert_int_equal(v.protocol, RIG_IPPROTO_TCP);
            assert_int_equal(v.seq, s->seq);
            assert_int_equal(v.ack, s->ack);
            assert_int_equal(v.tcp_flags, s->flags);
            assert_int_equal(v.window, s->window);
            assert_int_equal(v.urg_ptr, s->urg_ptr);
            assert_int_equal(
                (v.tcp_opt_present & RIG_NET_TCPOPT_HAS_TIMESTAMP) != 0,
                s->knobs.ts);
            if (s->payload_len > 0) {
                assert_int_equal(rig_net_pattern_check(buf + v.payload_off,
                                                       v.payload_len, s->seq),
                                 -1);
            }
        }
        if (!ipv6) {
            assert_int_equal(v.df, !s->knobs.nodf);
            assert_int_equal(v.ipv4_options_len, s->knobs.ipopt ? 4 : 0);
            assert_int_equal(v.ipv4_csum, s->knobs.badipcsum ? RIG_NET_CSUM_BAD
                                                             : RIG_NET_CSUM_OK);
        } else {
            assert_int_equal(v.ipv6_ext_count, (size_t)s->knobs.exthdr);
        }
        if (v.l4_off != 0) {
            assert_int_equal(v.l4_csum, s->knobs.badcsum ? RIG_NET_CSUM_BAD
                                                         : RIG_NET_CSUM_OK);
        }
    }
}

static void test_frames_ipv4(void **state)
{
    check_frames(FALSE);
}

static void test_frames_ipv6(void **state)
{
    check_frames(TRUE);
}

static void test_idle_builds_nothing(void **state)
{
    g_autoptr(GArray) s = expand("idle", FALSE, 0);
    TrafgenEndpoints ep;
    uint8_t buf[64];

    trafgen_endpoints_init_default(&ep, FALSE);
    assert_int_equal(trafgen_frame_build(&ep,
                                         &g_array_index(s, TrafgenSegment, 0),
                                         buf, sizeof(buf)),
                     0);
}

static void test_arp_frame(void **state)
{
    /* RFC 826 request: Ethernet/IPv4, op 1, sender = flow source, target
     * hardware address zero, target protocol address = flow destination */
    static const uint8_t want4[] = {2, 0,    0,    0, 0, 2,   2,   0, 0, 0, 0,
                                    1, 0x08, 0x06, 0, 1, 8,   0,   6, 4, 0, 1,
                                    2, 0,    0,    0, 0, 1,   192, 0, 2, 1, 0,
                                    0, 0,    0,    0, 0, 192, 0,   2, 2};
    g_autoptr(GArray) s = expand("data,arp:len=7,data", FALSE, 3);
    const TrafgenSegment *arp = &g_array_index(s, TrafgenSegment, 1);
    TrafgenEndpoints ep;
    uint8_t buf[RIG_ETH_MIN_FRAME + 8];

    memset(buf, 0xaa, sizeof(buf));
    trafgen_endpoints_init_default(&ep, FALSE);
    assert_int_equal(arp->kind, TRAFGEN_STEP_ARP);
    assert_int_equal(g_array_index(s, TrafgenSegment, 2).seq,
                     g_array_index(s, TrafgenSegment, 0).seq + 1000);
    assert_int_equal(trafgen_frame_build(&ep, arp, buf, sizeof(buf)),
                     RIG_ETH_MIN_FRAME);
    assert_memory_equal(buf, want4, sizeof(want4));
    for (size_t i = sizeof(want4); i < RIG_ETH_MIN_FRAME; i++) {
        assert_int_equal(buf[i], 0);
    }
    /* another source address shows up as the sender */
    ep.src_ip[3] = 77;
    ep.src_mac[5] = 0x33;
    assert_int_equal(trafgen_frame_build(&ep, arp, buf, sizeof(buf)),
                     RIG_ETH_MIN_FRAME);
    assert_int_equal(buf[11], 0x33);
    assert_int_equal(buf[27], 0x33);
    assert_int_equal(buf[31], 77);

    /* IPv6 flows ask with the IPv4 defaults */
    trafgen_endpoints_init_default(&ep, TRUE);
    assert_int_equal(trafgen_frame_build(&ep, arp, buf, sizeof(buf)),
                     RIG_ETH_MIN_FRAME);
    assert_memory_equal(buf, want4, sizeof(want4));
    assert_int_equal(trafgen_frame_build(&ep, arp, buf, RIG_ETH_MIN_FRAME - 1),
                     -ENOSPC);
}

/* doff=N lies in the data offset only: the bytes are those of a 20-byte
 * header, the TCP checksum covers the lie, and the parser refuses a header
 * shorter than 20 bytes or longer than the segment. */
static void check_doff_frame(gboolean ipv6)
{
    g_autoptr(GArray) s = expand("data:len=20,data:doff=1:len=20,"
                                 "data:doff=4:len=20,data:doff=15:len=20,"
                                 "udp:doff=1",
                                 ipv6, 0);
    TrafgenEndpoints ep;
    uint8_t plain[RIG_NET_FRAME_MAX];
    uint8_t buf[RIG_NET_FRAME_MAX];
    ssize_t n0;
    size_t tcp_off = RIG_ETH_HLEN + (ipv6 ? RIG_IPV6_HLEN : RIG_IPV4_HLEN);
    static const uint8_t doffs[] = {1, 4, 15};
    RigNetView v;
    RigNetError reason = RIG_NET_ERR_NONE;

    trafgen_endpoints_init_default(&ep, ipv6);
    assert_false(g_array_index(s, TrafgenSegment, 0).knobs.has_doff);
    for (size_t i = 0; i < G_N_ELEMENTS(doffs); i++) {
        TrafgenSegment seg = g_array_index(s, TrafgenSegment, i + 1);
        ssize_t n;
        uint8_t *tcp = buf + tcp_off;

        assert_true(seg.knobs.has_doff);
        assert_int_equal(seg.knobs.doff, doffs[i]);
        n = trafgen_frame_build(&ep, &seg, buf, sizeof(buf));
        seg.knobs.has_doff = FALSE;
        n0 = trafgen_frame_build(&ep, &seg, plain, sizeof(plain));
        assert_int_equal(n, n0);
        assert_int_equal(n, tcp_off + RIG_TCP_HLEN + 20);
        assert_int_equal(tcp[12] >> 4, doffs[i]);
        /* flags untouched, reserved bits zero */
        assert_int_equal(tcp[12] & 0x0f, plain[tcp_off + 12] & 0x0f);
        assert_int_equal(tcp[13], plain[tcp_off + 13]);
        /* everything but the data offset and the checksum is unchanged */
        assert_memory_equal(buf, plain, tcp_off + 12);
        assert_memory_equal(tcp + 18, plain + tcp_off + 18,
                            (size_t)n - tcp_off - 18);
        /* the checksum covers the lie: a fixed-up copy sums to zero */
        {
            uint32_t sum = ipv6 ? rig_csum_ipv6_pseudo(ep.src_ip, ep.dst_ip,
                                                       RIG_IPPROTO_TCP,
                                                       (uint32_t)(n - tcp_off))
                                : rig_csum_ipv4_pseudo(ep.src_ip, ep.dst_ip,
                                                       RIG_IPPROTO_TCP,
                                                       (uint16_t)(n - tcp_off));

            assert_int_equal(
                rig_csum_finish(rig_csum_add(sum, tcp, (size_t)(n - tcp_off))),
                0);
        }
        /* the parser bounds-checks: no crash, a clear reason */
        assert_true(rig_net_parse(buf, (size_t)n, RIG_NET_PARSE_VERIFY_CSUM, &v,
                                  &reason) < 0);
        if (doffs[i] < 5) {
            assert_int_equal(reason, RIG_NET_ERR_BAD_TCP_DOFF);
        }
    }
    /* not TCP: the knob does not apply, the datagram is built normally */
    assert_true(trafgen_frame_build(&ep, &g_array_index(s, TrafgenSegment, 4),
                                    buf, sizeof(buf)) > 0);
}

static void test_doff_frames(void **state)
{
    check_doff_frame(FALSE);
    check_doff_frame(TRUE);
}

static void test_parse_addresses(void **state)
{
    uint8_t mac[6];
    uint8_t ip[16];

    assert_true(trafgen_parse_mac("52:54:00:12:34:5f", mac));
    assert_int_equal(mac[5], 0x5f);
    assert_false(trafgen_parse_mac("52:54:00:12:34", mac));
    assert_false(trafgen_parse_mac("52:54:00:12:34:56:78", mac));
    assert_true(trafgen_parse_ip("192.0.2.9", FALSE, ip));
    assert_int_equal(ip[3], 9);
    assert_false(trafgen_parse_ip("192.0.2.9", TRUE, ip));
    assert_true(trafgen_parse_ip("2001:db8::7", TRUE, ip));
    assert_int_equal(ip[15], 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flag_cases),
        cmocka_unit_test(test_ack_cases),
        cmocka_unit_test(test_order_and_window_cases),
        cmocka_unit_test(test_header_knob_cases),
        cmocka_unit_test(test_misc_cases),
        cmocka_unit_test(test_whql_and_all),
        cmocka_unit_test(test_grammar),
        cmocka_unit_test(test_family_check),
        cmocka_unit_test(test_flows_differ),
        cmocka_unit_test(test_frames_ipv4),
        cmocka_unit_test(test_frames_ipv6),
        cmocka_unit_test(test_idle_builds_nothing),
        cmocka_unit_test(test_arp_frame),
        cmocka_unit_test(test_doff_frames),
        cmocka_unit_test(test_parse_addresses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
