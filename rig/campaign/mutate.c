#include "campaign/mutate.h"

#include <errno.h>
#include <string.h>

#include "net/checksum.h"
#include "net/parse.h"

static const char *const KIND_NAMES[] = {
#define FUZZ_KIND_NAME(id, name, weight) name,
    FUZZ_KINDS(FUZZ_KIND_NAME)
#undef FUZZ_KIND_NAME
};

static const uint32_t KIND_WEIGHTS[] = {
#define FUZZ_KIND_WEIGHT(id, name, weight) weight,
    FUZZ_KINDS(FUZZ_KIND_WEIGHT)
#undef FUZZ_KIND_WEIGHT
};

/* Largest TCP payload of one frame: the IP packet fills the tap's MTU. */
#define MAX_PAYLOAD(family)                                                    \
    (FUZZ_TAP_MTU - RIG_TCP_HLEN -                                             \
     ((family) == 4 ? RIG_IPV4_HLEN : RIG_IPV6_HLEN))

const char *fuzz_kind_name(FuzzKind kind)
{
    return (unsigned)kind < FUZZ_KIND_COUNT ? KIND_NAMES[kind] : "?";
}

void fuzz_gen_init(FuzzGen *gen, uint64_t seed, uint64_t round,
                   const uint8_t guest_mac[6], guint nflows)
{
    memset(gen, 0, sizeof(*gen));
    fuzz_prng_init(&gen->prng, seed, round);
    memcpy(gen->guest_mac, guest_mac, 6);
    gen->nflows = CLAMP(nflows, 1, FUZZ_MAX_FLOWS);
    for (guint i = 0; i < gen->nflows; i++) {
        FuzzFlow *f = &gen->flows[i];
        FuzzPrng *p = &gen->prng;

        f->family = fuzz_prng_chance(p, 50) ? 4 : 6;
        if (f->family == 4) {
            memcpy(f->src_ip, (uint8_t[]){10, 77, 0, 1}, 4);
            memcpy(f->dst_ip, (uint8_t[]){10, 77, 0, 2}, 4);
            f->src_ip[3] = (uint8_t)fuzz_prng_range(p, 1, 4);
        } else {
            static const uint8_t base[16] = {0xfd, 0x00, 0x77};

            memcpy(f->src_ip, base, 16);
            memcpy(f->dst_ip, base, 16);
            f->src_ip[15] = (uint8_t)fuzz_prng_range(p, 1, 4);
            f->dst_ip[15] = 0x99;
        }
        /* Distinct ports keep the flows apart whatever the addresses. */
        f->src_port = (uint16_t)(20000 + i);
        f->dst_port = (uint16_t)(fuzz_prng_chance(p, 50) ? 5001 : 445);
        f->seq = fuzz_prng_chance(p, 25)
                     ? UINT32_MAX - fuzz_prng_below(p, 100000)
                     : (uint32_t)fuzz_prng_next(p);
        f->ack = fuzz_prng_chance(p, 25) ? UINT32_MAX - fuzz_prng_below(p, 2000)
                                         : (uint32_t)fuzz_prng_next(p);
        f->window = (uint16_t)fuzz_prng_range(p, 1, 65535);
    }
}

void fuzz_gen_set_skip(FuzzGen *gen, guint32 skip)
{
    gen->skip = skip & ((1u << FUZZ_KIND_COUNT) - 1);
}

gboolean fuzz_kind_parse_list(const char *list, guint32 *ret_mask,
                              GError **error)
{
    g_auto(GStrv) names = g_strsplit(list, ",", -1);
    guint32 mask = 0;

    for (guint n = 0; names[n]; n++) {
        const char *name = g_strstrip(names[n]);
        guint k;

        if (!name[0]) {
            continue;
        }
        for (k = 0; k < FUZZ_KIND_COUNT; k++) {
            if (strcmp(name, KIND_NAMES[k]) == 0) {
                break;
            }
        }
        if (k == FUZZ_KIND_COUNT) {
            g_autofree char *known = g_strjoinv(", ", (char **)KIND_NAMES);

            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "unknown shape '%s' (shapes: %s)", name, known);
            return FALSE;
        }
        mask |= 1u << k;
    }
    *ret_mask = mask;
    return TRUE;
}

static gboolean skipped(const FuzzGen *gen, FuzzKind kind)
{
    /* A tiny padded frame is a frame with a trailer. */
    if (kind == FUZZ_KIND_TINY_PADDED && ((gen->skip >> FUZZ_KIND_PAD) & 1)) {
        return TRUE;
    }
    return (gen->skip >> kind) & 1;
}

static FuzzKind pick_kind(FuzzGen *gen)
{
    uint32_t total = 0, r;

    for (guint i = 0; i < FUZZ_KIND_COUNT; i++) {
        total += skipped(gen, i) ? 0 : KIND_WEIGHTS[i];
    }
    if (total == 0) {
        return FUZZ_KIND_DATA;
    }
    r = fuzz_prng_below(&gen->prng, total);
    for (guint i = 0; i < FUZZ_KIND_COUNT; i++) {
        uint32_t w = skipped(gen, i) ? 0 : KIND_WEIGHTS[i];

        if (r < w) {
            return (FuzzKind)i;
        }
        r -= w;
    }
    return FUZZ_KIND_DATA;
}

/* Mostly MSS-sized and small segments, sometimes jumbo and huge ones. */
static uint32_t payload_size(FuzzPrng *p, uint8_t family)
{
    uint32_t r = fuzz_prng_below(p, 100);

    if (r < 45) {
        return fuzz_prng_range(p, 1, 1460);
    }
    if (r < 70) {
        return fuzz_prng_chance(p, 50) ? 1448 : 1460;
    }
    if (r < 88) {
        return fuzz_prng_range(p, 1, 64);
    }
    if (r < 97) {
        return fuzz_prng_range(p, 1461, 9000);
    }
    return fuzz_prng_range(p, 9001, MAX_PAYLOAD(family));
}

static void base_desc(FuzzGen *gen, const FuzzFlow *f, RigNetFrameDesc *d)
{
    memset(d, 0, sizeof(*d));
    memcpy(d->dst_mac, gen->guest_mac, 6);
    memcpy(d->src_mac, (uint8_t[]){0x52, 0x54, 0x00, 0xf2, 0x22, 0x01}, 6);
    d->family = f->family;
    memcpy(d->src_ip, f->src_ip, 16);
    memcpy(d->dst_ip, f->dst_ip, 16);
    d->ttl = 64;
    d->df = true;
    d->protocol = RIG_IPPROTO_TCP;
    d->src_port = f->src_port;
    d->dst_port = f->dst_port;
    d->seq = f->seq;
    d->ack = f->ack;
    d->window = f->window;
    d->tcp_flags = RIG_TCP_ACK;
    d->pattern = RIG_NET_PATTERN_SEQ;
}

/* Offsets of the built (still valid) frame, for byte-level damage. */
static gboolean layout(const uint8_t *buf, size_t len, RigNetView *ret_view)
{
    return rig_net_parse(buf, len, 0, ret_view, NULL) == 0;
}

static void fix_ipv4_csum(uint8_t *buf, const RigNetView *v)
{
    size_t ihl = (size_t)(buf[v->l3_off] & 0x0f) * 4;

    if (v->family != 4 || ihl < RIG_IPV4_HLEN || v->l3_off + ihl > v->len) {
        /* A lying IHL: checksum over the fixed header only. */
        ihl = RIG_IPV4_HLEN;
    }
    rig_be16_put(buf + v->l3_off + 10, 0);
    rig_be16_put(buf + v->l3_off + 10,
                 rig_csum_ipv4_header(buf + v->l3_off, ihl));
}

/* Sets the IPv4 total length or the IPv6 payload length. */
static void set_ip_len(uint8_t *buf, const RigNetView *v, uint16_t value)
{
    if (v->family == 4) {
        rig_be16_put(buf + v->l3_off + 2, value);
        fix_ipv4_csum(buf, v);
    } else {
        rig_be16_put(buf + v->l3_off + 4, value);
    }
}

/* Every header boundary of the frame, for truncation. */
static size_t pick_boundary(FuzzPrng *p, const RigNetView *v)
{
    size_t b[16];
    guint n = 0;
    size_t cut;

    b[n++] = RIG_ETH_HLEN;
    b[n++] = v->l3_off + 1;
    b[n++] = v->l3_off + (v->family == 4 ? 9 : 7); /* protocol / next hdr */
    b[n++] = v->l3_off + (v->family == 4 ? RIG_IPV4_HLEN : RIG_IPV6_HLEN);
    b[n++] = v->l3_off + v->l3_hdr_len;
    if (v->l4_off) {
        b[n++] = v->l4_off + 4;  /* ports */
        b[n++] = v->l4_off + 12; /* data offset */
        b[n++] = v->l4_off + 14; /* flags */
        b[n++] = v->l4_off + RIG_TCP_HLEN;
        b[n++] = v->l4_off + v->l4_hdr_len;
    }
    b[n++] = v->payload_off + 1;
    b[n++] = v->payload_off + v->payload_len / 2;
    cut = b[fuzz_prng_below(p, n)] + fuzz_prng_below(p, 3) - 1;
    return CLAMP(cut, RIG_ETH_HLEN,
                 v->len > RIG_ETH_HLEN ? v->len - 1 : v->len);
}

static void tcp_options(FuzzPrng *p, RigNetTcpOption *opts, size_t *ret_n)
{
    static const uint8_t unknown[] = {0xde, 0xad, 0xbe, 0xef};
    size_t n = 0;

    switch (fuzz_prng_below(p, 5)) {
    case 0: /* what Linux sends on every segment */
    case 1:
        opts[n++] = (RigNetTcpOption){.kind = RIG_TCPOPT_NOP};
        opts[n++] = (RigNetTcpOption){.kind = RIG_TCPOPT_NOP};
        opts[n++] = (RigNetTcpOption){.kind = RIG_TCPOPT_TIMESTAMP,
                                      .ts_val = (uint32_t)fuzz_prng_next(p),
                                      .ts_ecr = (uint32_t)fuzz_prng_next(p)};
        break;
    case 2:
        opts[n++] = (RigNetTcpOption){.kind = RIG_TCPOPT_MSS, .mss = 1460};
        break;
    case 3:
        opts[n].kind = RIG_TCPOPT_SACK;
        opts[n].sack_count = (uint8_t)fuzz_prng_range(p, 1, 3);
        for (guint i = 0; i < opts[n].sack_count; i++) {
            opts[n].sack[i][0] = (uint32_t)fuzz_prng_next(p);
            opts[n].sack[i][1] = opts[n].sack[i][0] + 1000;
        }
        n++;
        break;
    default:
        opts[n++] = (RigNetTcpOption){
            .kind = 0xfd, .raw = unknown, .raw_len = sizeof(unknown)};
        break;
    }
    *ret_n = n;
}

/* Odd IPv6 chains too: hop-by-hop not first, repeats, fragments. */
static size_t ipv6_chain(FuzzPrng *p, RigNetIpv6Ext *ext)
{
    static const uint8_t types[] = {RIG_IPPROTO_HOPOPTS, RIG_IPPROTO_ROUTING,
                                    RIG_IPPROTO_FRAGMENT, RIG_IPPROTO_DSTOPTS};
    size_t n = fuzz_prng_range(p, 1, 4);

    for (size_t i = 0; i < n; i++) {
        memset(&ext[i], 0, sizeof(ext[i]));
        ext[i].type = types[fuzz_prng_below(p, G_N_ELEMENTS(types))];
        ext[i].frag_id = (uint32_t)fuzz_prng_next(p);
        ext[i].frag_more = fuzz_prng_chance(p, 30);
        ext[i].frag_offset = (uint16_t)(fuzz_prng_chance(p, 30) ? 1 : 0);
    }
    return n;
}

ssize_t fuzz_gen_make(FuzzGen *gen, FuzzKind kind, guint flow_index,
                      uint8_t *buf, size_t size, FuzzFrameInfo *ret_info)
{
    FuzzPrng *p = &gen->prng;
    FuzzFlow *f = &gen->flows[flow_index % gen->nflows];
    RigNetFrameDesc d;
    RigNetTcpOption opts[4];
    RigNetIpv6Ext ext[4];
    uint8_t ipopts[8];
    RigNetView v = {0};
    gboolean moved = TRUE; /* valid frames move the flow on */
    gboolean ends_run = FALSE;
    size_t trailer = 0; /* bytes after the IP packet */
    ssize_t len;

    if (size < FUZZ_FRAME_MAX) {
        return -ENOSPC;
    }
    base_desc(gen, f, &d);
    d.payload_len = payload_size(p, f->family);
    if (fuzz_prng_chance(p, 30)) {
        d.tcp_flags |= RIG_TCP_PSH;
    }
    switch (kind) {
    case FUZZ_KIND_PAD:
        /* Bytes after the IP packet, as a NIC or a bridge may leave. */
        trailer = fuzz_prng_chance(p, 80) ? fuzz_prng_range(p, 1, 64)
                                          : fuzz_prng_range(p, 65, 4000);
        break;
    case FUZZ_KIND_DATA:
    case FUZZ_KIND_VLAN:
        d.vlan = kind == FUZZ_KIND_VLAN;
        break;
    case FUZZ_KIND_TINY_PADDED:
        /* A NIC pads short frames to 60 bytes: legal Ethernet padding. */
        d.payload_len = fuzz_prng_range(p, 1, 5);
        d.pad_to_min = true;
        break;
    case FUZZ_KIND_PURE_ACK:
        d.payload_len = 0;
        d.ack = f->ack += fuzz_prng_range(p, 1, 20000);
        ends_run = TRUE;
        break;
    case FUZZ_KIND_DUP_ACK:
        d.payload_len = 0;
        ends_run = TRUE;
        break;
    case FUZZ_KIND_WIN_UPDATE:
        d.payload_len = 0;
        d.window = f->window = (uint16_t)fuzz_prng_range(p, 0, 65535);
        break;
    case FUZZ_KIND_WIN_EDGE: {
        static const uint16_t edges[] = {0, 1, 65534, 65535};

        d.window = f->window = edges[fuzz_prng_below(p, G_N_ELEMENTS(edges))];
        break;
    }
    case FUZZ_KIND_ACK_EDGE: {
        static const uint32_t jumps[] = {65534, 65535, 65536, 1u << 31,
                                         UINT32_MAX};

        d.ack = f->ack += jumps[fuzz_prng_below(p, G_N_ELEMENTS(jumps))];
        ends_run = TRUE;
        break;
    }
    case FUZZ_KIND_SEQ_EDGE: {
        static const int64_t jumps[] = {-1, 1, 65534, 65535, 65536, -1460};

        d.seq = f->seq +=
            (uint32_t)jumps[fuzz_prng_below(p, G_N_ELEMENTS(jumps))];
        ends_run = TRUE;
        break;
    }
    case FUZZ_KIND_WRAP:
        d.seq = f->seq = UINT32_MAX - fuzz_prng_below(p, 3000);
        d.ack = f->ack = UINT32_MAX - fuzz_prng_below(p, 3000);
        ends_run = TRUE;
        break;
    case FUZZ_KIND_FLAGS:
        d.tcp_flags =
            (uint16_t)(RIG_TCP_ACK | (fuzz_prng_next(p) & RIG_TCP_FLAGS_MASK));
        if (fuzz_prng_chance(p, 30)) {
            d.payload_len = 0;
        }
        d.urg_ptr = (d.tcp_flags & RIG_TCP_URG) ? 1 : 0;
        ends_run = TRUE;
        break;
    case FUZZ_KIND_TCP_OPTIONS:
        tcp_options(p, opts, &d.tcp_option_count);
        d.tcp_options = opts;
        d.payload_len = MIN(d.payload_len, MAX_PAYLOAD(f->family) - 40);
        ends_run = TRUE;
        break;
    case FUZZ_KIND_IP_OPTIONS:
        if (f->family == 4) {
            memcpy(ipopts, (uint8_t[]){RIG_IPOPT_RA, 4, 0, 0, 1, 1, 1, 1}, 8);
            d.ipv4_options = ipopts;
            d.ipv4_options_len = fuzz_prng_chance(p, 50) ? 4 : 8;
            d.payload_len = MIN(d.payload_len, MAX_PAYLOAD(4) - 8);
        }
        break;
    case FUZZ_KIND_ECN:
        d.tos =
            (uint8_t)((fuzz_prng_below(p, 64) << 2) | fuzz_prng_range(p, 1, 3));
        break;
    case FUZZ_KIND_FRAGMENT:
        d.df = fuzz_prng_chance(p, 50);
        d.mf = fuzz_prng_chance(p, 50);
        d.frag_offset = (uint16_t)(fuzz_prng_chance(p, 50) ? 0 : 185);
        break;
    case FUZZ_KIND_IPV6_EXT:
        if (f->family == 6) {
            d.ipv6_ext = ext;
            d.ipv6_ext_count = ipv6_chain(p, ext);
            d.payload_len = MIN(d.payload_len, MAX_PAYLOAD(6) - 64);
        }
        break;
    case FUZZ_KIND_BIG: {
        /* Fill the flow towards QEMU's limit: IPv4 total 65515 (its
         * max_payload), IPv6 payload 65535; land on it, one under or one
         * over. */
        uint32_t limit = f->family == 4 ? 65515 - 40 : 65535 - 20;
        uint32_t left = f->run < limit ? limit - f->run : 0;

        if (left > 0 && left <= 1461) {
            d.payload_len =
                CLAMP((int64_t)left + (int64_t)fuzz_prng_range(p, 0, 2) - 1, 1,
                      MAX_PAYLOAD(f->family));
        } else if (left > 1461) {
            d.payload_len =
                fuzz_prng_chance(p, 80) ? 1460 : MIN(left - 1, 30000);
        } else {
            d.payload_len = 1460;
        }
        d.tcp_flags &= (uint16_t)~RIG_TCP_PSH;
        /* A run that starts with a trailer: what the cache then holds
         * is longer than its IP packet, all the way to the limit. */
        if (f->run == 0 && fuzz_prng_chance(p, 30) &&
            !skipped(gen, FUZZ_KIND_PAD)) {
            trailer = fuzz_prng_range(p, 1, 1400);
        }
        break;
    }
    case FUZZ_KIND_NOT_TCP:
        d.protocol = fuzz_prng_chance(p, 60)
                         ? RIG_IPPROTO_UDP
                         : (uint8_t)(fuzz_prng_chance(p, 50)
                                         ? RIG_IPPROTO_ICMP
                                         : fuzz_prng_range(p, 100, 250));
        d.pattern_seed = (uint32_t)fuzz_prng_next(p);
        d.payload_len = MIN(d.payload_len, 1400);
        moved = FALSE;
        break;
    case FUZZ_KIND_NOT_IP: {
        static const uint16_t types[] = {RIG_ETHERTYPE_ARP, 0x88cc, 0x0842,
                                         0x9000};

        memset(&d, 0, sizeof(d));
        memcpy(d.dst_mac, gen->guest_mac, 6);
        memcpy(d.src_mac, (uint8_t[]){0x52, 0x54, 0x00, 0xf2, 0x22, 0x01}, 6);
        d.ethertype = types[fuzz_prng_below(p, G_N_ELEMENTS(types))];
        d.payload_len = fuzz_prng_range(p, 0, 100);
        d.pattern_seed = (uint32_t)fuzz_prng_next(p);
        moved = FALSE;
        break;
    }
    case FUZZ_KIND_IPV6_PLEN0:
    case FUZZ_KIND_IP_LEN:
    case FUZZ_KIND_IHL:
    case FUZZ_KIND_DOFF:
    case FUZZ_KIND_TRUNCATE:
        moved = FALSE; /* damaged below */
        d.payload_len = MIN(d.payload_len, 1460);
        break;
    case FUZZ_KIND_COUNT:
        return -EINVAL;
    }
    len = rig_net_build_frame(&d, buf, size);
    if (len < 0) {
        return len;
    }
    /* The damaging shapes start from a plain frame, which parses. */
    if ((kind == FUZZ_KIND_IPV6_PLEN0 || kind == FUZZ_KIND_IP_LEN ||
         kind == FUZZ_KIND_IHL || kind == FUZZ_KIND_DOFF ||
         kind == FUZZ_KIND_TRUNCATE) &&
        !layout(buf, (size_t)len, &v)) {
        return -EPROTO;
    }
    if (trailer) {
        size_t room = (size_t)RIG_ETH_HLEN + FUZZ_TAP_MTU - (size_t)len;

        trailer = MIN(trailer, room);
        for (size_t i = 0; i < trailer; i++) {
            buf[len + (ssize_t)i] = (uint8_t)fuzz_prng_next(p);
        }
        len += (ssize_t)trailer;
    }
    switch (kind) {
    case FUZZ_KIND_IPV6_PLEN0:
        if (v.family == 6) {
            set_ip_len(buf, &v, 0);
            break;
        }
        /* IPv4 flow: a total length of 0 is the same extreme. */
        set_ip_len(buf, &v, 0);
        break;
    case FUZZ_KIND_IP_LEN: {
        uint16_t real = v.family == 4 ? (uint16_t)v.l3_len
                                      : (uint16_t)(v.l3_len - RIG_IPV6_HLEN);
        uint16_t hdrs = v.family == 4 ? RIG_IPV4_HLEN : 0;
        /* The first six leave no trailer: too short for TCP or past the
         * frame's end. */
        uint16_t choices[] = {0,
                              1,
                              (uint16_t)(hdrs + RIG_TCP_HLEN - 1),
                              (uint16_t)(real + 1),
                              (uint16_t)(real + fuzz_prng_range(p, 2, 2000)),
                              65535,
                              (uint16_t)(hdrs + RIG_TCP_HLEN),
                              (uint16_t)(real - 1),
                              (uint16_t)fuzz_prng_next(p)};

        set_ip_len(
            buf, &v,
            choices[fuzz_prng_below(
                p, skipped(gen, FUZZ_KIND_PAD) ? 6 : G_N_ELEMENTS(choices))]);
        break;
    }
    case FUZZ_KIND_IHL:
        if (v.family == 4) {
            uint8_t ihl = (uint8_t)fuzz_prng_below(p, 16);

            buf[v.l3_off] = (uint8_t)(0x40 | (ihl == 5 ? 15 : ihl));
            fix_ipv4_csum(buf, &v);
        } else {
            /* IPv6 has no IHL: a wrong version nibble instead. */
            buf[v.l3_off] = (uint8_t)((fuzz_prng_below(p, 16) << 4) |
                                      (buf[v.l3_off] & 0x0f));
            if ((buf[v.l3_off] >> 4) == 6) {
                buf[v.l3_off] ^= 0x40;
            }
        }
        break;
    case FUZZ_KIND_DOFF: {
        uint8_t doff = (uint8_t)fuzz_prng_below(p, 16);

        if (doff == 5) {
            doff = fuzz_prng_chance(p, 50) ? 0 : 15;
        }
        buf[v.l4_off + 12] =
            (uint8_t)((doff << 4) | (buf[v.l4_off + 12] & 0x0f));
        break;
    }
    case FUZZ_KIND_TRUNCATE:
        len = (ssize_t)pick_boundary(p, &v);
        if (fuzz_prng_chance(p, 30) && (size_t)len > v.l3_off + 8) {
            /* Consistent lengths: the IP header says the packet is short. */
            set_ip_len(buf, &v,
                       (uint16_t)((size_t)len - v.l3_off -
                                  (v.family == 6 ? RIG_IPV6_HLEN : 0)));
        }
        break;
    default:
        break;
    }
    if (moved) {
        f->seq += (uint32_t)d.payload_len;
        f->run = ends_run ? 0 : f->run + (uint32_t)d.payload_len;
    }
    if (f->run >= 65535) {
        f->run = 0;
    }
    gen->made[kind]++;
    if (ret_info) {
        ret_info->kind = kind;
        ret_info->flow = flow_index % gen->nflows;
        ret_info->moved = moved;
    }
    return len;
}

ssize_t fuzz_gen_next(FuzzGen *gen, uint8_t *buf, size_t size,
                      FuzzFrameInfo *ret_info)
{
    FuzzKind kind = pick_kind(gen);
    guint flow = fuzz_prng_below(&gen->prng, gen->nflows);

    /* A 64 KiB run needs its flow to itself for a while. */
    if (kind == FUZZ_KIND_BIG) {
        flow = 0;
    }
    return fuzz_gen_make(gen, kind, flow, buf, size, ret_info);
}
