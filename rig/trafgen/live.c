/*
 * live.c - a small real TCP sender on the raw transport
 */
#include "trafgen/live.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "net/build.h"
#include "net/checksum.h"
#include "net/parse.h"
#include "output/output-file.h"
#include "trafgen/pacer.h"

#define RTO_INITIAL_NS   G_GINT64_CONSTANT(200000000)
#define RTO_MAX_NS       G_GINT64_CONSTANT(3000000000)
#define RESOLVE_RETRY_NS G_GINT64_CONSTANT(1000000000)
#define OUR_WINDOW       65535

#define ARP_LEN   28
#define ICMPV6_NS 135
#define ICMPV6_NA 136

/* sequence space comparisons (RFC 793 arithmetic) */
#define SEQ_LT(a, b)  ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((a) - (b)) > 0)

typedef struct {
    const TrafgenLiveConfig *config;
    TrafgenTransport *transport;
    TrafgenEndpoints ep;
    uint8_t *tx;
    uint8_t *rx;
    gboolean resolved;
    gboolean established;
    uint32_t isn;
    uint32_t snd_una;
    uint32_t snd_nxt;
    uint32_t snd_max;
    uint32_t end_seq;
    uint32_t rcv_nxt;
    uint32_t peer_wnd;
    gboolean peer_rst;
    gboolean peer_fin;
    int64_t rto_ns;
    int64_t rto_deadline; /* 0: not armed */
    int64_t last_progress;
    int send_error;
    TrafgenLiveResult res;
} Live;

void trafgen_live_config_init(TrafgenLiveConfig *config)
{
    memset(config, 0, sizeof(*config));
    trafgen_endpoints_init_default(&config->endpoints, FALSE);
    config->bytes = 1000000;
    config->mss = TRAFGEN_DEFAULT_PAYLOAD;
    config->isn = 1000000;
    config->period_ns = 100000;
    config->timeout_ms = 10000;
}

static void send_frame(Live *l, const uint8_t *frame, ssize_t len)
{
    int r;

    if (len < 0) {
        l->send_error = (int)-len;
        return;
    }
    r = trafgen_transport_send(l->transport, frame, (size_t)len, 0);
    if (r < 0) {
        l->send_error = -r;
    }
}

static void base_desc(const Live *l, RigNetFrameDesc *d)
{
    memset(d, 0, sizeof(*d));
    memcpy(d->dst_mac, l->ep.dst_mac, 6);
    memcpy(d->src_mac, l->ep.src_mac, 6);
    d->family = l->ep.ipv6 ? 6 : 4;
    memcpy(d->src_ip, l->ep.src_ip, 16);
    memcpy(d->dst_ip, l->ep.dst_ip, 16);
    d->df = true;
    d->ip_id = (uint16_t)(l->res.segments_sent + l->res.timeouts);
}

static void send_tcp(Live *l, uint32_t seq, uint16_t flags, uint32_t len)
{
    RigNetFrameDesc d;
    RigNetTcpOption mss = {.kind = RIG_TCPOPT_MSS,
                           .mss = (uint16_t)l->config->mss};

    base_desc(l, &d);
    d.protocol = RIG_IPPROTO_TCP;
    d.src_port = l->ep.src_port;
    d.dst_port = l->ep.dst_port;
    d.seq = seq;
    d.ack = (flags & RIG_TCP_ACK) ? l->rcv_nxt : 0;
    d.window = OUR_WINDOW;
    d.tcp_flags = flags;
    if (flags & RIG_TCP_SYN) {
        d.tcp_options = &mss;
        d.tcp_option_count = 1;
    }
    d.payload_len = len;
    d.pattern = RIG_NET_PATTERN_SEQ;
    send_frame(l, l->tx, rig_net_build_frame(&d, l->tx, RIG_NET_FRAME_MAX));
}

static void send_arp(Live *l, uint16_t op, const uint8_t *tha,
                     const uint8_t *tpa)
{
    static const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t zero[6] = {0};
    uint8_t *p = l->tx;

    memcpy(p, op == 1 ? broadcast : tha, 6);
    memcpy(p + 6, l->ep.src_mac, 6);
    rig_be16_put(p + 12, RIG_ETHERTYPE_ARP);
    p += RIG_ETH_HLEN;
    rig_be16_put(p, 1); /* Ethernet */
    rig_be16_put(p + 2, RIG_ETHERTYPE_IPV4);
    p[4] = 6;
    p[5] = 4;
    rig_be16_put(p + 6, op);
    memcpy(p + 8, l->ep.src_mac, 6);
    memcpy(p + 14, l->ep.src_ip, 4);
    memcpy(p + 18, op == 1 ? zero : tha, 6);
    memcpy(p + 24, tpa, 4);
    send_frame(l, l->tx, RIG_ETH_HLEN + ARP_LEN);
}

/* Neighbour solicitation (@solicit) for the peer, or advertisement of our
 * address to @dst_mac/@dst_ip. */
static void send_nd(Live *l, gboolean solicit, const uint8_t *dst_mac,
                    const uint8_t *dst_ip)
{
    uint8_t msg[32] = {0};
    uint8_t mcast_ip[16] = {0xff, 0x02, [11] = 0x01, [12] = 0xff};
    uint8_t mcast_mac[6] = {0x33, 0x33, 0xff};
    const uint8_t *target = solicit ? l->ep.dst_ip : l->ep.src_ip;
    RigNetFrameDesc d;
    uint32_t sum;

    base_desc(l, &d);
    if (solicit) {
        /* solicited-node multicast of the target */
        memcpy(mcast_ip + 13, target + 13, 3);
        memcpy(mcast_mac + 3, target + 13, 3);
        dst_mac = mcast_mac;
        dst_ip = mcast_ip;
    }
    memcpy(d.dst_mac, dst_mac, 6);
    memcpy(d.dst_ip, dst_ip, 16);
    msg[0] = solicit ? ICMPV6_NS : ICMPV6_NA;
    if (!solicit) {
        msg[4] = 0x60; /* solicited, override */
    }
    memcpy(msg + 8, target, 16);
    msg[24] = solicit ? 1 : 2; /* source / target link-layer address */
    msg[25] = 1;
    memcpy(msg + 26, l->ep.src_mac, 6);
    sum = rig_csum_ipv6_pseudo(d.src_ip, d.dst_ip, RIG_IPPROTO_ICMPV6,
                               sizeof(msg));
    sum = rig_csum_add(sum, msg, sizeof(msg));
    rig_be16_put(msg + 2, rig_csum_finish(sum));
    d.protocol = RIG_IPPROTO_ICMPV6;
    d.ttl = 255; /* RFC 4861: anything else is dropped */
    d.payload = msg;
    d.payload_len = sizeof(msg);
    send_frame(l, l->tx, rig_net_build_frame(&d, l->tx, RIG_NET_FRAME_MAX));
}

static void send_resolution(Live *l)
{
    if (l->ep.ipv6) {
        send_nd(l, TRUE, NULL, NULL);
    } else {
        send_arp(l, 1, NULL, l->ep.dst_ip);
    }
}

static void handle_arp(Live *l, const uint8_t *p, size_t len)
{
    uint16_t op;

    if (len < ARP_LEN || rig_be16_get(p) != 1 ||
        rig_be16_get(p + 2) != RIG_ETHERTYPE_IPV4 || p[4] != 6 || p[5] != 4) {
        return;
    }
    op = rig_be16_get(p + 6);
    if (op == 1 && memcmp(p + 24, l->ep.src_ip, 4) == 0) {
        /* the peer resolves us: our namespace has no such address */
        send_arp(l, 2, p + 8, p + 14);
    } else if (op == 2 && memcmp(p + 14, l->ep.dst_ip, 4) == 0 &&
               !l->config->mac_given) {
        memcpy(l->ep.dst_mac, p + 8, 6);
        l->resolved = TRUE;
    }
}

static void handle_icmpv6(Live *l, const RigNetView *v, const uint8_t *buf)
{
    const uint8_t *m = buf + v->payload_off;

    if (v->payload_len < 24 || v->ttl != 255) {
        return;
    }
    if (m[0] == ICMPV6_NS && memcmp(m + 8, l->ep.src_ip, 16) == 0) {
        send_nd(l, FALSE, v->src_mac, v->src_ip);
    } else if (m[0] == ICMPV6_NA && memcmp(m + 8, l->ep.dst_ip, 16) == 0 &&
               !l->config->mac_given) {
        /* the target link-layer option when present, else the sender */
        if (v->payload_len >= 32 && m[24] == 2 && m[25] == 1) {
            memcpy(l->ep.dst_mac, m + 26, 6);
        } else {
            memcpy(l->ep.dst_mac, v->src_mac, 6);
        }
        l->resolved = TRUE;
    }
}

static void handle_tcp(Live *l, const RigNetView *v, int64_t now)
{
    uint16_t flags = v->tcp_flags;

    if (flags & RIG_TCP_RST) {
        l->peer_rst = TRUE;
        return;
    }
    if (!l->established) {
        if ((flags & (RIG_TCP_SYN | RIG_TCP_ACK)) ==
                (RIG_TCP_SYN | RIG_TCP_ACK) &&
            v->ack == l->isn + 1) {
            l->established = TRUE;
            l->rcv_nxt = v->seq + 1;
            l->snd_una = v->ack;
            l->peer_wnd = v->window;
            l->res.peer_mss =
                (v->tcp_opt_present & RIG_NET_TCPOPT_HAS_MSS) ? v->mss : 536;
            l->res.min_peer_window = v->window;
            l->res.max_peer_window = v->window;
            l->last_progress = now;
            send_tcp(l, l->snd_nxt, RIG_TCP_ACK, 0);
        }
        return;
    }
    if (flags & RIG_TCP_SYN) {
        /* our ACK of the SYN-ACK was lost: repeat it */
        send_tcp(l, l->snd_nxt, RIG_TCP_ACK, 0);
        return;
    }
    if ((flags & RIG_TCP_ACK) && SEQ_LEQ(l->snd_una, v->ack) &&
        SEQ_LEQ(v->ack, l->snd_max)) {
        if (SEQ_GT(v->ack, l->snd_una)) {
            l->snd_una = v->ack;
            l->last_progress = now;
            l->rto_ns = RTO_INITIAL_NS;
            l->rto_deadline = l->snd_una != l->snd_max ? now + l->rto_ns : 0;
            if (SEQ_LT(l->snd_nxt, l->snd_una)) {
                l->snd_nxt = l->snd_una;
            }
        }
        if (v->window != l->peer_wnd) {
            l->last_progress = now;
        }
        l->peer_wnd = v->window;
        l->res.min_peer_window = MIN(l->res.min_peer_window, v->window);
        l->res.max_peer_window = MAX(l->res.max_peer_window, v->window);
    }
    if (flags & RIG_TCP_FIN) {
        uint32_t fin_seq = v->seq + (uint32_t)v->payload_len;

        if (!l->peer_fin && v->seq == l->rcv_nxt) {
            l->peer_fin = TRUE;
            l->rcv_nxt = fin_seq + 1;
        }
        /* (re)acknowledge the FIN */
        send_tcp(l, l->snd_nxt, RIG_TCP_ACK, 0);
    }
}

static void handle_frame(Live *l, const uint8_t *buf, size_t len, int64_t now)
{
    RigNetView v;

    /* no checksum check: a local peer's frames arrive over veth/tap with
     * the checksum still to be completed by an offload (CHECKSUM_PARTIAL) */
    if (rig_net_parse(buf, len, 0, &v, NULL) < 0) {
        return;
    }
    if (v.family == 0 && v.ethertype == RIG_ETHERTYPE_ARP && !l->ep.ipv6) {
        handle_arp(l, buf + v.payload_off, v.payload_len);
        return;
    }
    if (v.family != (l->ep.ipv6 ? 6 : 4) ||
        memcmp(v.dst_ip, l->ep.src_ip, l->ep.ipv6 ? 16 : 4) != 0) {
        return;
    }
    if (v.protocol == RIG_IPPROTO_ICMPV6 && l->ep.ipv6) {
        handle_icmpv6(l, &v, buf);
        return;
    }
    if (v.protocol != RIG_IPPROTO_TCP ||
        memcmp(v.src_ip, l->ep.dst_ip, l->ep.ipv6 ? 16 : 4) != 0 ||
        v.src_port != l->ep.dst_port || v.dst_port != l->ep.src_port) {
        return;
    }
    handle_tcp(l, &v, now);
}

/* Receives and handles frames until @until (absolute) or one frame. */
static gboolean poll_frames(Live *l, int64_t until, GError **error)
{
    int64_t now = trafgen_now_ns();
    ssize_t n;

    n = trafgen_transport_recv(l->transport, l->rx, RIG_NET_FRAME_MAX,
                               MAX(until - now, 0));
    if (n < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno((int)-n),
                    "receive failed: %s", g_strerror((int)-n));
        return FALSE;
    }
    if (n > 0) {
        handle_frame(l, l->rx, (size_t)n, trafgen_now_ns());
    }
    if (l->send_error) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(l->send_error),
                    "send failed: %s", g_strerror(l->send_error));
        return FALSE;
    }
    if (l->peer_rst) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                    "the peer reset the connection (is something listening "
                    "on the port, and is our source address foreign to "
                    "our own namespace?)");
        return FALSE;
    }
    if (l->config->stop && *l->config->stop) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "interrupted");
        return FALSE;
    }
    return TRUE;
}

static gboolean timed_out(Live *l, int64_t now, const char *what,
                          GError **error)
{
    if (now - l->last_progress <
        (int64_t)l->config->timeout_ms * G_GINT64_CONSTANT(1000000)) {
        return FALSE;
    }
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                "no progress for %d ms while %s", l->config->timeout_ms, what);
    return TRUE;
}

static gboolean resolve(Live *l, GError **error)
{
    int64_t retry = 0;

    while (!l->resolved) {
        int64_t now = trafgen_now_ns();

        if (timed_out(l, now, "resolving the peer's MAC address", error)) {
            return FALSE;
        }
        if (now >= retry) {
            send_resolution(l);
            retry = now + RESOLVE_RETRY_NS;
        }
        if (!poll_frames(l, retry, error)) {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean handshake(Live *l, GError **error)
{
    int64_t retry = 0;
    int64_t start = trafgen_now_ns();

    l->snd_nxt = l->isn + 1;
    l->snd_max = l->snd_nxt;
    while (!l->established) {
        int64_t now = trafgen_now_ns();

        if (timed_out(l, now, "waiting for the SYN-ACK", error)) {
            return FALSE;
        }
        if (now >= retry) {
            send_tcp(l, l->isn, RIG_TCP_SYN, 0);
            retry = now + RESOLVE_RETRY_NS;
        }
        if (!poll_frames(l, retry, error)) {
            return FALSE;
        }
    }
    l->res.handshake_ns = trafgen_now_ns() - start;
    return TRUE;
}

/* One slot: the next in-order segment if the peer's window has room. */
static void send_next(Live *l, int64_t now)
{
    uint32_t mss = MIN(l->config->mss, l->res.peer_mss);
    int64_t room = (int64_t)(uint32_t)(l->snd_una + l->peer_wnd - l->snd_nxt);
    uint32_t left = l->end_seq - l->snd_nxt;
    uint32_t len;

    if (SEQ_GT(l->snd_nxt, l->snd_una + l->peer_wnd)) {
        room = 0;
    }
    len = (uint32_t)MIN((int64_t)MIN(mss, left), room);
    if (left == 0) {
        return;
    }
    if (len == 0) {
        l->res.window_stalls++;
        if (l->rto_deadline == 0) {
            /* nothing in flight and no window: the probe timer */
            l->rto_deadline = now + l->rto_ns;
        }
        return;
    }
    if (SEQ_LT(l->snd_nxt, l->snd_max)) {
        l->res.retransmitted_segments++;
    }
    send_tcp(l, l->snd_nxt, RIG_TCP_ACK, len);
    l->res.segments_sent++;
    l->snd_nxt += len;
    if (SEQ_GT(l->snd_nxt, l->snd_max)) {
        l->snd_max = l->snd_nxt;
    }
    if (l->rto_deadline == 0) {
        l->rto_deadline = now + l->rto_ns;
    }
}

static void on_timeout(Live *l, int64_t now)
{
    l->res.timeouts++;
    if (l->snd_una == l->snd_max && l->peer_wnd == 0) {
        /* zero window probe: one byte the peer acknowledges or drops */
        send_tcp(l, l->snd_una, RIG_TCP_ACK, 1);
        l->res.zero_window_probes++;
        l->res.segments_sent++;
        l->snd_nxt = l->snd_una + 1;
        l->snd_max = l->snd_nxt;
    } else {
        /* go back N: everything after snd_una is sent again */
        l->snd_nxt = l->snd_una;
    }
    l->rto_ns = MIN(l->rto_ns * 2, RTO_MAX_NS);
    l->rto_deadline = now + l->rto_ns;
}

static gboolean transfer(Live *l, GError **error)
{
    int64_t start = trafgen_now_ns();
    int64_t next_slot = start;

    l->end_seq = l->isn + 1 + (uint32_t)l->config->bytes;
    l->rto_ns = RTO_INITIAL_NS;
    while (l->snd_una != l->end_seq) {
        int64_t now = trafgen_now_ns();
        int64_t until;

        if (timed_out(l, now, "sending data", error)) {
            return FALSE;
        }
        if (l->rto_deadline && now >= l->rto_deadline) {
            on_timeout(l, now);
        }
        if (now >= next_slot) {
            send_next(l, now);
            next_slot = MAX(next_slot + l->config->period_ns, now);
        }
        until = next_slot;
        if (l->rto_deadline) {
            until = MIN(until, l->rto_deadline);
        }
        if (!poll_frames(l, until, error)) {
            return FALSE;
        }
    }
    l->res.bytes_acked = l->config->bytes;
    l->res.transfer_ns = trafgen_now_ns() - start;
    return TRUE;
}

static gboolean close_connection(Live *l, GError **error)
{
    uint32_t fin_seq = l->end_seq;
    int64_t rto = RTO_INITIAL_NS;
    int64_t retry = 0;

    l->snd_max = fin_seq + 1;
    l->last_progress = trafgen_now_ns();
    while (l->snd_una != fin_seq + 1 || !l->peer_fin) {
        int64_t now = trafgen_now_ns();

        if (timed_out(l, now, "closing (FIN)", error)) {
            return FALSE;
        }
        if (l->snd_una != fin_seq + 1 && now >= retry) {
            if (retry != 0) {
                l->res.timeouts++;
                rto = MIN(rto * 2, RTO_MAX_NS);
            }
            l->snd_nxt = fin_seq;
            send_tcp(l, fin_seq, RIG_TCP_FIN | RIG_TCP_ACK, 0);
            l->snd_nxt = fin_seq + 1;
            retry = now + rto;
        }
        if (!poll_frames(l, l->snd_una != fin_seq + 1 ? retry : now + 100000000,
                         error)) {
            return FALSE;
        }
    }
    l->res.peer_closed = TRUE;
    return TRUE;
}

gboolean trafgen_live_run(const TrafgenLiveConfig *config,
                          TrafgenTransport *transport,
                          TrafgenLiveResult *ret_result, GError **error)
{
    g_autofree uint8_t *tx = g_malloc(RIG_NET_FRAME_MAX);
    g_autofree uint8_t *rx = g_malloc(RIG_NET_FRAME_MAX);
    int64_t start = trafgen_now_ns();
    Live l = {
        .config = config,
        .transport = transport,
        .ep = config->endpoints,
        .tx = tx,
        .rx = rx,
        .isn = config->isn,
        .rto_ns = RTO_INITIAL_NS,
        .last_progress = start,
    };

    if (trafgen_transport_kind(transport) != TRAFGEN_TRANSPORT_PACKET) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "live TCP needs an AF_PACKET transport (--iface)");
        return FALSE;
    }
    if (config->bytes == 0 || config->bytes >= G_MAXINT32 || config->mss == 0 ||
        config->period_ns <= 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "live TCP needs 0 < bytes < 2 GiB, mss > 0, period > 0");
        return FALSE;
    }
    if (!config->src_mac_given &&
        !trafgen_transport_get_mac(transport, l.ep.src_mac)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "cannot read the interface's MAC address (give "
                    "--src-mac)");
        return FALSE;
    }
    l.resolved = config->mac_given;
    if (!resolve(&l, error) || !handshake(&l, error) || !transfer(&l, error) ||
        !close_connection(&l, error)) {
        return FALSE;
    }
    memcpy(l.res.peer_mac, l.ep.dst_mac, 6);
    l.res.total_ns = trafgen_now_ns() - start;
    *ret_result = l.res;
    return TRUE;
}

void trafgen_live_result_print(const TrafgenLiveResult *r, FILE *out)
{
    fprintf(out,
            "rsc-trafgen live TCP: %" G_GUINT64_FORMAT
            " bytes acknowledged in %.3f s (handshake %.3f ms), peer "
            "%02x:%02x:%02x:%02x:%02x:%02x MSS %u\n",
            r->bytes_acked, (double)r->transfer_ns / 1e9,
            (double)r->handshake_ns / 1e6, r->peer_mac[0], r->peer_mac[1],
            r->peer_mac[2], r->peer_mac[3], r->peer_mac[4], r->peer_mac[5],
            r->peer_mss);
    fprintf(out,
            "  %" G_GUINT64_FORMAT " data segments (%" G_GUINT64_FORMAT
            " retransmitted), %" G_GUINT64_FORMAT
            " timeouts, %" G_GUINT64_FORMAT " window stalls, %" G_GUINT64_FORMAT
            " zero-window probes, peer window %u..%u, closed %s\n",
            r->segments_sent, r->retransmitted_segments, r->timeouts,
            r->window_stalls, r->zero_window_probes, r->min_peer_window,
            r->max_peer_window, r->peer_closed ? "cleanly" : "no");
}

gboolean trafgen_live_result_write_json(const TrafgenLiveResult *r,
                                        const char *path, GError **error)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *text = NULL;
    g_autofree char *line = NULL;
    const struct {
        const char *name;
        gint64 value;
    } fields[] = {
        {"bytes_acked", (gint64)r->bytes_acked},
        {"segments_sent", (gint64)r->segments_sent},
        {"retransmitted_segments", (gint64)r->retransmitted_segments},
        {"timeouts", (gint64)r->timeouts},
        {"window_stalls", (gint64)r->window_stalls},
        {"zero_window_probes", (gint64)r->zero_window_probes},
        {"min_peer_window", r->min_peer_window},
        {"max_peer_window", r->max_peer_window},
        {"peer_mss", r->peer_mss},
        {"handshake_ns", r->handshake_ns},
        {"transfer_ns", r->transfer_ns},
        {"total_ns", r->total_ns},
    };

    json_builder_begin_object(b);
    for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
        json_builder_set_member_name(b, fields[i].name);
        json_builder_add_int_value(b, fields[i].value);
    }
    json_builder_set_member_name(b, "peer_closed");
    json_builder_add_boolean_value(b, r->peer_closed);
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    text = json_generator_to_data(gen, NULL);
    line = g_strconcat(text, "\n", NULL);
    return rig_output_write(path, line, strlen(line), error);
}
