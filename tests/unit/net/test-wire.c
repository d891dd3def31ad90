/* Wire structs: sizes, field offsets and byte order of every accessor. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/build.h"
#include "net/wire.h"

static void test_offsets(void **state)
{
    /* Offsets from the RFCs / virtio spec, not from sizeof arithmetic. */
    assert_int_equal(offsetof(RigIpv4Hdr, tot_len), 2);
    assert_int_equal(offsetof(RigIpv4Hdr, frag_off), 6);
    assert_int_equal(offsetof(RigIpv4Hdr, check), 10);
    assert_int_equal(offsetof(RigIpv4Hdr, daddr), 16);
    assert_int_equal(offsetof(RigIpv6Hdr, payload_len), 4);
    assert_int_equal(offsetof(RigIpv6Hdr, nexthdr), 6);
    assert_int_equal(offsetof(RigIpv6Hdr, daddr), 24);
    assert_int_equal(offsetof(RigTcpHdr, doff_flags), 12);
    assert_int_equal(offsetof(RigTcpHdr, check), 16);
    assert_int_equal(offsetof(RigUdpHdr, check), 6);
    assert_int_equal(offsetof(RigVirtioNetHdrV1, hdr_len), 2);
    assert_int_equal(offsetof(RigVirtioNetHdrV1, csum_start), 6);
    assert_int_equal(offsetof(RigVirtioNetHdrV1, csum_offset), 8);
    assert_int_equal(offsetof(RigVirtioNetHdrV1, num_buffers), 10);
    assert_int_equal(_Alignof(RigTcpHdr), 1);
    assert_int_equal(_Alignof(RigVirtioNetHdrV1), 1);
}

static void test_byte_order(void **state)
{
    uint8_t b[4];
    RigBe16 be16;
    RigBe32 be32;
    RigLe16 le16;

    rig_be16_put(b, 0x1234);
    assert_int_equal(b[0], 0x12);
    assert_int_equal(b[1], 0x34);
    assert_int_equal(rig_be16_get(b), 0x1234);
    rig_le16_put(b, 0x1234);
    assert_int_equal(b[0], 0x34);
    assert_int_equal(rig_le16_get(b), 0x1234);
    rig_be32_put(b, 0x01020304);
    assert_int_equal(b[0], 1);
    assert_int_equal(b[3], 4);
    assert_int_equal(rig_be32_get(b), 0x01020304);
    rig_le32_put(b, 0x01020304);
    assert_int_equal(b[0], 4);
    assert_int_equal(rig_le32_get(b), 0x01020304);

    rig_be16_set(&be16, 0xabcd);
    assert_int_equal(be16.b[0], 0xab);
    assert_int_equal(rig_be16(be16), 0xabcd);
    rig_be32_set(&be32, 0xdeadbeef);
    assert_int_equal(be32.b[0], 0xde);
    assert_int_equal(rig_be32(be32), 0xdeadbeef);
    rig_le16_set(&le16, 0xabcd);
    assert_int_equal(le16.b[0], 0xcd);
    assert_int_equal(rig_le16(le16), 0xabcd);
}

static void test_header_helpers(void **state)
{
    uint8_t raw[40] = {0};
    RigIpv4Hdr *ip4 = (RigIpv4Hdr *)raw;
    RigIpv6Hdr *ip6 = (RigIpv6Hdr *)raw;
    RigTcpHdr *tcp = (RigTcpHdr *)raw;

    ip4->ver_ihl = 0x46;
    assert_int_equal(rig_ipv4_version(ip4), 4);
    assert_int_equal(rig_ipv4_hdr_len(ip4), 24);

    rig_ipv6_set_ver_tc_flow(ip6, 0xb9, 0xabcde);
    assert_int_equal(raw[0], 0x6b);
    assert_int_equal(raw[1], 0x9a);
    assert_int_equal(raw[2], 0xbc);
    assert_int_equal(raw[3], 0xde);
    assert_int_equal(rig_ipv6_version(ip6), 6);
    assert_int_equal(rig_ipv6_traffic_class(ip6), 0xb9);
    assert_int_equal(rig_ipv6_flow_label(ip6), 0xabcde);

    memset(raw, 0, sizeof(raw));
    rig_tcp_set_doff_flags(tcp, 32, RIG_TCP_NS | RIG_TCP_CWR | RIG_TCP_FIN);
    assert_int_equal(raw[12], 0x81); /* doff 8, NS */
    assert_int_equal(raw[13], 0x81); /* CWR, FIN */
    assert_int_equal(rig_tcp_hdr_len(tcp), 32);
    assert_int_equal(rig_tcp_flags(tcp),
                     RIG_TCP_NS | RIG_TCP_CWR | RIG_TCP_FIN);

    assert_int_equal(rig_vlan_tci_make(7, true, 4095), 0xffff);
    assert_int_equal(rig_vlan_tci_make(5, false, 100), 0xa064);
}

static void test_vnet_hdr(void **state)
{
    uint8_t b[RIG_VIRTIO_NET_HDR_V1_LEN];
    const uint8_t expect[] = {4, 1, 0x36, 0, 0xe8, 0x03, 20, 0, 3, 0, 0, 0};
    RigVirtioNetHdrV1 *h = (RigVirtioNetHdrV1 *)b;

    assert_int_equal(
        rig_net_build_vnet_hdr(b, sizeof(b), RIG_VIRTIO_NET_HDR_F_RSC_INFO,
                               RIG_VIRTIO_NET_HDR_GSO_TCPV4, 54, 1000, 20, 3),
        12);
    assert_memory_equal(b, expect, sizeof(expect));
    assert_int_equal(rig_vnet_hdr_rsc_segments(h), 20);
    assert_int_equal(rig_vnet_hdr_rsc_dup_acks(h), 3);
    rig_vnet_hdr_set_rsc(h, 0x102, 0x304);
    assert_int_equal(b[6], 0x02);
    assert_int_equal(b[7], 0x01);
    assert_int_equal(b[8], 0x04);
    assert_int_equal(rig_net_build_vnet_hdr(b, 11, 0, 0, 0, 0, 0, 0), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_byte_order),
        cmocka_unit_test(test_header_helpers),
        cmocka_unit_test(test_vnet_hdr),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
