/*
 * The campaign's frame shapes: a seed and a round give the same frames,
 * every shape builds, and each damaging shape damages what it says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "campaign/mutate.h"
#include "net/parse.h"

static const uint8_t MAC[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static uint8_t buf[FUZZ_FRAME_MAX];

static guint64 digest_of_run(uint64_t seed, uint64_t round, guint frames)
{
    FuzzGen g;
    guint64 h = 1469598103934665603ull;

    fuzz_gen_init(&g, seed, round, MAC, 16);
    for (guint i = 0; i < frames; i++) {
        ssize_t len = fuzz_gen_next(&g, buf, sizeof(buf), NULL);

        assert_true(len >= RIG_ETH_HLEN);
        for (ssize_t k = 0; k < len; k++) {
            h = (h ^ buf[k]) * 1099511628211ull;
        }
    }
    return h;
}

static void test_seed_and_round_reproduce(void **state)
{
    assert_true(digest_of_run(42, 7, 400) == digest_of_run(42, 7, 400));
    assert_true(digest_of_run(42, 7, 400) != digest_of_run(42, 8, 400));
    assert_true(digest_of_run(42, 7, 400) != digest_of_run(43, 7, 400));
}

static void test_every_shape_is_made(void **state)
{
    FuzzGen g;

    fuzz_gen_init(&g, 1, 0, MAC, 64);
    for (guint i = 0; i < 30000; i++) {
        ssize_t len = fuzz_gen_next(&g, buf, sizeof(buf), NULL);

        assert_true(len >= RIG_ETH_HLEN && len <= (ssize_t)FUZZ_FRAME_MAX);
        assert_memory_equal(buf, MAC, 6);
    }
    for (guint k = 0; k < FUZZ_KIND_COUNT; k++) {
        assert_true(g.made[k] > 0);
        assert_string_not_equal(fuzz_kind_name(k), "?");
    }
}

/* Flow 0 of a generator whose first flow has @family. */
static void gen_with_family(FuzzGen *g, uint8_t family)
{
    for (uint64_t round = 0;; round++) {
        fuzz_gen_init(g, 99, round, MAC, 4);
        if (g->flows[0].family == family) {
            return;
        }
    }
}

static size_t l3(void)
{
    return RIG_ETH_HLEN;
}

static size_t l4(uint8_t family)
{
    return RIG_ETH_HLEN + (family == 4 ? RIG_IPV4_HLEN : RIG_IPV6_HLEN);
}

static void test_damage_is_what_it_says(void **state)
{
    for (uint8_t family = 4; family <= 6; family += 2) {
        FuzzGen g;

        gen_with_family(&g, family);
        for (guint i = 0; i < 200; i++) {
            FuzzFrameInfo info;
            uint32_t seq = g.flows[0].seq;
            ssize_t len;

            len = fuzz_gen_make(&g, FUZZ_KIND_IHL, 0, buf, sizeof(buf), &info);
            assert_true(len > 0);
            assert_false(info.moved);
            if (family == 4) {
                assert_int_not_equal(buf[l3()] & 0x0f, 5);
            } else {
                assert_int_not_equal(buf[l3()] >> 4, 6);
            }
            len = fuzz_gen_make(&g, FUZZ_KIND_DOFF, 0, buf, sizeof(buf), &info);
            assert_true(len > 0);
            assert_int_not_equal(buf[l4(family) + 12] >> 4, 5);
            len = fuzz_gen_make(&g, FUZZ_KIND_IPV6_PLEN0, 0, buf, sizeof(buf),
                                &info);
            assert_int_equal(rig_be16_get(buf + l3() + (family == 4 ? 2 : 4)),
                             0);
            len = fuzz_gen_make(&g, FUZZ_KIND_TRUNCATE, 0, buf, sizeof(buf),
                                &info);
            assert_true(len >= RIG_ETH_HLEN);
            assert_false(info.moved);
            /* noise leaves the flow where it was */
            assert_int_equal(g.flows[0].seq, seq);
        }
    }
}

static void test_valid_shapes_move_the_flow(void **state)
{
    FuzzGen g;
    RigNetView v;
    RigNetError why;

    gen_with_family(&g, 4);
    for (guint i = 0; i < 200; i++) {
        uint32_t seq = g.flows[0].seq;
        FuzzFrameInfo info;
        ssize_t len =
            fuzz_gen_make(&g, FUZZ_KIND_DATA, 0, buf, sizeof(buf), &info);

        assert_int_equal(rig_net_parse(buf, (size_t)len,
                                       RIG_NET_PARSE_VERIFY_CSUM, &v, &why),
                         0);
        assert_true(info.moved);
        assert_int_equal(v.seq, seq);
        assert_int_equal(v.l4_csum, RIG_NET_CSUM_OK);
        assert_int_equal(g.flows[0].seq, seq + (uint32_t)v.payload_len);

        len = fuzz_gen_make(&g, FUZZ_KIND_PAD, 0, buf, sizeof(buf), &info);
        assert_int_equal(rig_net_parse(buf, (size_t)len, 0, &v, &why), 0);
        assert_true(v.trailer_len > 0);

        len = fuzz_gen_make(&g, FUZZ_KIND_TINY_PADDED, 0, buf, sizeof(buf),
                            &info);
        assert_int_equal(len, RIG_ETH_MIN_FRAME);
        assert_int_equal(rig_net_parse(buf, (size_t)len, 0, &v, &why), 0);
        assert_true(v.payload_len >= 1 && v.payload_len <= 5);
        assert_true(v.trailer_len > 0);

        len = fuzz_gen_make(&g, FUZZ_KIND_WRAP, 0, buf, sizeof(buf), &info);
        assert_int_equal(rig_net_parse(buf, (size_t)len, 0, &v, &why), 0);
        assert_true(v.seq >= UINT32_MAX - 3000);
    }
}

static void test_ipv6_chains_are_not_tcp_first(void **state)
{
    FuzzGen g;

    gen_with_family(&g, 6);
    for (guint i = 0; i < 200; i++) {
        ssize_t len =
            fuzz_gen_make(&g, FUZZ_KIND_IPV6_EXT, 0, buf, sizeof(buf), NULL);

        assert_true(len > (ssize_t)l4(6));
        assert_int_not_equal(buf[l3() + 6], RIG_IPPROTO_TCP);
    }
}

/* The 64 KiB shape lands on QEMU's limit, one under or one over. */
static void test_accumulation_lands_on_the_limit(void **state)
{
    for (uint8_t family = 4; family <= 6; family += 2) {
        uint32_t limit = family == 4 ? 65515 - 40 : 65535 - 20;
        guint landed = 0;
        FuzzGen g;

        gen_with_family(&g, family);
        for (guint i = 0; i < 5000 && landed < 5; i++) {
            uint32_t before = g.flows[0].run;
            RigNetView v;
            ssize_t len =
                fuzz_gen_make(&g, FUZZ_KIND_BIG, 0, buf, sizeof(buf), NULL);

            assert_int_equal(rig_net_parse(buf, (size_t)len, 0, &v, NULL), 0);
            if (before < limit && limit - before <= 1461) {
                uint32_t total = before + (uint32_t)v.payload_len;

                assert_true(total >= limit - 1 && total <= limit + 1);
                landed++;
            }
        }
        assert_int_equal(landed, 5);
    }
}

static void test_skipping_trailers_leaves_none(void **state)
{
    FuzzGen g;
    guint32 mask = 0;
    g_autoptr(GError) error = NULL;

    assert_true(
        fuzz_kind_parse_list("trailer, tiny-padded,vlan", &mask, &error));
    assert_int_equal(mask, (1u << FUZZ_KIND_PAD) |
                               (1u << FUZZ_KIND_TINY_PADDED) |
                               (1u << FUZZ_KIND_VLAN));
    assert_false(fuzz_kind_parse_list("data,nonsense", &mask, &error));
    assert_non_null(strstr(error->message, "nonsense"));
    assert_non_null(strstr(error->message, "64k-boundary"));

    fuzz_gen_init(&g, 5, 1, MAC, 8);
    fuzz_gen_set_skip(&g,
                      (1u << FUZZ_KIND_PAD) | (1u << FUZZ_KIND_TINY_PADDED));
    for (guint i = 0; i < 20000; i++) {
        RigNetView v;
        ssize_t len = fuzz_gen_next(&g, buf, sizeof(buf), NULL);

        if (rig_net_parse(buf, (size_t)len, 0, &v, NULL) == 0 && v.family) {
            assert_int_equal(v.trailer_len, 0);
        }
    }
    assert_int_equal(g.made[FUZZ_KIND_PAD], 0);
    assert_int_equal(g.made[FUZZ_KIND_TINY_PADDED], 0);
    assert_true(g.made[FUZZ_KIND_BIG] > 0 && g.made[FUZZ_KIND_IP_LEN] > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_and_round_reproduce),
        cmocka_unit_test(test_every_shape_is_made),
        cmocka_unit_test(test_damage_is_what_it_says),
        cmocka_unit_test(test_valid_shapes_move_the_flow),
        cmocka_unit_test(test_ipv6_chains_are_not_tcp_first),
        cmocka_unit_test(test_accumulation_lands_on_the_limit),
        cmocka_unit_test(test_skipping_trailers_leaves_none),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
