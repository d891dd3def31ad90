/*
 * libFuzzer target: rig_net_parse() on arbitrary bytes, with every flag
 * combination.  Besides crashes and sanitizer reports it aborts when an
 * accepted view points outside the input, or when a rejection comes
 * without a valid reason, or when the result depends on the flags in a way
 * the API excludes (verifying checksums must never change acceptance).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "net/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_view(const RigNetView *v, size_t len)
{
    if (v->len != len || v->payload_off > len ||
        v->payload_len > len - v->payload_off) {
        abort();
    }
    if (v->family && (v->l3_off + v->l3_len + v->trailer_len != len ||
                      v->l3_hdr_len > v->l3_len)) {
        abort();
    }
    if (v->l4_off && (v->l4_off + v->l4_hdr_len > len ||
                      v->tcp_opt_off + v->tcp_opt_len > len)) {
        abort();
    }
    for (size_t i = 0; i < v->ipv6_ext_count; i++) {
        if (v->ipv6_ext_off[i] + v->ipv6_ext_len[i] > len) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned base_flags[] = {
        0, RIG_NET_PARSE_VNET_HDR, RIG_NET_PARSE_L3,
        RIG_NET_PARSE_VNET_HDR | RIG_NET_PARSE_L3};

    for (size_t i = 0; i < sizeof(base_flags) / sizeof(base_flags[0]); i++) {
        RigNetView plain, verified;
        RigNetError why1 = RIG_NET_ERR_NONE, why2 = RIG_NET_ERR_NONE;
        int r1 = rig_net_parse(data, size, base_flags[i], &plain, &why1);
        int r2 =
            rig_net_parse(data, size, base_flags[i] | RIG_NET_PARSE_VERIFY_CSUM,
                          &verified, &why2);

        if (r1 != r2 || why1 != why2) {
            abort();
        }
        if (r1 == 0) {
            check_view(&plain, size);
            check_view(&verified, size);
        } else if ((r1 != -ENODATA && r1 != -EBADMSG && r1 != -E2BIG) ||
                   why1 <= RIG_NET_ERR_NONE || why1 >= RIG_NET_ERR_COUNT) {
            abort();
        }
    }
    return 0;
}
