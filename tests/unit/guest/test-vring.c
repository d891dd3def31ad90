/* Split-ring layout arithmetic and the guest RAM bump allocator. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "guest/vring.h"

static void test_sizes(void **state)
{
    /* virtio 1.x 2.7: desc 16*N, avail 6+2*N, used 6+8*N. */
    assert_int_equal(rig_vring_desc_bytes(256), 4096);
    assert_int_equal(rig_vring_avail_bytes(256), 518);
    assert_int_equal(rig_vring_used_bytes(256), 2054);
    assert_true(rig_vring_size_valid(1));
    assert_true(rig_vring_size_valid(256));
    assert_true(rig_vring_size_valid(32768));
    assert_false(rig_vring_size_valid(0));
    assert_false(rig_vring_size_valid(3));
    assert_false(rig_vring_size_valid(65536));
}

static void test_offsets_wrap(void **state)
{
    RigVringLayout l = {
        .size = 8, .desc = 0x1000, .avail = 0x1080, .used = 0x10a0};

    assert_int_equal(rig_vring_avail_idx_addr(&l), 0x1082);
    assert_int_equal(rig_vring_avail_entry_addr(&l, 0), 0x1084);
    assert_int_equal(rig_vring_avail_entry_addr(&l, 7), 0x1084 + 14);
    /* Free-running indexes wrap modulo the ring size. */
    assert_int_equal(rig_vring_avail_entry_addr(&l, 8), 0x1084);
    assert_int_equal(rig_vring_avail_entry_addr(&l, 65535), 0x1084 + 14);
    assert_int_equal(rig_vring_used_idx_addr(&l), 0x10a2);
    assert_int_equal(rig_vring_used_elem_addr(&l, 9), 0x10a4 + 8);
    assert_int_equal(rig_vring_desc_addr(&l, 3), 0x1030);
}

static void test_pending_wraps(void **state)
{
    assert_int_equal(rig_vring_pending(5, 5), 0);
    assert_int_equal(rig_vring_pending(7, 5), 2);
    /* The 16-bit used index wraps: 65535 -> 1 is two new entries. */
    assert_int_equal(rig_vring_pending(1, 65535), 2);
    assert_int_equal(rig_vring_pending(0, 65280), 256);
}

/* vring_need_event (virtio spec 2.7.10) and the EVENT_IDX fields. */
static void test_event_idx(void **state)
{
    RigVringLayout l = {
        .size = 256, .desc = 0x1000, .avail = 0x2000, .used = 0x3000};

    assert_int_equal(rig_vring_used_event_addr(&l), 0x2000 + 4 + 2 * 256);
    assert_int_equal(rig_vring_avail_event_addr(&l), 0x3000 + 4 + 8 * 256);
    /* The device asked to hear of index 5: 3 -> 8 crosses it. */
    assert_true(rig_vring_need_event(5, 8, 3));
    assert_true(rig_vring_need_event(3, 8, 3));
    assert_false(rig_vring_need_event(8, 8, 3));
    assert_false(rig_vring_need_event(2, 8, 3));
    /* Nothing added: never. */
    assert_false(rig_vring_need_event(3, 3, 3));
    /* Across the 16-bit wrap. */
    assert_true(rig_vring_need_event(0xffff, 2, 0xfffe));
    assert_true(rig_vring_need_event(0, 2, 0xfffe));
    assert_false(rig_vring_need_event(2, 2, 0xfffe));
}

static void test_desc_encode(void **state)
{
    RigVringDesc d = {.addr = 0x0000000123456789ULL,
                      .len = 0x10080,
                      .flags = RIG_VRING_DESC_F_WRITE | RIG_VRING_DESC_F_NEXT,
                      .next = 0x1234};
    const uint8_t want[16] = {0x89, 0x67, 0x45, 0x23, 0x01, 0, 0,    0,
                              0x80, 0x00, 0x01, 0x00, 0x03, 0, 0x34, 0x12};
    uint8_t out[16];
    uint32_t id;
    uint32_t len;

    rig_vring_desc_encode(&d, out);
    assert_memory_equal(out, want, 16);
    rig_vring_used_elem_decode(0x0000004e00000011ULL, &id, &len);
    assert_int_equal(id, 0x11);
    assert_int_equal(len, 0x4e);
}

static void test_allocator(void **state)
{
    RigGuestMem m;
    uint64_t a = 0;
    uint64_t b = 0;

    rig_guest_mem_init(&m, 0x100001, 0x100100);
    assert_int_equal(rig_guest_mem_alloc(&m, 16, 16, &a), 0);
    assert_int_equal(a, 0x100010);
    assert_int_equal(rig_guest_mem_alloc(&m, 1, 64, &b), 0);
    assert_int_equal(b, 0x100040);
    assert_int_equal(rig_guest_mem_alloc(&m, 0x100, 1, &a), -ENOMEM);
    assert_int_equal(rig_guest_mem_alloc(&m, 0, 1, &a), -EINVAL);
    assert_int_equal(rig_guest_mem_alloc(&m, 1, 3, &a), -EINVAL);
    /* Exactly up to the end is fine. */
    assert_int_equal(rig_guest_mem_alloc(&m, 0x100100 - 0x100041, 1, &a), 0);
    assert_int_equal(a, 0x100041);
    assert_int_equal(rig_guest_mem_alloc(&m, 1, 1, &a), -ENOMEM);
}

static void test_layout_alloc(void **state)
{
    RigGuestMem m;
    RigVringLayout l;
    RigVringLayout untouched = {.size = 99};

    rig_guest_mem_init(&m, 0x100000, 0x200000);
    assert_int_equal(rig_vring_layout_alloc(&m, 256, &l), 0);
    assert_int_equal(l.size, 256);
    assert_int_equal(l.desc, 0x100000);
    assert_int_equal(l.avail, 0x101000);
    assert_int_equal(l.used % 4, 0);
    assert_true(l.used >= l.avail + rig_vring_avail_bytes(256));
    assert_int_equal(rig_vring_layout_alloc(&m, 100, &untouched), -EINVAL);
    /* A failed allocation leaves the allocator and the output alone. */
    rig_guest_mem_init(&m, 0x100000, 0x100000 + 4096 + 100);
    assert_int_equal(rig_vring_layout_alloc(&m, 256, &untouched), -ENOMEM);
    assert_int_equal(untouched.size, 99);
    assert_int_equal(m.next, 0x100000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_offsets_wrap),
        cmocka_unit_test(test_pending_wraps),
        cmocka_unit_test(test_desc_encode),
        cmocka_unit_test(test_event_idx),
        cmocka_unit_test(test_allocator),
        cmocka_unit_test(test_layout_alloc),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
