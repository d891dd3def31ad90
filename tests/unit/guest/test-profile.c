/* Feature profiles: exactly the bits NetKVM acks, and the variants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guest/profile.h"

#define B(n) (UINT64_C(1) << (n))

static void test_netkvm(void **state)
{
    const RigGuestProfile *p = rig_guest_profile_lookup("netkvm");

    assert_non_null(p);
    /* VERSION_1, MAC, STATUS, CTRL_VQ, CTRL_GUEST_OFFLOADS, GUEST_CSUM,
     * GUEST_TSO4, GUEST_TSO6, RSC_EXT: written out by bit number. */
    assert_int_equal(p->features, B(32) | B(5) | B(16) | B(17) | B(2) | B(1) |
                                      B(7) | B(8) | B(61));
    assert_int_equal(p->offloads, B(1) | B(7) | B(8) | B(61));
    assert_true(p->required & B(61));
    assert_int_equal(p->features & B(15), 0); /* no MRG_RXBUF */
}

static void test_variants(void **state)
{
    const RigGuestProfile *netkvm = rig_guest_profile_lookup("netkvm");
    const RigGuestProfile *p;

    p = rig_guest_profile_lookup("no-rsc");
    assert_non_null(p);
    assert_int_equal(p->features, netkvm->features & ~B(61));
    assert_int_equal(p->offloads & B(61), 0);
    assert_int_equal(p->required & B(61), 0);

    p = rig_guest_profile_lookup("rsc-v4-only");
    assert_non_null(p);
    assert_int_equal(p->features, netkvm->features & ~B(8));
    assert_int_equal(p->offloads, B(1) | B(7) | B(61));

    p = rig_guest_profile_lookup("rsc-v6-only");
    assert_non_null(p);
    assert_int_equal(p->features, netkvm->features & ~B(7));
    assert_int_equal(p->offloads, B(1) | B(8) | B(61));

    p = rig_guest_profile_lookup("mrg-rxbuf");
    assert_non_null(p);
    assert_int_equal(p->features, netkvm->features | B(15));
}

static void test_table(void **state)
{
    guint n;
    const RigGuestProfile *all = rig_guest_profile_all(&n);
    g_autofree char *names = rig_guest_profile_names();

    assert_int_equal(n, 5);
    for (guint i = 0; i < n; i++) {
        /* A profile never requires what it does not ack. */
        assert_int_equal(all[i].required & ~all[i].features, 0);
        /* Offloads are a subset of the acked features. */
        assert_int_equal(all[i].offloads & ~all[i].features, 0);
        assert_true(all[i].features & B(32));
        assert_non_null(strstr(names, all[i].name));
    }
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
        cmocka_unit_test(test_netkvm),
        cmocka_unit_test(test_variants),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_feature_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
