/*
 * Decoding of what the device delivers: the virtio-net header (RSC_INFO:
 * csum_start = segments, csum_offset = duplicate ACKs), the frame through
 * rig/net, NetKVM-shaped counters and per-flow loss accounting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guest/rx-frame.h"
#include "net/build.h"

#define HDR RIG_VIRTIO_NET_HDR_V1_LEN

/* virtio header + TCP/IPv4 segment of @payload bytes at @seq. */
static size_t make(uint8_t *buf, size_t size, uint8_t flags, uint8_t gso,
                   uint16_t csum_start, uint16_t csum_offset, uint32_t seq,
                   size_t payload, uint8_t family)
{
    RigNetFrameDesc d = {
        .family = family,
        .protocol = RIG_IPPROTO_TCP,
        .df = true,
        .src_ip = {10, 0, 0, 1},
        .dst_ip = {10, 0, 0, 2},
        .src_port = 40000,
        .dst_port = 5001,
        .seq = seq,
        .ack = 77,
        .window = 502,
        .tcp_flags = RIG_TCP_ACK,
        .payload_len = payload,
    };
    ssize_t n;

    if (family == 6) {
        memset(d.src_ip, 0, 16);
        memset(d.dst_ip, 0, 16);
        d.src_ip[0] = 0xfd;
        d.src_ip[15] = 1;
        d.dst_ip[0] = 0xfd;
        d.dst_ip[15] = 2;
    }
    assert_int_equal(rig_net_build_vnet_hdr(buf, size, flags, gso, 0, 0,
                                            csum_start, csum_offset),
                     HDR);
    n = rig_net_build_frame(&d, buf + HDR, size - HDR);
    assert_true(n > 0);
    return HDR + (size_t)n;
}

static void test_coalesced_v4(void **state)
{
    static uint8_t buf[HDR + RIG_NET_FRAME_MAX];
    RigGuestFrame f = {0};
    size_t len = make(buf, sizeof(buf), RIG_VIRTIO_NET_HDR_F_RSC_INFO,
                      RIG_VIRTIO_NET_HDR_GSO_TCPV4, 20, 3, 1000, 20000, 4);

    rig_guest_frame_decode(buf, len, &f);
    assert_int_equal(f.len, len);
    /* 12 + 14 + 20 + 20 + 20000: the figure seen on real QEMU. */
    assert_int_equal(len, 12 + 20054);
    assert_true(f.coalesced);
    assert_int_equal(f.segments, 20);
    assert_int_equal(f.dup_acks, 3);
    assert_int_equal(f.gso_type, RIG_VIRTIO_NET_HDR_GSO_TCPV4);
    assert_int_equal(f.parse_errno, 0);
    assert_null(f.parse_error);
    assert_int_equal(f.family, 4);
    assert_int_equal(f.seq, 1000);
    assert_int_equal(f.ack, 77);
    assert_int_equal(f.payload_len, 20000);
    assert_string_equal(f.flow, "10.0.0.1:40000 > 10.0.0.2:5001 tcp");
    assert_int_equal(strlen(f.sha256), 64);
}

static void test_plain_v6(void **state)
{
    static uint8_t buf[4096];
    RigGuestFrame f = {0};
    /* Without RSC_INFO csum_start/offset are checksum pointers, not counts. */
    size_t len = make(buf, sizeof(buf), RIG_VIRTIO_NET_HDR_F_NEEDS_CSUM,
                      RIG_VIRTIO_NET_HDR_GSO_NONE, 54, 16, 5, 1000, 6);

    rig_guest_frame_decode(buf, len, &f);
    assert_false(f.coalesced);
    assert_int_equal(f.segments, 1);
    assert_int_equal(f.dup_acks, 0);
    assert_int_equal(f.csum_start, 54);
    assert_int_equal(f.csum_offset, 16);
    assert_int_equal(f.family, 6);
    assert_int_equal(f.payload_len, 1000);
}

static void test_short_and_garbage(void **state)
{
    const uint8_t tiny[5] = {4, 1, 0, 0, 0};
    uint8_t junk[64];
    RigGuestFrame f = {0};
    RigGuestFrame g = {0};

    /* Evidence, not a crash: recorded as a parse error. */
    rig_guest_frame_decode(tiny, sizeof(tiny), &f);
    assert_true(f.parse_errno < 0);
    assert_non_null(f.parse_error);
    assert_false(f.coalesced);
    memset(junk, 0xff, sizeof(junk));
    junk[0] = 0;
    rig_guest_frame_decode(junk, sizeof(junk), &g);
    assert_int_equal(g.family, 0);
}

static void test_counters_and_flows(void **state)
{
    static uint8_t buf[HDR + RIG_NET_FRAME_MAX];
    g_autoptr(GHashTable) flows =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    RigGuestCounters c = {0};
    RigGuestFrame f[3] = {{0}};
    RigGuestFlowStats *fs;
    size_t len;

    /* 10 segments coalesced, then 10 000 bytes lost, then one more. */
    len = make(buf, sizeof(buf), RIG_VIRTIO_NET_HDR_F_RSC_INFO,
               RIG_VIRTIO_NET_HDR_GSO_TCPV4, 10, 0, 1, 10000, 4);
    rig_guest_frame_decode(buf, len, &f[0]);
    len = make(buf, sizeof(buf), 0, 0, 0, 0, 20001, 1000, 4);
    rig_guest_frame_decode(buf, len, &f[1]);
    /* A retransmission of old data: overlap, not loss. */
    len = make(buf, sizeof(buf), 0, 0, 0, 0, 1, 1000, 4);
    rig_guest_frame_decode(buf, len, &f[2]);
    for (int i = 0; i < 3; i++) {
        rig_guest_counters_add(&c, &f[i]);
        rig_guest_flow_account(flows, &f[i]);
    }
    assert_int_equal(c.frames, 3);
    assert_int_equal(c.coalesced_frames, 1);
    assert_int_equal(c.segments, 10);
    assert_int_equal(c.coalesced_bytes, 10000);
    assert_int_equal(c.bytes,
                     (f[0].len - HDR) + (f[1].len - HDR) + (f[2].len - HDR));
    assert_int_equal(g_hash_table_size(flows), 1);
    fs = g_hash_table_lookup(flows, f[0].flow);
    assert_non_null(fs);
    assert_int_equal(fs->gaps, 1);
    assert_int_equal(fs->gap_bytes, 10000);
    assert_int_equal(fs->overlaps, 1);
    assert_int_equal(fs->next_seq, 21001);
    {
        g_autoptr(JsonNode) node = rig_guest_counters_to_json(&c, flows);
        JsonObject *o = json_node_get_object(node);

        assert_int_equal(json_object_get_int_member(o, "lost_bytes"), 10000);
        assert_int_equal(json_object_get_int_member(o, "segments"), 10);
    }
}

static void test_log_line_deterministic(void **state)
{
    static uint8_t buf[4096];
    RigGuestFrame a = {0};
    RigGuestFrame b = {0};
    size_t len = make(buf, sizeof(buf), 0, 0, 0, 0, 9, 100, 4);
    g_autofree char *la = NULL;
    g_autofree char *lb = NULL;

    rig_guest_frame_decode(buf, len, &a);
    rig_guest_frame_decode(buf, len, &b);
    /* Host time differs between runs; the log line must not show it. */
    a.host_ns = 1;
    b.host_ns = 2;
    la = rig_guest_frame_log_line(&a);
    lb = rig_guest_frame_log_line(&b);
    assert_string_equal(la, lb);
    buf[len - 1] ^= 1;
    rig_guest_frame_decode(buf, len, &b);
    g_free(lb);
    lb = rig_guest_frame_log_line(&b);
    assert_string_not_equal(la, lb);
}

static void test_frame_json(void **state)
{
    static uint8_t buf[4096];
    RigGuestFrame *f = g_new0(RigGuestFrame, 1);
    size_t len = make(buf, sizeof(buf), RIG_VIRTIO_NET_HDR_F_RSC_INFO,
                      RIG_VIRTIO_NET_HDR_GSO_TCPV4, 2, 0, 100, 2000, 4);
    g_autoptr(JsonNode) node = NULL;
    JsonObject *o;

    rig_guest_frame_decode(buf, len, f);
    f->data = g_bytes_new(buf, len);
    node = rig_guest_frame_to_json(f, TRUE);
    o = json_node_get_object(node);
    assert_int_equal(json_object_get_int_member(o, "segments"), 2);
    assert_int_equal(json_object_get_int_member(o, "seq_end"), 2100);
    assert_int_equal(strlen(json_object_get_string_member(o, "data")), 2 * len);
    assert_int_equal(json_object_get_int_member(
                         json_object_get_object_member(o, "hdr"), "csum_start"),
                     2);
    rig_guest_frame_free(f);
    rig_guest_frame_free(NULL);
}

/*
 * NetKVM's view (ParaNdis_PrepareReceivedPacket): RSC_INFO only with a
 * GSO type, host coalescing estimated from gso_size.
 */
static void test_netkvm_kinds(void **state)
{
    static uint8_t buf[HDR + RIG_NET_FRAME_MAX];
    RigGuestFrame f;
    RigGuestCounters c = {0};
    size_t len;

    /* RSC_INFO with GSO_NONE: the rig sees it, NetKVM ignores it. */
    memset(&f, 0, sizeof(f));
    len = make(buf, sizeof(buf), RIG_VIRTIO_NET_HDR_F_RSC_INFO,
               RIG_VIRTIO_NET_HDR_GSO_NONE, 5, 0, 1, 5000, 4);
    rig_guest_frame_decode(buf, len, &f);
    assert_true(f.coalesced);
    assert_int_equal(f.netkvm_kind, RIG_GUEST_NETKVM_SINGLE);
    assert_int_equal(f.netkvm_segments, 1);
    rig_guest_counters_add(&c, &f);
    assert_int_equal(c.netkvm.coalescing_events, 0);

    /* RSC_INFO with GSO_TCPV4: Windows coalescing, csum_start segments. */
    memset(&f, 0, sizeof(f));
    len = make(buf, sizeof(buf), RIG_VIRTIO_NET_HDR_F_RSC_INFO,
               RIG_VIRTIO_NET_HDR_GSO_TCPV4, 7, 0, 1, 7000, 4);
    rig_guest_frame_decode(buf, len, &f);
    assert_int_equal(f.netkvm_kind, RIG_GUEST_NETKVM_WIN);
    assert_int_equal(f.netkvm_segments, 7);
    assert_int_equal(f.ip_len, 20 + 20 + 7000);
    rig_guest_counters_add(&c, &f);

    /* GSO without RSC_INFO: 3001 bytes / gso_size 1000 = 4 segments. */
    memset(&f, 0, sizeof(f));
    len = make(buf, sizeof(buf), 0, RIG_VIRTIO_NET_HDR_GSO_TCPV6, 0, 0, 1, 3001,
               6);
    buf[4] = 1000 & 0xff;
    buf[5] = 1000 >> 8;
    rig_guest_frame_decode(buf, len, &f);
    assert_int_equal(f.netkvm_kind, RIG_GUEST_NETKVM_HOST);
    assert_int_equal(f.netkvm_segments, 4);
    rig_guest_counters_add(&c, &f);

    /* gso_size 0 or above the MTU's MSS: 1500 - 40 - 20 = 1440. */
    memset(&f, 0, sizeof(f));
    len = make(buf, sizeof(buf), 0, RIG_VIRTIO_NET_HDR_GSO_TCPV6, 0, 0, 1, 2881,
               6);
    buf[4] = 0;
    buf[5] = 0x80;
    rig_guest_frame_decode(buf, len, &f);
    assert_int_equal(f.netkvm_segments, 3);
    rig_guest_counters_add(&c, &f);

    assert_int_equal(c.netkvm.coalescing_events, 3);
    assert_int_equal(c.netkvm.coalesced_win, 1);
    assert_int_equal(c.netkvm.coalesced_host, 2);
    assert_int_equal(c.netkvm.coalesced_packets, 7 + 4 + 3);
    assert_int_equal(c.netkvm.coalesced_bytes,
                     (20 + 20 + 7000) + (40 + 20 + 3001) + (40 + 20 + 2881));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coalesced_v4),
        cmocka_unit_test(test_netkvm_kinds),
        cmocka_unit_test(test_plain_v6),
        cmocka_unit_test(test_short_and_garbage),
        cmocka_unit_test(test_counters_and_flows),
        cmocka_unit_test(test_log_line_deterministic),
        cmocka_unit_test(test_frame_json),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
