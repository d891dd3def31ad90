/* Directional 5-tuple keys. */
#include "net/flow.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net/wire.h"

int rig_flow_key_init(RigFlowKey *key, uint8_t family, uint8_t protocol,
                      const uint8_t *src, const uint8_t *dst, uint16_t src_port,
                      uint16_t dst_port)
{
    size_t alen;

    if (family == 4) {
        alen = RIG_IPV4_ALEN;
    } else if (family == 6) {
        alen = RIG_IPV6_ALEN;
    } else {
        return -EINVAL;
    }
    memset(key, 0, sizeof(*key));
    key->family = family;
    key->protocol = protocol;
    key->src_port = src_port;
    key->dst_port = dst_port;
    memcpy(key->src, src, alen);
    memcpy(key->dst, dst, alen);
    return 0;
}

void rig_flow_key_reverse(const RigFlowKey *key, RigFlowKey *ret_reversed)
{
    RigFlowKey r = *key;

    r.src_port = key->dst_port;
    r.dst_port = key->src_port;
    memcpy(r.src, key->dst, sizeof(r.src));
    memcpy(r.dst, key->src, sizeof(r.dst));
    *ret_reversed = r;
}

bool rig_flow_key_equal(const RigFlowKey *a, const RigFlowKey *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

int rig_flow_key_compare(const RigFlowKey *a, const RigFlowKey *b)
{
    return memcmp(a, b, sizeof(*a));
}

uint32_t rig_flow_key_hash(const RigFlowKey *key)
{
    const uint8_t *p = (const uint8_t *)key;
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < sizeof(*key); i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

int rig_flow_key_format(const RigFlowKey *key, char *buf, size_t size)
{
    char src[INET6_ADDRSTRLEN] = "?";
    char dst[INET6_ADDRSTRLEN] = "?";
    const char *proto;
    char proto_num[8];
    int n;

    if (key->family == 4 || key->family == 6) {
        int af = key->family == 4 ? AF_INET : AF_INET6;

        inet_ntop(af, key->src, src, sizeof(src));
        inet_ntop(af, key->dst, dst, sizeof(dst));
    }
    if (key->protocol == RIG_IPPROTO_TCP) {
        proto = "tcp";
    } else if (key->protocol == RIG_IPPROTO_UDP) {
        proto = "udp";
    } else {
        snprintf(proto_num, sizeof(proto_num), "%u", key->protocol);
        proto = proto_num;
    }
    if (key->family == 6) {
        n = snprintf(buf, size, "[%s]:%u > [%s]:%u %s", src, key->src_port, dst,
                     key->dst_port, proto);
    } else {
        n = snprintf(buf, size, "%s:%u > %s:%u %s", src, key->src_port, dst,
                     key->dst_port, proto);
    }
    if (n < 0) {
        return -EINVAL;
    }
    if ((size_t)n >= size) {
        return -ENOSPC;
    }
    return n;
}
