/*
 * Build then parse every case of the catalogue (which covers every builder
 * knob: VLAN, IPv4 options, DF/MF/offset, ECN, each IPv6 extension header,
 * every TCP flag and option, UDP, other protocols, every corruption knob)
 * and check each decoded field against the description.  Also: builder
 * argument errors and the payload pattern.
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
#include "net/frame-cases.h"
#include "net/parse.h"

static uint8_t frame[RIG_NET_FRAME_MAX];
static uint8_t vframe[RIG_NET_FRAME_MAX + RIG_VIRTIO_NET_HDR_V1_LEN];

static bool is_fragment(const RigNetFrameDesc *d)
{
    if (d->family == 4) {
        return d->mf || d->frag_offset;
    }
    for (size_t i = 0; i < d->ipv6_ext_count; i++) {
        if (d->ipv6_ext[i].type == RIG_IPPROTO_FRAGMENT &&
            (d->ipv6_ext[i].frag_more || d->ipv6_ext[i].frag_offset)) {
            return true;
        }
    }
    return false;
}

static void check_tcp_options(const RigNetFrameDesc *d, const RigNetView *v)
{
    unsigned want = 0;

    for (size_t i = 0; i < d->tcp_option_count; i++) {
        const RigNetTcpOption *o = &d->tcp_options[i];

        switch (o->kind) {
        case RIG_TCPOPT_MSS:
            want |= RIG_NET_TCPOPT_HAS_MSS;
            assert_int_equal(v->mss, o->mss);
            break;
        case RIG_TCPOPT_WSCALE:
            want |= RIG_NET_TCPOPT_HAS_WSCALE;
            assert_int_equal(v->wscale, o->wscale);
            break;
        case RIG_TCPOPT_SACK_PERM:
            want |= RIG_NET_TCPOPT_HAS_SACK_PERM;
            break;
        case RIG_TCPOPT_TIMESTAMP:
            want |= RIG_NET_TCPOPT_HAS_TIMESTAMP;
            assert_int_equal(v->ts_val, o->ts_val);
            assert_int_equal(v->ts_ecr, o->ts_ecr);
            break;
        case RIG_TCPOPT_SACK:
            want |= RIG_NET_TCPOPT_HAS_SACK;
            assert_int_equal(v->sack_count, o->sack_count);
            assert_memory_equal(v->sack, o->sack, o->sack_count * 8);
            break;
        case RIG_TCPOPT_EOL:
        case RIG_TCPOPT_NOP:
            break;
        default:
            want |= RIG_NET_TCPOPT_HAS_OTHER;
            break;
        }
    }
    assert_int_equal(v->tcp_opt_present, want);
    assert_int_equal(v->tcp_opt_len % 4, 0);
}

/* Every field the view decodes must match the description. */
static void check_view(const RigNetFrameCase *fc, const RigNetFrameDesc *d,
                       const RigNetView *v, size_t base)
{
    size_t l3_hdr = 0;

    print_message("# case %s\n", fc->name);
    assert_memory_equal(v->src_mac, d->src_mac, 6);
    assert_memory_equal(v->dst_mac, d->dst_mac, 6);
    assert_int_equal(v->has_vlan, d->vlan);
    assert_int_equal(v->eth_off, base);
    if (d->vlan) {
        assert_int_equal(v->vlan_tci, d->vlan_tci);
    }
    assert_int_equal(v->l3_off, base + 14 + (d->vlan ? 4 : 0));
    assert_int_equal(v->family, d->family);
    assert_memory_equal(v->src_ip, d->src_ip, d->family == 4 ? 4 : 16);
    assert_memory_equal(v->dst_ip, d->dst_ip, d->family == 4 ? 4 : 16);
    assert_int_equal(v->ttl, d->ttl ? d->ttl : 64);
    assert_int_equal(v->tos, d->tos);
    assert_int_equal(v->protocol, d->protocol);
    assert_int_equal(v->is_fragment, is_fragment(d));
    if (d->family == 4) {
        l3_hdr = 20 + (d->ipv4_options_len + 3) / 4 * 4;
        assert_int_equal(v->df, d->df);
        assert_int_equal(v->mf, d->mf);
        assert_int_equal(v->frag_offset, d->frag_offset);
        assert_int_equal(v->frag_id, d->ip_id);
        assert_int_equal(v->ipv4_options_len, l3_hdr - 20);
        if (d->ipv4_options_len) {
            assert_memory_equal(frame + v->l3_off + 20, d->ipv4_options,
                                d->ipv4_options_len);
        }
        assert_int_equal(v->ipv4_csum, (d->corrupt & RIG_NET_CORRUPT_IPV4_CSUM)
                                           ? RIG_NET_CSUM_BAD
                                           : RIG_NET_CSUM_OK);
    } else {
        assert_int_equal(v->flow_label, d->flow_label);
        assert_int_equal(v->ipv6_ext_count, d->ipv6_ext_count);
        l3_hdr = 40;
        for (size_t i = 0; i < d->ipv6_ext_count; i++) {
            const RigNetIpv6Ext *e = &d->ipv6_ext[i];

            assert_int_equal(v->ipv6_ext_type[i], e->type);
            assert_int_equal(v->ipv6_ext_off[i], v->l3_off + l3_hdr);
            assert_int_equal(v->ipv6_ext_len[i] % 8, 0);
            if (e->type == RIG_IPPROTO_FRAGMENT) {
                assert_int_equal(v->frag_id, e->frag_id);
                assert_int_equal(v->mf, e->frag_more);
                assert_int_equal(v->frag_offset, e->frag_offset);
            } else if (e->type == RIG_IPPROTO_ROUTING) {
                const uint8_t *r = frame + v->ipv6_ext_off[i];

                assert_int_equal(r[2], e->routing_type);
                assert_int_equal(r[3], e->segments_left);
                assert_memory_equal(r + 4, e->data, e->data_len);
            } else if (e->data_len) {
                assert_memory_equal(frame + v->ipv6_ext_off[i] + 2, e->data,
                                    e->data_len);
            }
            l3_hdr += v->ipv6_ext_len[i];
        }
    }
    assert_int_equal(v->l3_hdr_len, l3_hdr);

    if (is_fragment(d) ||
        (d->protocol != RIG_IPPROTO_TCP && d->protocol != RIG_IPPROTO_UDP)) {
        assert_int_equal(v->l4_off, 0);
        assert_int_equal(v->payload_off, v->l3_off + l3_hdr);
        assert_int_equal(v->l4_csum, RIG_NET_CSUM_UNCHECKED);
        return;
    }
    assert_int_equal(v->l4_off, v->l3_off + l3_hdr);
    assert_int_equal(v->src_port, d->src_port);
    assert_int_equal(v->dst_port, d->dst_port);
    assert_int_equal(v->payload_len, d->payload_len);
    assert_int_equal(v->l4_csum, (d->corrupt & RIG_NET_CORRUPT_L4_CSUM)
                                     ? RIG_NET_CSUM_BAD
                                     : RIG_NET_CSUM_OK);
    assert_int_equal(v->flow.family, d->family);
    assert_int_equal(v->flow.protocol, d->protocol);
    assert_int_equal(v->flow.src_port, d->src_port);
    assert_memory_equal(v->flow.dst, d->dst_ip, d->family == 4 ? 4 : 16);
    if (d->protocol == RIG_IPPROTO_TCP) {
        assert_int_equal(v->seq, d->seq);
        assert_int_equal(v->ack, d->ack);
        assert_int_equal(v->window, d->window);
        assert_int_equal(v->tcp_flags, d->tcp_flags);
        assert_int_equal(v->urg_ptr, d->urg_ptr);
        check_tcp_options(d, v);
        if (d->pattern == RIG_NET_PATTERN_SEQ && !d->payload) {
            assert_int_equal(rig_net_pattern_check(frame + v->payload_off,
                                                   v->payload_len, d->seq),
                             -1);
        }
    } else {
        assert_int_equal(v->udp_len, 8 + d->payload_len);
        if (d->pattern == RIG_NET_PATTERN_FILL) {
            for (size_t i = 0; i < v->payload_len; i++) {
                assert_int_equal(frame[v->payload_off + i], d->fill_byte);
            }
        }
    }
}

static size_t build_case(const RigNetFrameCase *fc, RigNetFrameDesc *d)
{
    ssize_t n;

    rig_net_frame_case_desc(fc, d);
    n = rig_net_build_frame(d, frame, sizeof(frame));
    assert_true(n > 0);
    return (size_t)n;
}

static void test_round_trip_clean(void **state)
{
    size_t checked = 0;

    for (size_t i = 0; i < rig_net_frame_cases_count(); i++) {
        const RigNetFrameCase *fc = rig_net_frame_cases_get(i);
        RigNetFrameDesc d;
        RigNetView v;
        size_t len;

        len = build_case(fc, &d);
        if (d.corrupt &
            ~(RIG_NET_CORRUPT_IPV4_CSUM | RIG_NET_CORRUPT_L4_CSUM)) {
            continue; /* length damage: test_corruption_knobs */
        }
        assert_int_equal(
            rig_net_parse(frame, len, RIG_NET_PARSE_VERIFY_CSUM, &v, NULL), 0);
        assert_int_equal(v.len, len);
        assert_int_equal(v.l3_len + v.trailer_len + v.l3_off, len);
        check_view(fc, &d, &v, 0);

        /* Same frame behind a virtio-net header: same view, shifted. */
        rig_net_build_vnet_hdr(vframe, sizeof(vframe),
                               RIG_VIRTIO_NET_HDR_F_RSC_INFO,
                               RIG_VIRTIO_NET_HDR_GSO_TCPV4, 0, 1000, 7, 2);
        memcpy(vframe + 12, frame, len);
        assert_int_equal(
            rig_net_parse(vframe, len + 12,
                          RIG_NET_PARSE_VNET_HDR | RIG_NET_PARSE_VERIFY_CSUM,
                          &v, NULL),
            0);
        assert_true(v.has_vnet_hdr);
        assert_int_equal(v.vnet_flags, RIG_VIRTIO_NET_HDR_F_RSC_INFO);
        assert_int_equal(v.vnet_gso_type, RIG_VIRTIO_NET_HDR_GSO_TCPV4);
        assert_int_equal(v.vnet_gso_size, 1000);
        assert_int_equal(v.vnet_csum_start, 7);
        assert_int_equal(v.vnet_csum_offset, 2);
        memmove(frame, vframe + 12, len); /* check_view reads frame[] */
        {
            RigNetView shifted = v;

            shifted.eth_off -= 12;
            shifted.l3_off -= 12;
            shifted.l4_off -= shifted.l4_off ? 12 : 0;
            shifted.payload_off -= 12;
            shifted.tcp_opt_off -= shifted.tcp_opt_off ? 12 : 0;
            for (size_t e = 0; e < shifted.ipv6_ext_count; e++) {
                shifted.ipv6_ext_off[e] -= 12;
            }
            check_view(fc, &d, &shifted, 0);
        }

        /* And without Ethernet (RIG_NET_PARSE_L3). */
        {
            size_t l2 = 14 + (d.vlan ? 4 : 0);

            assert_int_equal(
                rig_net_parse(frame + l2, len - l2, RIG_NET_PARSE_L3, &v, NULL),
                0);
            assert_false(v.has_eth);
            assert_int_equal(v.l3_off, 0);
            assert_int_equal(v.family, d.family);
            assert_int_equal(v.protocol, d.protocol);
        }
        checked++;
    }
    assert_true(checked >= 45);
}

static void test_corruption_knobs(void **state)
{
    static const struct {
        const char *name;
        int err;
        RigNetError reason;
    } expect[] = {
        {"bad-ipv4-len-short", -EBADMSG, RIG_NET_ERR_BAD_IPV4_TOTAL_LEN},
        {"bad-ipv4-len-long", -ENODATA, RIG_NET_ERR_SHORT_IPV4_PAYLOAD},
        {"bad-ipv6-len-long", -ENODATA, RIG_NET_ERR_SHORT_IPV6_PAYLOAD},
        {"bad-udp-len", -EBADMSG, RIG_NET_ERR_BAD_UDP_LEN},
        {"truncated-tcp4", -ENODATA, RIG_NET_ERR_SHORT_IPV4_PAYLOAD},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(expect); i++) {
        const RigNetFrameCase *fc = rig_net_frame_cases_find(expect[i].name);
        RigNetFrameDesc d;
        RigNetView v;
        RigNetError why = RIG_NET_ERR_NONE;
        size_t len;

        assert_non_null(fc);
        len = build_case(fc, &d);
        assert_int_equal(rig_net_parse(frame, len, 0, &v, &why), expect[i].err);
        assert_string_equal(rig_net_error_name(why),
                            rig_net_error_name(expect[i].reason));
    }

    /* The lying lengths are exactly the described values. */
    {
        RigNetFrameDesc d;
        size_t len =
            build_case(rig_net_frame_cases_find("bad-ipv4-len-long"), &d);

        assert_int_equal(len, 14 + 20 + 20 + 1000);
        assert_int_equal(rig_be16_get(frame + 14 + 2), 1500);
        /* The IPv4 header checksum still covers the (lying) header. */
        assert_int_equal(rig_csum_ipv4_header(frame + 14, 20), 0);
        build_case(rig_net_frame_cases_find("bad-udp-len"), &d);
        assert_int_equal(rig_be16_get(frame + 14 + 20 + 4), 400);
        len = build_case(rig_net_frame_cases_find("truncated-tcp4"), &d);
        assert_int_equal(len, 44);
        len = build_case(rig_net_frame_cases_find("tcp4-tiny-padded"), &d);
        assert_int_equal(len, 60);
    }

    /* A data offset lie: same bytes, same length, a checksum that covers
     * it; the parser names a header shorter than 20 bytes. */
    {
        RigNetFrameDesc d;
        RigNetView v;
        RigNetError why = RIG_NET_ERR_NONE;
        uint8_t plain[sizeof(frame)];
        size_t len = build_case(rig_net_frame_cases_find("tcp4-data"), &d);
        ssize_t n;

        memcpy(plain, frame, len);
        d.corrupt |= RIG_NET_CORRUPT_TCP_DOFF;
        d.tcp_doff_value = 1;
        n = rig_net_build_frame(&d, frame, sizeof(frame));
        assert_int_equal(n, (ssize_t)len);
        assert_int_equal(frame[14 + 20 + 12],
                         0x10 | (plain[14 + 20 + 12] & 0x0f));
        assert_memory_equal(frame, plain, 14 + 20 + 12);
        assert_memory_equal(frame + 14 + 20 + 18, plain + 14 + 20 + 18,
                            len - (14 + 20 + 18));
        assert_int_equal(rig_net_parse(frame, len, 0, &v, &why), -EBADMSG);
        assert_int_equal(why, RIG_NET_ERR_BAD_TCP_DOFF);
        /* restored to 5, the segment is whole again: checksum OK */
        frame[14 + 20 + 12] = (uint8_t)(0x50 | (frame[14 + 20 + 12] & 0x0f));
        assert_int_equal(
            rig_net_parse(frame, len, RIG_NET_PARSE_VERIFY_CSUM, &v, &why), 0);
        assert_int_equal(v.l4_csum, RIG_NET_CSUM_BAD);
    }

    /* With a correct IP length, a truncated/lying TCP/UDP is caught at L4. */
    {
        RigNetFrameDesc d;
        RigNetView v;
        RigNetError why;
        size_t len = build_case(rig_net_frame_cases_find("udp4"), &d);

        rig_be16_put(frame + 14 + 20 + 4, 7);
        assert_int_equal(rig_net_parse(frame, len, 0, &v, &why), -EBADMSG);
        assert_int_equal(why, RIG_NET_ERR_BAD_UDP_LEN);
        (void)len;
    }
}

static void test_builder_errors(void **state)
{
    RigNetFrameDesc d;
    static const uint8_t opts41[41] = {1};
    static const RigNetTcpOption too_many[11] = {
        [0 ... 10] = {.kind = RIG_TCPOPT_TIMESTAMP}};
    static const RigNetTcpOption bad_sack[] = {{.kind = RIG_TCPOPT_SACK}};
    static const RigNetTcpOption big_sack[] = {
        {.kind = RIG_TCPOPT_SACK, .sack_count = 5}};
    static const RigNetIpv6Ext bad_ext[] = {{.type = RIG_IPPROTO_TCP}};
    static const RigNetIpv6Ext nine[9] = {[0 ... 8] = {.type = 60}};
    static const RigNetIpv6Ext huge[] = {
        {.type = RIG_IPPROTO_DSTOPTS, .data = opts41, .data_len = 2047}};
    size_t len;

    rig_net_frame_case_desc(rig_net_frame_cases_find("tcp4-data"), &d);
    len = (size_t)rig_net_build_frame(&d, frame, sizeof(frame));
    for (size_t s = 0; s < len; s += 97) {
        assert_int_equal(rig_net_build_frame(&d, frame, s), -ENOSPC);
    }
    assert_int_equal(rig_net_build_frame(&d, frame, len - 1), -ENOSPC);
    assert_int_equal(rig_net_build_frame(&d, frame, len), (ssize_t)len);
    assert_int_equal(rig_net_build_frame(NULL, frame, len), -EINVAL);

#define EXPECT_EINVAL(mutation)                                                \
    do {                                                                       \
        RigNetFrameDesc m = d;                                                 \
        mutation;                                                              \
        assert_int_equal(rig_net_build_frame(&m, frame, sizeof(frame)),        \
                         -EINVAL);                                             \
    } while (0)

    EXPECT_EINVAL(m.family = 5);
    EXPECT_EINVAL(m.family = 0);
    EXPECT_EINVAL((m.ipv4_options = opts41, m.ipv4_options_len = 41));
    EXPECT_EINVAL(m.ipv4_options_len = 4); /* NULL options */
    EXPECT_EINVAL((m.tcp_options = too_many, m.tcp_option_count = 5));
    EXPECT_EINVAL((m.tcp_options = bad_sack, m.tcp_option_count = 1));
    EXPECT_EINVAL((m.tcp_options = big_sack, m.tcp_option_count = 1));
    EXPECT_EINVAL(m.tcp_option_count = 1); /* NULL options */
    EXPECT_EINVAL(m.payload_len = 65536);
    EXPECT_EINVAL(m.payload_len = 65535 - 40 + 1); /* IPv4 total > 65535 */
    EXPECT_EINVAL(m.frag_offset = 0x2000);
    EXPECT_EINVAL(
        (m.corrupt = RIG_NET_CORRUPT_TRUNCATE, m.truncate_len = len + 1));
    EXPECT_EINVAL(
        (m.corrupt = RIG_NET_CORRUPT_TCP_DOFF, m.tcp_doff_value = 16));
    EXPECT_EINVAL((m.corrupt = RIG_NET_CORRUPT_TCP_DOFF, m.tcp_doff_value = 5,
                   m.protocol = RIG_IPPROTO_UDP));
    EXPECT_EINVAL((m.ipv6_ext = nine, m.ipv6_ext_count = 1)); /* on IPv4 */
    rig_net_frame_case_desc(rig_net_frame_cases_find("tcp6-data"), &d);
    EXPECT_EINVAL((m.ipv6_ext = bad_ext, m.ipv6_ext_count = 1));
    EXPECT_EINVAL((m.ipv6_ext = nine, m.ipv6_ext_count = 9));
    EXPECT_EINVAL((m.ipv6_ext = huge, m.ipv6_ext_count = 1));
    EXPECT_EINVAL((m.ipv4_options = opts41, m.ipv4_options_len = 4));
    EXPECT_EINVAL(m.payload_len = 65535 - 20 + 1); /* IPv6 payload > 65535 */
#undef EXPECT_EINVAL

    /* The largest legal IPv6 payload does build. */
    d.payload_len = 65535 - 20;
    assert_true(rig_net_build_frame(&d, frame, sizeof(frame)) > 65535);
}

static void test_non_ip_frame(void **state)
{
    static const uint8_t arp[28] = {0, 1, 8, 0,   6, 4, 0, 1,          2, 0, 0,
                                    0, 0, 1, 192, 0, 2, 1, [24] = 192, 0, 2, 2};
    uint8_t out[128];
    RigNetFrameDesc d = {
        .dst_mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
        .src_mac = {2, 0, 0, 0, 0, 1},
        .ethertype = RIG_ETHERTYPE_ARP,
        .pad_to_min = true,
        .payload = arp,
        .payload_len = sizeof(arp),
    };
    RigNetFrameDesc m;
    RigNetView v;

    memset(out, 0xaa, sizeof(out));
    assert_int_equal(rig_net_build_frame(&d, out, sizeof(out)),
                     RIG_ETH_MIN_FRAME);
    assert_memory_equal(out, d.dst_mac, 6);
    assert_memory_equal(out + 6, d.src_mac, 6);
    assert_int_equal(rig_be16_get(out + 12), RIG_ETHERTYPE_ARP);
    assert_memory_equal(out + RIG_ETH_HLEN, arp, sizeof(arp));
    for (size_t i = RIG_ETH_HLEN + sizeof(arp); i < RIG_ETH_MIN_FRAME; i++) {
        assert_int_equal(out[i], 0);
    }
    assert_int_equal(rig_net_parse(out, RIG_ETH_MIN_FRAME, 0, &v, NULL), 0);
    assert_int_equal(v.family, 0);
    assert_int_equal(v.ethertype, RIG_ETHERTYPE_ARP);

    /* unpadded, VLAN tagged, truncated */
    m = d;
    m.pad_to_min = false;
    assert_int_equal(rig_net_build_frame(&m, out, sizeof(out)),
                     RIG_ETH_HLEN + sizeof(arp));
    m.vlan = true;
    m.vlan_tci = rig_vlan_tci_make(0, false, 5);
    assert_int_equal(rig_net_build_frame(&m, out, sizeof(out)),
                     RIG_ETH_HLEN + RIG_VLAN_HLEN + sizeof(arp));
    assert_int_equal(rig_be16_get(out + 12), RIG_ETHERTYPE_VLAN);
    assert_int_equal(rig_be16_get(out + 16), RIG_ETHERTYPE_ARP);
    m = d;
    m.corrupt = RIG_NET_CORRUPT_TRUNCATE;
    m.truncate_len = 20;
    assert_int_equal(rig_net_build_frame(&m, out, sizeof(out)), 20);
    assert_int_equal(rig_net_build_frame(&d, out, RIG_ETH_MIN_FRAME - 1),
                     -ENOSPC);

    /* anything above L2, or an IP ethertype, is refused */
#define EXPECT_EINVAL(mutation)                                                \
    do {                                                                       \
        m = d;                                                                 \
        mutation;                                                              \
        assert_int_equal(rig_net_build_frame(&m, out, sizeof(out)), -EINVAL);  \
    } while (0)
    EXPECT_EINVAL(m.ethertype = 0);
    EXPECT_EINVAL(m.ethertype = RIG_ETHERTYPE_IPV4);
    EXPECT_EINVAL(m.ethertype = RIG_ETHERTYPE_IPV6);
    EXPECT_EINVAL(m.protocol = RIG_IPPROTO_TCP);
    EXPECT_EINVAL(m.corrupt = RIG_NET_CORRUPT_L4_CSUM);
    EXPECT_EINVAL(m.ipv4_options_len = 4);
#undef EXPECT_EINVAL
}

static void test_pattern(void **state)
{
    uint8_t a[600];

    rig_net_pattern_fill(a, sizeof(a), 0xfffffff0); /* wraps past 2^32 */
    assert_int_equal(rig_net_pattern_check(a, sizeof(a), 0xfffffff0), -1);
    /* A shift by one byte or by 256 bytes is caught at once. */
    assert_int_equal(rig_net_pattern_check(a + 1, 10, 0xfffffff0), 0);
    assert_int_equal(rig_net_pattern_check(a + 256, 10, 0xfffffff0), 0);
    a[300] ^= 1;
    assert_int_equal(rig_net_pattern_check(a, sizeof(a), 0xfffffff0), 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_clean),
        cmocka_unit_test(test_corruption_knobs),
        cmocka_unit_test(test_builder_errors),
        cmocka_unit_test(test_non_ip_frame),
        cmocka_unit_test(test_pattern),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
