/*
 * Checksums against vectors that do not come from the code under test:
 * RFC 1071's worked example, the classic IPv4 header example, and frames
 * the Linux kernel itself sent over a veth with checksum offload off
 * (data/kernel-tcp-udp.pcapng, captured with tshark, which validated every
 * checksum).  The builder must reproduce each kernel frame byte for byte.
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
#include "net/pcap-writer.h"

static void test_rfc1071_example(void **state)
{
    /* RFC 1071 section 3: sum 0xddf2, checksum 0x220d. */
    const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};

    assert_int_equal(rig_csum_finish(rig_csum_add(0, data, sizeof(data))),
                     0x220d);
    /* Split sums give the same result when chunks are even. */
    assert_int_equal(
        rig_csum_finish(rig_csum_add(rig_csum_add(0, data, 4), data + 4, 4)),
        0x220d);
    /* Odd length: a zero byte pads the last word. */
    const uint8_t odd[] = {0x01};
    assert_int_equal(rig_csum_finish(rig_csum_add(0, odd, 1)), 0xfeff);
    assert_int_equal(rig_csum_finish(0), 0xffff);
}

static void test_ipv4_header_example(void **state)
{
    /* 192.168.0.1 -> 192.168.0.199 UDP, checksum 0xb861. */
    uint8_t hdr[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
                     0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
                     0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

    assert_int_equal(rig_csum_ipv4_header(hdr, sizeof(hdr)), 0xb861);
    hdr[10] = 0xb8;
    hdr[11] = 0x61;
    assert_int_equal(rig_csum_ipv4_header(hdr, sizeof(hdr)), 0);
}

/* Decodes raw TCP option bytes without the parser, for the rebuild. */
static size_t options_from_bytes(const uint8_t *o, size_t len,
                                 RigNetTcpOption *out, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < len && n < max;) {
        RigNetTcpOption *t = &out[n++];

        memset(t, 0, sizeof(*t));
        t->kind = o[i];
        if (o[i] == RIG_TCPOPT_EOL) {
            break;
        }
        if (o[i] == RIG_TCPOPT_NOP) {
            i++;
            continue;
        }
        switch (o[i]) {
        case RIG_TCPOPT_MSS:
            t->mss = (uint16_t)(o[i + 2] << 8 | o[i + 3]);
            break;
        case RIG_TCPOPT_WSCALE:
            t->wscale = o[i + 2];
            break;
        case RIG_TCPOPT_TIMESTAMP:
            t->ts_val = rig_be32_get(o + i + 2);
            t->ts_ecr = rig_be32_get(o + i + 6);
            break;
        default:
            break;
        }
        i += o[i + 1];
    }
    return n;
}

static void check_kernel_frame(const uint8_t *frame, size_t len,
                               unsigned *counts)
{
    RigNetView v;
    RigNetFrameDesc d;
    RigNetTcpOption opts[20];
    uint8_t out[2048];

    assert_int_equal(
        rig_net_parse(frame, len, RIG_NET_PARSE_VERIFY_CSUM, &v, NULL), 0);
    assert_int_equal(v.l4_csum, RIG_NET_CSUM_OK);
    if (v.family == 4) {
        assert_int_equal(v.ipv4_csum, RIG_NET_CSUM_OK);
    }

    memset(&d, 0, sizeof(d));
    memcpy(d.dst_mac, v.dst_mac, 6);
    memcpy(d.src_mac, v.src_mac, 6);
    d.family = v.family;
    memcpy(d.src_ip, v.src_ip, 16);
    memcpy(d.dst_ip, v.dst_ip, 16);
    d.ttl = v.ttl;
    d.tos = v.tos;
    d.flow_label = v.flow_label;
    d.ip_id = (uint16_t)v.frag_id;
    d.df = v.df;
    d.protocol = v.protocol;
    d.src_port = v.src_port;
    d.dst_port = v.dst_port;
    d.seq = v.seq;
    d.ack = v.ack;
    d.window = v.window;
    d.tcp_flags = v.tcp_flags;
    d.urg_ptr = v.urg_ptr;
    d.tcp_options = opts;
    d.tcp_option_count =
        options_from_bytes(frame + v.tcp_opt_off, v.tcp_opt_len, opts, 20);
    d.payload = frame + v.payload_off;
    d.payload_len = v.payload_len;

    assert_int_equal(rig_net_build_frame(&d, out, sizeof(out)), (ssize_t)len);
    assert_memory_equal(out, frame, len);
    counts[v.family == 4 ? 0 : 1]++;
    counts[v.protocol == RIG_IPPROTO_TCP ? 2 : 3]++;
}

static void test_kernel_frames(void **state)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(RigPcapReader) r =
        rig_pcap_reader_new(RIG_NET_TEST_DATA "/kernel-tcp-udp.pcapng", &error);
    unsigned counts[4] = {0};
    unsigned frames = 0;

    assert_non_null(r);
    assert_int_equal(rig_pcap_reader_get_linktype(r),
                     RIG_PCAP_LINKTYPE_ETHERNET);
    for (;;) {
        RigPcapRecord rec;
        gboolean eof = FALSE;

        assert_true(rig_pcap_reader_next(r, &rec, &eof, &error));
        if (eof) {
            break;
        }
        assert_int_equal(rec.caplen, rec.origlen);
        check_kernel_frame(rec.data, rec.caplen, counts);
        frames++;
    }
    /* 12 TCP v4/v6 handshake/data/FIN frames and 2 UDP datagrams
     * (one of odd length) at least. */
    assert_true(frames >= 14);
    assert_true(counts[0] >= 7 && counts[1] >= 7);
    assert_true(counts[2] >= 12 && counts[3] >= 2);
}

static void test_pseudo_headers(void **state)
{
    /* Hand-computed: 10.0.0.1 + 10.0.0.2 words = 0x0a00+0x0001+0x0a00+0x0002
     * = 0x1403, + proto 6 + length 20 = 0x141d. */
    const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
    uint8_t a6[16] = {0xfe, 0x80}, b6[16] = {0xfe, 0x80};

    assert_int_equal(rig_csum_ipv4_pseudo(a, b, 6, 20), 0x141d);
    a6[15] = 1;
    b6[15] = 2;
    /* 0xfe80 * 2 + 1 + 2 + length (0x0001_0004 -> 1 + 4) + 17 */
    assert_int_equal(rig_csum_finish(rig_csum_ipv6_pseudo(a6, b6, 17, 0x10004)),
                     (uint16_t) ~(0xfe80 * 2 + 1 + 2 + 1 + 4 + 17 - 0xffff));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc1071_example),
        cmocka_unit_test(test_ipv4_header_example),
        cmocka_unit_test(test_pseudo_headers),
        cmocka_unit_test(test_kernel_frames),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
