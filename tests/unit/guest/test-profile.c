/* Feature profiles: exactly the bits NetKVM acks, and the variants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guest/profile.h"

#define B(n) (UINT64_C(1) << (n))

/*
 * NetKVM's acks with its default settings (ParaNdis_InitializeContext,
 * InitializeRSCState, InitializeMAC), written out by bit number.
 */
#define NETKVM_HEAD                                                            \
    (B(16) | B(17) | B(21) | B(5) | B(23) | B(3) | B(29) | B(0) | B(1) |       \
     B(2) | B(61) | B(7) | B(8) | B(11) | B(12) | B(56) | B(28) | B(27) |      \
     B(32) | B(18) | B(20) | B(19) | B(63))

static void test_netkvm(void **state)
{
    const RigGuestProfile *p = rig_guest_profile_lookup("netkvm");
    const RigGuestProfile *head = rig_guest_profile_lookup("netkvm-head");

    assert_non_null(p);
    assert_non_null(head);
    /* Released drivers: MRG_RXBUF acked, big buffers posted. */
    assert_int_equal(p->features, NETKVM_HEAD | B(15));
    assert_int_equal(p->buffers, RIG_GUEST_BUFFERS_BIG);
    assert_int_equal(p->required & B(15), 0);
    assert_true(p->required & B(61));
    /* Head (1a562db4): MergeableBuffers=0 means no MRG_RXBUF. */
    assert_int_equal(head->features, NETKVM_HEAD);
    assert_int_equal(head->buffers, RIG_GUEST_BUFFERS_BIG);
    assert_non_null(strstr(p->follows, "1a562db4"));
    assert_non_null(strstr(head->follows, "ParaNdis_Common.cpp"));
    /* Never ack what the rig does not implement (packed ring, MQ, ...). */
    assert_int_equal(p->features & RIG_GUEST_NETKVM_NOT_MODELLED, 0);
}

static void test_variants(void **state)
{
    const RigGuestProfile *netkvm = rig_guest_profile_lookup("netkvm");
    const RigGuestProfile *head = rig_guest_profile_lookup("netkvm-head");
    const RigGuestProfile *p;

    p = rig_guest_profile_lookup("no-rsc");
    assert_non_null(p);
    assert_int_equal(p->features, netkvm->features & ~B(61));
    assert_int_equal(p->required & B(61), 0);

    p = rig_guest_profile_lookup("rsc-v4-only");
    assert_non_null(p);
    assert_int_equal(p->features, netkvm->features & ~B(8));

    p = rig_guest_profile_lookup("rsc-v6-only");
    assert_non_null(p);
    assert_int_equal(p->features, netkvm->features & ~B(7));

    p = rig_guest_profile_lookup("mrg-rxbuf");
    assert_non_null(p);
    assert_int_equal(p->features, head->features | B(15));
    assert_int_equal(p->buffers, RIG_GUEST_BUFFERS_SMALL);
    assert_true(p->required & B(15));
}

/* ParaNdis_DeviceConfigureRSC's mask. */
static void test_offloads(void **state)
{
    const RigGuestProfile *netkvm = rig_guest_profile_lookup("netkvm");
    uint64_t all = netkvm->features;

    assert_int_equal(rig_guest_profile_offloads(all, TRUE, TRUE),
                     B(1) | B(7) | B(8) | B(61));
    /* RSC disabled: GUEST_CSUM + bit 61, no TSO bits. */
    assert_int_equal(rig_guest_profile_offloads(all, FALSE, FALSE),
                     B(1) | B(61));
    assert_int_equal(rig_guest_profile_offloads(all, TRUE, FALSE),
                     B(1) | B(7) | B(61));
    /* A family not acked stays off whatever is asked. */
    assert_int_equal(rig_guest_profile_offloads(all & ~B(8), TRUE, TRUE),
                     B(1) | B(7) | B(61));
    /* Without RSC_EXT: no bit 61. */
    assert_int_equal(rig_guest_profile_offloads(all & ~B(61), TRUE, TRUE),
                     B(1) | B(7) | B(8));
    /* No CTRL_GUEST_OFFLOADS or no GUEST_CSUM: no command at all. */
    assert_int_equal(rig_guest_profile_offloads(all & ~B(2), TRUE, TRUE), 0);
    assert_int_equal(rig_guest_profile_offloads(all & ~B(1), TRUE, TRUE), 0);
}

/* QEMU's rsc4_enabled/rsc6_enabled (virtio_net_set_features, _offloads). */
static void test_rsc_active(void **state)
{
    uint64_t all = rig_guest_profile_lookup("netkvm")->features;

    /* Before any offloads command the features decide. */
    assert_true(rig_guest_rsc_active(all, 0, FALSE, 4));
    assert_true(rig_guest_rsc_active(all, 0, FALSE, 6));
    assert_false(rig_guest_rsc_active(all & ~B(61), 0, FALSE, 4));
    assert_false(rig_guest_rsc_active(all & ~B(8), 0, FALSE, 6));
    /* NetKVM's "RSC off": bit 61 without TSO is off. */
    assert_false(rig_guest_rsc_active(all, B(1) | B(61), TRUE, 4));
    assert_false(rig_guest_rsc_active(all, B(1) | B(61), TRUE, 6));
    /* TSO without bit 61 is off too: the harness's old rule missed it. */
    assert_false(rig_guest_rsc_active(all, B(1) | B(7) | B(8), TRUE, 4));
    /* Per family. */
    assert_true(rig_guest_rsc_active(all, B(1) | B(7) | B(61), TRUE, 4));
    assert_false(rig_guest_rsc_active(all, B(1) | B(7) | B(61), TRUE, 6));
    /* The offloads can not enable what was never negotiated. */
    assert_false(
        rig_guest_rsc_active(all & ~B(7), B(1) | B(7) | B(61), TRUE, 4));
}

static void test_table(void **state)
{
    guint n;
    const RigGuestProfile *all = rig_guest_profile_all(&n);
    g_autofree char *names = rig_guest_profile_names();

    assert_int_equal(n, 6);
    for (guint i = 0; i < n; i++) {
        /* A profile never requires what it does not ack. */
        assert_int_equal(all[i].required & ~all[i].features, 0);
        assert_true(all[i].features & B(32));
        assert_non_null(all[i].follows);
        assert_non_null(strstr(names, all[i].name));
    }
    assert_string_equal(all[0].name, "netkvm");
    assert_null(rig_guest_profile_lookup("windows"));
    assert_null(rig_guest_profile_lookup(NULL));
}

static void test_feature_names(void **state)
{
    assert_string_equal(rig_virtio_net_feature_name(61),
                        "VIRTIO_NET_F_RSC_EXT");
    assert_string_equal(rig_virtio_net_feature_name(32), "VIRTIO_F_VERSION_1");
    assert_string_equal(rig_virtio_net_feature_name(7),
                        "VIRTIO_NET_F_GUEST_TSO4");
    assert_null(rig_virtio_net_feature_name(58));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_netkvm),   cmocka_unit_test(test_variants),
        cmocka_unit_test(test_offloads), cmocka_unit_test(test_rsc_active),
        cmocka_unit_test(test_table),    cmocka_unit_test(test_feature_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
