/*
 * The parser against hostile input: every truncation length of every
 * catalogue frame (with and without a virtio-net header) must fail with
 * the precise SHORT_* reason of the layer the cut falls in; crafted
 * inconsistencies give their BAD_* reason; random garbage and random
 * mutations of valid frames never crash (run under ASan/UBSan) and, when
 * accepted, give a view that stays inside the buffer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/build.h"
#include "net/checksum.h"
#include "net/frame-cases.h"
#include "net/parse.h"

static uint8_t frame[RIG_NET_FRAME_MAX + RIG_VIRTIO_NET_HDR_V1_LEN];

static const unsigned all_flags[] = {
    0,
    RIG_NET_PARSE_VERIFY_CSUM,
    RIG_NET_PARSE_VNET_HDR | RIG_NET_PARSE_VERIFY_CSUM,
    RIG_NET_PARSE_L3 | RIG_NET_PARSE_VERIFY_CSUM,
    RIG_NET_PARSE_VNET_HDR | RIG_NET_PARSE_L3,
};

/* A successful view must describe bytes inside the buffer only. */
static void check_view_bounds(const RigNetView *v, size_t len)
{
    assert_true(v->l3_off <= len);
    assert_true(v->payload_off <= len);
    assert_true(v->payload_len <= len - v->payload_off);
    if (v->family) {
        assert_true(v->l3_off + v->l3_len + v->trailer_len == len);
        assert_true(v->l3_hdr_len <= v->l3_len);
    }
    if (v->l4_off) {
        assert_true(v->l4_off + v->l4_hdr_len <= len);
        assert_true(v->tcp_opt_off + v->tcp_opt_len <= len);
    }
    for (size_t i = 0; i < v->ipv6_ext_count; i++) {
        assert_true(v->ipv6_ext_off[i] + v->ipv6_ext_len[i] <= len);
    }
}

/* The reason a cut at @cut must give, from the layer boundaries of @v. */
static RigNetError expected_short_reason(const RigNetView *v, size_t cut,
                                         size_t base)
{
    size_t eth_end = base + RIG_ETH_HLEN;

    if (base && cut < base) {
        return RIG_NET_ERR_SHORT_VNET_HDR;
    }
    if (cut < eth_end) {
        return RIG_NET_ERR_SHORT_ETH_HDR;
    }
    if (v->has_vlan && cut < eth_end + RIG_VLAN_HLEN) {
        return RIG_NET_ERR_SHORT_VLAN_TAG;
    }
    if (v->family == 4) {
        if (cut < v->l3_off + RIG_IPV4_HLEN) {
            return RIG_NET_ERR_SHORT_IPV4_HDR;
        }
        if (cut < v->l3_off + v->l3_hdr_len) {
            return RIG_NET_ERR_SHORT_IPV4_OPTIONS;
        }
        return RIG_NET_ERR_SHORT_IPV4_PAYLOAD;
    }
    if (cut < v->l3_off + RIG_IPV6_HLEN) {
        return RIG_NET_ERR_SHORT_IPV6_HDR;
    }
    return RIG_NET_ERR_SHORT_IPV6_PAYLOAD;
}

static void test_every_truncation(void **state)
{
    size_t cuts = 0;

    for (size_t i = 0; i < rig_net_frame_cases_count(); i++) {
        const RigNetFrameCase *fc = rig_net_frame_cases_get(i);
        RigNetFrameDesc d;
        RigNetView full;
        ssize_t n;

        rig_net_frame_case_desc(fc, &d);
        if (d.corrupt &
            ~(RIG_NET_CORRUPT_IPV4_CSUM | RIG_NET_CORRUPT_L4_CSUM)) {
            continue;
        }
        for (size_t base = 0; base <= RIG_VIRTIO_NET_HDR_V1_LEN;
             base += RIG_VIRTIO_NET_HDR_V1_LEN) {
            unsigned flags =
                RIG_NET_PARSE_VERIFY_CSUM | (base ? RIG_NET_PARSE_VNET_HDR : 0);
            size_t len;

            memset(frame, 0, base);
            n = rig_net_build_frame(&d, frame + base, sizeof(frame) - base);
            assert_true(n > 0);
            len = base + (size_t)n;
            assert_int_equal(rig_net_parse(frame, len, flags, &full, NULL), 0);
            for (size_t cut = 0; cut < len; cut++) {
                /* A copy of exactly @cut bytes: ASan sees any overread. */
                uint8_t *copy = malloc(cut ? cut : 1);
                RigNetView v;
                RigNetError why = RIG_NET_ERR_NONE;
                int r;

                memcpy(copy, frame, cut);
                r = rig_net_parse(cut ? copy : NULL, cut, flags, &v, &why);
                if (cut >= full.l3_off + full.l3_len) {
                    /* Only Ethernet padding was cut: still valid. */
                    assert_int_equal(r, 0);
                    assert_int_equal(v.trailer_len,
                                     cut - full.l3_off - full.l3_len);
                } else {
                    RigNetError want = expected_short_reason(&full, cut, base);

                    if (r != -ENODATA || why != want) {
                        print_error("%s: cut at %zu of %zu: %d %s, want %s\n",
                                    fc->name, cut, len, r,
                                    rig_net_error_name(why),
                                    rig_net_error_name(want));
                        fail();
                    }
                }
                free(copy);
                cuts++;
            }
        }
    }
    assert_true(cuts > 50000);
}

/* Builds @name, lets @patch damage it, returns the parse result. */
static int parse_patched(const char *name, void (*patch)(uint8_t *f),
                         size_t extra, RigNetError *why)
{
    RigNetFrameDesc d;
    RigNetView v;
    ssize_t n;

    rig_net_frame_case_desc(rig_net_frame_cases_find(name), &d);
    n = rig_net_build_frame(&d, frame, sizeof(frame));
    assert_true(n > 0);
    patch(frame);
    *why = RIG_NET_ERR_NONE;
    return rig_net_parse(frame, (size_t)n + extra, 0, &v, why);
}

static void fix_ip4(uint8_t *f)
{
    rig_be16_put(f + 14 + 10, 0);
    rig_be16_put(f + 14 + 10, rig_csum_ipv4_header(f + 14, (f[14] & 15) * 4u));
}

static void p_version(uint8_t *f)
{
    f[14] = 0x55;
}

static void p_ihl(uint8_t *f)
{
    f[14] = 0x44;
}

static void p_ipopt(uint8_t *f)
{
    f[14 + 20 + 1] = 1; /* router alert claims length 1 */
}

static void p_ipopt_overrun(uint8_t *f)
{
    f[14 + 20 + 1] = 5; /* 4 bytes of options, claims 5 */
}

static void p_v6_version(uint8_t *f)
{
    f[14] = 0x45;
}

static void p_doff_small(uint8_t *f)
{
    f[14 + 20 + 12] = 0x40;
}

static void p_doff_big(uint8_t *f)
{
    f[14 + 20 + 12] = 0xf0; /* 60 bytes of header in a 20-byte segment */
}

static void p_tcpopt_len0(uint8_t *f)
{
    f[14 + 20 + 20 + 2 + 1] = 0; /* NOP NOP TS(len 0) */
}

static void p_tcpopt_ts_len(uint8_t *f)
{
    f[14 + 20 + 20 + 2 + 1] = 8; /* timestamps must be 10 bytes */
}

static void p_tcpopt_overrun(uint8_t *f)
{
    f[14 + 20 + 20 + 2 + 1] = 11;
}

static void p_sack_overrun(uint8_t *f)
{
    f[14 + 20 + 20 + 2 + 1] = 2 + 8 * 3; /* 3 blocks, room for 2 */
}

static void p_tcp_short(uint8_t *f)
{
    f[14 + 9] = RIG_IPPROTO_TCP; /* 16-byte IP payload claims TCP */
    fix_ip4(f);
}

static void p_udp_short(uint8_t *f)
{
    f[14 + 9] = RIG_IPPROTO_UDP;
    fix_ip4(f);
}

static void p_ext_order(uint8_t *f)
{
    /* DST then hop-by-hop: make the DST header's next header HBH. */
    f[14 + 6] = RIG_IPPROTO_DSTOPTS;
    f[14 + 40] = RIG_IPPROTO_HOPOPTS;
}

static void p_ext_len(uint8_t *f)
{
    f[14 + 40 + 1] = 200; /* 1608 bytes in a 1028-byte payload */
}

static void p_ext_many(uint8_t *f)
{
    /* 64 bytes of payload become 8 DSTOPTS headers chained to a 9th. */
    for (int i = 0; i < 8; i++) {
        uint8_t *e = f + 14 + 40 + 8 * i;

        memset(e, 0, 8);
        e[0] = RIG_IPPROTO_DSTOPTS;
        e[2] = RIG_IPV6_OPT_PADN;
        e[3] = 4;
    }
    f[14 + 6] = RIG_IPPROTO_DSTOPTS;
}

static void p_ext_frag_short(uint8_t *f)
{
    rig_be16_put(f + 14 + 4, 4); /* payload of 4 bytes holds no frag hdr */
}

static void p_none(uint8_t *f)
{
}

static void test_crafted_errors(void **state)
{
    static const struct {
        const char *base;
        void (*patch)(uint8_t *f);
        size_t extra;
        int err;
        RigNetError reason;
    } cases[] = {
        {"tcp4-data", p_version, 0, -EBADMSG, RIG_NET_ERR_BAD_IPV4_VERSION},
        {"tcp4-data", p_ihl, 0, -EBADMSG, RIG_NET_ERR_BAD_IPV4_IHL},
        {"tcp4-ipopt-ra", p_ipopt, 0, -EBADMSG, RIG_NET_ERR_BAD_IPV4_OPTION},
        {"tcp4-ipopt-ra", p_ipopt_overrun, 0, -EBADMSG,
         RIG_NET_ERR_BAD_IPV4_OPTION},
        {"tcp6-data", p_v6_version, 0, -EBADMSG, RIG_NET_ERR_BAD_IPV6_VERSION},
        {"tcp4-pure-ack", p_doff_small, 0, -EBADMSG, RIG_NET_ERR_BAD_TCP_DOFF},
        {"tcp4-pure-ack", p_doff_big, 0, -ENODATA,
         RIG_NET_ERR_SHORT_TCP_OPTIONS},
        {"tcp4-opt-ts", p_tcpopt_len0, 0, -EBADMSG, RIG_NET_ERR_BAD_TCP_OPTION},
        {"tcp4-opt-ts", p_tcpopt_ts_len, 0, -EBADMSG,
         RIG_NET_ERR_BAD_TCP_OPTION},
        {"tcp4-opt-ts", p_tcpopt_overrun, 0, -EBADMSG,
         RIG_NET_ERR_BAD_TCP_OPTION},
        {"tcp4-opt-sack", p_sack_overrun, 0, -EBADMSG,
         RIG_NET_ERR_BAD_TCP_OPTION},
        {"tcp6-ext-dst", p_ext_len, 0, -ENODATA,
         RIG_NET_ERR_SHORT_IPV6_EXT_HDR},
        {"tcp6-ext-chain", p_ext_order, 0, -EBADMSG,
         RIG_NET_ERR_BAD_IPV6_EXT_ORDER},
        {"ip6-proto-253", p_ext_many, 0, -E2BIG, RIG_NET_ERR_TOO_MANY_IPV6_EXT},
        {"tcp6-ext-frag-atomic", p_ext_frag_short, 0, -ENODATA,
         RIG_NET_ERR_SHORT_IPV6_EXT_HDR},
        {"tcp4-data", p_none, 0, 0, RIG_NET_ERR_NONE},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        RigNetError why;
        int r =
            parse_patched(cases[i].base, cases[i].patch, cases[i].extra, &why);

        print_message("# crafted %zu: %d %s\n", i, r, rig_net_error_name(why));
        assert_int_equal(r, cases[i].err);
        assert_int_equal(why, cases[i].reason);
    }

    /* An IP payload too short for the TCP/UDP header it claims. */
    {
        RigNetFrameDesc d;
        RigNetView v;
        RigNetError why;

        rig_net_frame_case_desc(rig_net_frame_cases_find("ip4-proto-253"), &d);
        d.payload_len = 19;
        assert_true(rig_net_build_frame(&d, frame, sizeof(frame)) > 0);
        p_tcp_short(frame);
        assert_int_equal(rig_net_parse(frame, 14 + 20 + 19, 0, &v, &why),
                         -ENODATA);
        assert_int_equal(why, RIG_NET_ERR_SHORT_TCP_HDR);
        d.payload_len = 7;
        assert_true(rig_net_build_frame(&d, frame, sizeof(frame)) > 0);
        p_udp_short(frame);
        assert_int_equal(rig_net_parse(frame, 14 + 20 + 7, 0, &v, &why),
                         -ENODATA);
        assert_int_equal(why, RIG_NET_ERR_SHORT_UDP_HDR);
    }

    /* Argument errors. */
    {
        RigNetView v;

        assert_int_equal(rig_net_parse(frame, 10, 0x80, &v, NULL), -EINVAL);
        assert_int_equal(rig_net_parse(frame, 10, 0, NULL, NULL), -EINVAL);
        assert_int_equal(rig_net_parse(NULL, 10, 0, &v, NULL), -EINVAL);
        assert_string_equal(rig_net_error_name(RIG_NET_ERR_COUNT), "UNKNOWN");
        assert_string_equal(rig_net_error_name(RIG_NET_ERR_SHORT_IPV4_HDR),
                            "SHORT_IPV4_HDR");
        for (int e = 0; e < RIG_NET_ERR_COUNT; e++) {
            assert_non_null(rig_net_error_name((RigNetError)e));
            assert_non_null(rig_net_error_describe((RigNetError)e));
        }
    }

    /* Non-IP and QinQ frames are views, not errors. */
    {
        uint8_t arp[60] = {0};
        uint8_t qinq[14 + 4 + 4 + 20] = {0};
        RigNetView v;
        RigNetError why;

        rig_be16_put(arp + 12, RIG_ETHERTYPE_ARP);
        assert_int_equal(rig_net_parse(arp, sizeof(arp), 0, &v, NULL), 0);
        assert_int_equal(v.family, 0);
        assert_int_equal(v.ethertype, RIG_ETHERTYPE_ARP);
        assert_int_equal(v.payload_off, 14);
        assert_int_equal(v.payload_len, 46);
        rig_be16_put(qinq + 12, RIG_ETHERTYPE_QINQ);
        rig_be16_put(qinq + 14, 10);
        rig_be16_put(qinq + 16, RIG_ETHERTYPE_VLAN);
        rig_be16_put(qinq + 18, 20);
        rig_be16_put(qinq + 20, RIG_ETHERTYPE_IPV4);
        assert_int_equal(rig_net_parse(qinq, sizeof(qinq), 0, &v, &why),
                         -EBADMSG);
        assert_int_equal(why, RIG_NET_ERR_BAD_IPV4_VERSION);
    }
}

/* xorshift64*: reproducible without libc's rand() state. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static void parse_all_ways(const uint8_t *buf, size_t len, unsigned *accepted)
{
    for (size_t f = 0; f < G_N_ELEMENTS(all_flags); f++) {
        RigNetView v;
        RigNetError why = RIG_NET_ERR_NONE;
        int r = rig_net_parse(len ? buf : NULL, len, all_flags[f], &v, &why);

        if (r == 0) {
            check_view_bounds(&v, len);
            (*accepted)++;
        } else {
            assert_true(r == -ENODATA || r == -EBADMSG || r == -E2BIG);
            assert_true(why > RIG_NET_ERR_NONE && why < RIG_NET_ERR_COUNT);
        }
    }
}

static void test_random_garbage(void **state)
{
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    unsigned accepted = 0;

    for (int i = 0; i < 20000; i++) {
        size_t len = rng_next(&seed) % 200;
        uint8_t *buf = malloc(len ? len : 1);

        for (size_t k = 0; k < len; k++) {
            buf[k] = (uint8_t)rng_next(&seed);
        }
        /* Steer some inputs past L2 so deeper layers see garbage too. */
        if (len > 14 && i % 2) {
            rig_be16_put(buf + 12,
                         i % 4 == 1 ? RIG_ETHERTYPE_IPV4 : RIG_ETHERTYPE_IPV6);
            buf[14] = (uint8_t)((i % 4 == 1 ? 0x40 : 0x60) | (buf[14] & 15));
        }
        parse_all_ways(buf, len, &accepted);
        free(buf);
    }
    assert_true(accepted > 0);
}

static void test_random_mutations(void **state)
{
    uint64_t seed = 42;
    unsigned accepted = 0;

    for (size_t c = 0; c < rig_net_frame_cases_count(); c++) {
        RigNetFrameDesc d;
        ssize_t n;

        rig_net_frame_case_desc(rig_net_frame_cases_get(c), &d);
        n = rig_net_build_frame(&d, frame, sizeof(frame));
        assert_true(n > 0);
        for (int i = 0; i < 300; i++) {
            size_t len = (size_t)n;
            uint8_t *buf = malloc(len);
            int flips = 1 + (int)(rng_next(&seed) % 4);

            memcpy(buf, frame, len);
            for (int k = 0; k < flips; k++) {
                /* Mostly headers: that is where the parser makes choices. */
                size_t at = rng_next(&seed) % (len < 120 ? len : 120);

                buf[at] = (uint8_t)rng_next(&seed);
            }
            parse_all_ways(buf, len, &accepted);
            free(buf);
        }
    }
    assert_true(accepted > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_crafted_errors),
        cmocka_unit_test(test_random_garbage),
        cmocka_unit_test(test_random_mutations),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
