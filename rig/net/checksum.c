/* RFC 1071 Internet checksum and the IPv4/IPv6 pseudo-headers. */
#include "net/checksum.h"

#include "net/wire.h"

uint32_t rig_csum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t acc = sum;

    /* A 64-bit accumulator cannot overflow for any 64 KiB packet. */
    while (len >= 2) {
        acc += rig_be16_get(p);
        p += 2;
        len -= 2;
    }
    if (len) {
        acc += (uint32_t)p[0] << 8;
    }
    while (acc >> 32) {
        acc = (acc & 0xffffffffu) + (acc >> 32);
    }
    return (uint32_t)acc;
}

uint16_t rig_csum_finish(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffffu) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

uint32_t rig_csum_ipv4_pseudo(const uint8_t *saddr, const uint8_t *daddr,
                              uint8_t protocol, uint16_t l4_len)
{
    uint32_t sum = 0;

    sum = rig_csum_add(sum, saddr, RIG_IPV4_ALEN);
    sum = rig_csum_add(sum, daddr, RIG_IPV4_ALEN);
    return sum + protocol + l4_len;
}

uint32_t rig_csum_ipv6_pseudo(const uint8_t *saddr, const uint8_t *daddr,
                              uint8_t nexthdr, uint32_t l4_len)
{
    uint32_t sum = 0;

    sum = rig_csum_add(sum, saddr, RIG_IPV6_ALEN);
    sum = rig_csum_add(sum, daddr, RIG_IPV6_ALEN);
    /* Fits: the address sums are < 2^20, the rest < 2^17. */
    return sum + (l4_len >> 16) + (l4_len & 0xffffu) + nexthdr;
}

uint16_t rig_csum_ipv4_header(const uint8_t *hdr, size_t hdr_len)
{
    return rig_csum_finish(rig_csum_add(0, hdr, hdr_len));
}
