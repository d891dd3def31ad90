/*
 * --vnet-hdr: the header and checksum of an offloaded frame.  The kernel
 * side (PACKET_VNET_HDR through a real tap) is in
 * tests/integration/test_trafgen.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/build.h"
#include "net/checksum.h"
#include "net/parse.h"
#include "trafgen/vnethdr.h"

static size_t build(int family, uint8_t protocol, size_t payload, uint8_t *buf)
{
    RigNetFrameDesc d = {.family = (uint8_t)family,
                         .protocol = protocol,
                         .src_port = 1,
                         .dst_port = 2,
                         .seq = 7,
                         .tcp_flags = RIG_TCP_ACK,
                         .df = true,
                         .payload_len = payload};
    ssize_t n;

    d.src_ip[0] = d.dst_ip[0] = 10;
    d.dst_ip[3] = 2;
    n = rig_net_build_frame(&d, buf, RIG_NET_FRAME_MAX);
    assert_true(n > 0);
    return (size_t)n;
}

static void test_modes(void **state)
{
    static uint8_t buf[RIG_NET_FRAME_MAX];
    TrafgenVnetMode m;

    assert_true(trafgen_vnet_mode_from_string("gso", &m));
    assert_int_equal(m, TRAFGEN_VNET_GSO);
    assert_true(trafgen_vnet_mode_from_string("csum", &m));
    assert_string_equal(trafgen_vnet_mode_to_string(m), "csum");
    assert_false(trafgen_vnet_mode_from_string("tso", &m));

    for (int family = 4; family <= 6; family += 2) {
        size_t l4 = 14 + (family == 4 ? 20 : 40);
        size_t len = build(family, RIG_IPPROTO_TCP, 3000, buf);
        RigVirtioNetHdrV1 h;
        RigNetView v;
        uint32_t sum;

        assert_int_equal(
            trafgen_vnet_prepare(TRAFGEN_VNET_GSO, 1000, buf, len, &h), 0);
        assert_int_equal(h.flags, RIG_VIRTIO_NET_HDR_F_NEEDS_CSUM);
        assert_int_equal(h.gso_type, family == 4
                                         ? RIG_VIRTIO_NET_HDR_GSO_TCPV4
                                         : RIG_VIRTIO_NET_HDR_GSO_TCPV6);
        assert_int_equal(rig_le16(h.gso_size), 1000);
        assert_int_equal(rig_le16(h.csum_start), l4);
        assert_int_equal(rig_le16(h.csum_offset), 16);
        assert_int_equal(rig_le16(h.hdr_len), l4 + 20);
        /* The NIC completes the checksum: summing over the TCP segment
         * with the pseudo-header value in place gives the real one. */
        assert_int_equal(rig_net_parse(buf, len, 0, &v, NULL), 0);
        sum = rig_csum_add(0, buf + l4, len - l4);
        rig_be16_put(buf + l4 + 16, rig_csum_finish(sum));
        assert_int_equal(
            rig_net_parse(buf, len, RIG_NET_PARSE_VERIFY_CSUM, &v, NULL), 0);
        assert_int_equal(v.l4_csum, RIG_NET_CSUM_OK);

        /* csum: no GSO; a pure ACK is offloaded too, GSO skips it. */
        len = build(family, RIG_IPPROTO_TCP, 0, buf);
        assert_int_equal(
            trafgen_vnet_prepare(TRAFGEN_VNET_CSUM, 0, buf, len, &h), 0);
        assert_int_equal(h.flags, RIG_VIRTIO_NET_HDR_F_NEEDS_CSUM);
        assert_int_equal(h.gso_type, RIG_VIRTIO_NET_HDR_GSO_NONE);
        assert_int_equal(
            trafgen_vnet_prepare(TRAFGEN_VNET_GSO, 0, buf, len, &h), 0);
        assert_int_equal(h.flags, 0);
        /* Not TCP: plain. */
        len = build(family, RIG_IPPROTO_UDP, 100, buf);
        assert_int_equal(
            trafgen_vnet_prepare(TRAFGEN_VNET_CSUM, 0, buf, len, &h), 0);
        assert_int_equal(h.flags, 0);
    }
    /* The default MSS, capped to the payload. */
    {
        size_t len = build(4, RIG_IPPROTO_TCP, 1000, buf);
        RigVirtioNetHdrV1 h;

        assert_int_equal(
            trafgen_vnet_prepare(TRAFGEN_VNET_GSO, 0, buf, len, &h), 0);
        assert_int_equal(rig_le16(h.gso_size), 1000);
        len = build(4, RIG_IPPROTO_TCP, 5000, buf);
        assert_int_equal(
            trafgen_vnet_prepare(TRAFGEN_VNET_GSO, 0, buf, len, &h), 0);
        assert_int_equal(rig_le16(h.gso_size), TRAFGEN_VNET_DEFAULT_GSO_SIZE);
        assert_true(trafgen_vnet_prepare(TRAFGEN_VNET_CSUM, 0, buf, 20, &h) <
                    0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
