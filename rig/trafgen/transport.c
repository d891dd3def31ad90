/*
 * transport.c - AF_PACKET, QEMU stream/dgram sockets and pcap files
 */
#include "trafgen/transport.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "net/build.h"
#include "net/pcap-writer.h"
#include "trafgen/streamframe.h"

/* PACKET_VNET_HDR takes the legacy 10-byte struct virtio_net_hdr. */
#define VNET_HDR_LEGACY_LEN 10

struct TrafgenTransport {
    TrafgenTransportKind kind;
    int fd;
    int ifindex;
    gboolean vnet;             /* PACKET_VNET_HDR is on */
    TrafgenVnetMode vnet_mode; /* what trafgen_transport_send() offloads */
    uint16_t gso_size;
    uint8_t *scratch; /* the frame with its checksum rewritten */
    char *description;
    RigPcapWriter *pcap;
    int64_t realtime_offset_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC */
};

static TrafgenTransport *transport_alloc(TrafgenTransportKind kind,
                                         const char *description)
{
    TrafgenTransport *t = g_new0(TrafgenTransport, 1);

    t->kind = kind;
    t->fd = -1;
    t->description = g_strdup(description);
    return t;
}

void trafgen_transport_free(TrafgenTransport *transport)
{
    if (transport == NULL) {
        return;
    }
    if (transport->fd >= 0) {
        close(transport->fd);
    }
    rig_pcap_writer_free(transport->pcap);
    g_free(transport->scratch);
    g_free(transport->description);
    g_free(transport);
}

static gboolean set_errno_error(GError **error, int err, const char *what,
                                const char *name)
{
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "%s %s: %s",
                what, name, g_strerror(err));
    return FALSE;
}

TrafgenTransport *trafgen_transport_new_packet(const char *ifname,
                                               gboolean receive, GError **error)
{
    g_autofree char *description = g_strdup_printf("packet:%s", ifname);
    g_autoptr(TrafgenTransport) t =
        transport_alloc(TRAFGEN_TRANSPORT_PACKET, description);
    struct sockaddr_ll sll = {0};
    int one = 1;

    t->ifindex = (int)if_nametoindex(ifname);
    if (t->ifindex == 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "no interface %s in this network namespace (ip link "
                    "shows the existing ones)",
                    ifname);
        return NULL;
    }
    /* protocol 0: a send-only socket is never queued any received frame */
    t->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC,
                   receive ? htons(ETH_P_ALL) : 0);
    if (t->fd < 0) {
        set_errno_error(error, errno, "AF_PACKET socket for", ifname);
        if (errno == EPERM) {
            g_prefix_error(error, "needs root or CAP_NET_RAW: ");
        }
        return NULL;
    }
    /* frames go straight to the driver: no qdisc queueing delay */
    if (setsockopt(t->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) <
        0) {
        set_errno_error(error, errno, "PACKET_QDISC_BYPASS on", ifname);
        return NULL;
    }
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = t->ifindex;
    sll.sll_protocol = receive ? htons(ETH_P_ALL) : 0;
    if (bind(t->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
        set_errno_error(error, errno, "bind AF_PACKET to", ifname);
        return NULL;
    }
    return g_steal_pointer(&t);
}

/* Fills @ret_addr from "unix:PATH" or "inet:HOST:PORT". */
static gboolean parse_address(const char *address, int socktype,
                              struct sockaddr_storage *ret_addr,
                              socklen_t *ret_len, GError **error)
{
    if (g_str_has_prefix(address, "unix:")) {
        struct sockaddr_un *sun = (struct sockaddr_un *)ret_addr;
        const char *path = address + strlen("unix:");

        if (strlen(path) == 0 || strlen(path) >= sizeof(sun->sun_path)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "bad unix socket path in '%s'", address);
            return FALSE;
        }
        memset(ret_addr, 0, sizeof(*ret_addr));
        sun->sun_family = AF_UNIX;
        memcpy(sun->sun_path, path, strlen(path));
        *ret_len = sizeof(*sun);
        return TRUE;
    }
    if (g_str_has_prefix(address, "inet:")) {
        g_autofree char *host = g_strdup(address + strlen("inet:"));
        char *colon = strrchr(host, ':');
        struct addrinfo hints = {.ai_socktype = socktype};
        struct addrinfo *res = NULL;
        char *h = host;
        int r;

        if (colon == NULL) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "'%s' lacks a port (inet:HOST:PORT)", address);
            return FALSE;
        }
        *colon = '\0';
        if (h[0] == '[' && colon > h && colon[-1] == ']') {
            colon[-1] = '\0';
            h++;
        }
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
        r = getaddrinfo(h, colon + 1, &hints, &res);
        if (r != 0) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "bad address '%s': %s (numeric HOST and PORT only)",
                        address, gai_strerror(r));
            return FALSE;
        }
        memcpy(ret_addr, res->ai_addr, res->ai_addrlen);
        *ret_len = res->ai_addrlen;
        freeaddrinfo(res);
        return TRUE;
    }
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "address '%s' is neither unix:PATH nor inet:HOST:PORT",
                address);
    return FALSE;
}

TrafgenTransport *trafgen_transport_new_stream(const char *address,
                                               GError **error)
{
    g_autofree char *description = g_strdup_printf("stream:%s", address);
    g_autoptr(TrafgenTransport) t =
        transport_alloc(TRAFGEN_TRANSPORT_STREAM, description);
    struct sockaddr_storage addr;
    socklen_t addr_len;

    if (!parse_address(address, SOCK_STREAM, &addr, &addr_len, error)) {
        return NULL;
    }
    t->fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (t->fd < 0 || connect(t->fd, (struct sockaddr *)&addr, addr_len) < 0) {
        set_errno_error(error, errno, "cannot connect to", address);
        g_prefix_error(error, "is QEMU's -netdev stream,server=on running? ");
        return NULL;
    }
    return g_steal_pointer(&t);
}

TrafgenTransport *trafgen_transport_new_dgram(const char *remote,
                                              const char *local, GError **error)
{
    g_autofree char *description = g_strdup_printf("dgram:%s", remote);
    g_autoptr(TrafgenTransport) t =
        transport_alloc(TRAFGEN_TRANSPORT_DGRAM, description);
    struct sockaddr_storage addr;
    socklen_t addr_len;

    if (!parse_address(remote, SOCK_DGRAM, &addr, &addr_len, error)) {
        return NULL;
    }
    t->fd = socket(addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (t->fd < 0) {
        set_errno_error(error, errno, "socket for", remote);
        return NULL;
    }
    if (local) {
        struct sockaddr_storage laddr;
        socklen_t laddr_len;

        if (!parse_address(local, SOCK_DGRAM, &laddr, &laddr_len, error)) {
            return NULL;
        }
        if (bind(t->fd, (struct sockaddr *)&laddr, laddr_len) < 0) {
            set_errno_error(error, errno, "cannot bind", local);
            return NULL;
        }
    }
    if (connect(t->fd, (struct sockaddr *)&addr, addr_len) < 0) {
        set_errno_error(error, errno, "cannot connect to", remote);
        return NULL;
    }
    return g_steal_pointer(&t);
}

static int64_t clock_ns(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * G_GINT64_CONSTANT(1000000000) + ts.tv_nsec;
}

TrafgenTransport *trafgen_transport_new_pcap(const char *path, GError **error)
{
    g_autofree char *description = g_strdup_printf("pcap:%s", path);
    g_autoptr(TrafgenTransport) t =
        transport_alloc(TRAFGEN_TRANSPORT_PCAP, description);

    t->pcap = rig_pcap_writer_new(path, RIG_PCAP_LINKTYPE_ETHERNET, 0, error);
    if (t->pcap == NULL) {
        return NULL;
    }
    t->realtime_offset_ns =
        clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
    return g_steal_pointer(&t);
}

static int send_all(int fd, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -errno;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

gboolean trafgen_transport_enable_vnet_hdr(TrafgenTransport *transport,
                                           TrafgenVnetMode mode,
                                           uint16_t gso_size, GError **error)
{
    int one = 1;

    if (transport->kind != TRAFGEN_TRANSPORT_PACKET) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "--vnet-hdr needs the packet transport (--iface), not "
                    "%s",
                    transport->description);
        return FALSE;
    }
    if (!transport->vnet &&
        setsockopt(transport->fd, SOL_PACKET, PACKET_VNET_HDR, &one,
                   sizeof(one)) < 0) {
        return set_errno_error(error, errno, "PACKET_VNET_HDR on",
                               transport->description);
    }
    transport->vnet = TRUE;
    transport->vnet_mode = mode;
    transport->gso_size = gso_size;
    if (!transport->scratch) {
        transport->scratch = g_malloc(RIG_NET_FRAME_MAX);
    }
    return TRUE;
}

int trafgen_transport_send_vnet(TrafgenTransport *transport,
                                const RigVirtioNetHdrV1 *hdr,
                                const uint8_t *frame, size_t len)
{
    struct iovec iov[2] = {
        {.iov_base = (void *)hdr, .iov_len = VNET_HDR_LEGACY_LEN},
        {.iov_base = (void *)frame, .iov_len = len},
    };
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t n;

    G_STATIC_ASSERT(offsetof(RigVirtioNetHdrV1, num_buffers) ==
                    VNET_HDR_LEGACY_LEN);
    if (!transport->vnet) {
        return -EINVAL;
    }
    do {
        n = sendmsg(transport->fd, &msg, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -errno;
    }
    return (size_t)n == VNET_HDR_LEGACY_LEN + len ? 0 : -EMSGSIZE;
}

/* A frame of a --vnet-hdr transport: offloaded as its mode says. */
static int send_offloaded(TrafgenTransport *transport, const uint8_t *frame,
                          size_t len)
{
    RigVirtioNetHdrV1 hdr;
    int r;

    if (len > RIG_NET_FRAME_MAX) {
        return -EMSGSIZE;
    }
    memcpy(transport->scratch, frame, len);
    r = trafgen_vnet_prepare(transport->vnet_mode, transport->gso_size,
                             transport->scratch, len, &hdr);
    if (r < 0) {
        /* Not a frame the kernel could offload (a malformed case): plain. */
        memset(&hdr, 0, sizeof(hdr));
        memcpy(transport->scratch, frame, len);
    }
    return trafgen_transport_send_vnet(transport, &hdr, transport->scratch,
                                       len);
}

int trafgen_transport_send(TrafgenTransport *transport, const uint8_t *frame,
                           size_t len, int64_t when_ns)
{
    uint8_t hdr[TRAFGEN_STREAM_HDR_LEN];
    struct iovec iov[2];
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t n;
    int r;

    if (transport->vnet) {
        return send_offloaded(transport, frame, len);
    }
    switch (transport->kind) {
    case TRAFGEN_TRANSPORT_PACKET:
    case TRAFGEN_TRANSPORT_DGRAM:
        do {
            n = send(transport->fd, frame, len, 0);
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            return -errno;
        }
        return (size_t)n == len ? 0 : -EMSGSIZE;
    case TRAFGEN_TRANSPORT_STREAM:
        r = trafgen_stream_put_header(hdr, len);
        if (r < 0) {
            return r;
        }
        /* one sendmsg: a frame never waits for Nagle behind its header */
        iov[0] = (struct iovec){.iov_base = hdr, .iov_len = sizeof(hdr)};
        iov[1] = (struct iovec){.iov_base = (void *)frame, .iov_len = len};
        do {
            n = sendmsg(transport->fd, &msg, MSG_NOSIGNAL);
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            return -errno;
        }
        if ((size_t)n < sizeof(hdr)) {
            r = send_all(transport->fd, hdr + n, sizeof(hdr) - (size_t)n);
            if (r < 0) {
                return r;
            }
            n = sizeof(hdr);
        }
        return send_all(transport->fd, frame + (n - (ssize_t)sizeof(hdr)),
                        len - (size_t)(n - (ssize_t)sizeof(hdr)));
    case TRAFGEN_TRANSPORT_PCAP:
        if (!rig_pcap_writer_write(transport->pcap,
                                   when_ns + transport->realtime_offset_ns,
                                   frame, len, len, NULL)) {
            /* stdio kept the reason (ENOSPC of a full disk, /dev/full) */
            return errno ? -errno : -EIO;
        }
        return 0;
    }
    return -EINVAL;
}

int trafgen_transport_send_batch(TrafgenTransport *transport,
                                 const struct iovec *frames, size_t count)
{
    struct mmsghdr msgs[64];
    size_t n = MIN(count, G_N_ELEMENTS(msgs));
    int sent;

    if (count == 0) {
        return -EINVAL;
    }
    if ((transport->kind != TRAFGEN_TRANSPORT_PACKET &&
         transport->kind != TRAFGEN_TRANSPORT_DGRAM) ||
        transport->vnet) {
        int r = trafgen_transport_send(transport, frames[0].iov_base,
                                       frames[0].iov_len, 0);

        return r < 0 ? r : 1;
    }
    memset(msgs, 0, sizeof(msgs[0]) * n);
    for (size_t i = 0; i < n; i++) {
        msgs[i].msg_hdr.msg_iov = (struct iovec *)&frames[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    do {
        sent = sendmmsg(transport->fd, msgs, (unsigned int)n, 0);
    } while (sent < 0 && errno == EINTR);
    return sent < 0 ? -errno : sent;
}

ssize_t trafgen_transport_recv(TrafgenTransport *transport, uint8_t *buf,
                               size_t size, int64_t timeout_ns)
{
    struct pollfd pfd = {.fd = transport->fd, .events = POLLIN};
    struct timespec ts = {
        .tv_sec = timeout_ns / G_GINT64_CONSTANT(1000000000),
        .tv_nsec = timeout_ns % G_GINT64_CONSTANT(1000000000),
    };

    if (transport->kind != TRAFGEN_TRANSPORT_PACKET) {
        return -EOPNOTSUPP;
    }
    for (;;) {
        struct sockaddr_ll from;
        socklen_t from_len = sizeof(from);
        ssize_t n;
        int r = ppoll(&pfd, 1, timeout_ns < 0 ? NULL : &ts, NULL);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return -errno;
        }
        if (r == 0) {
            return 0;
        }
        n = recvfrom(transport->fd, buf, size, MSG_TRUNC,
                     (struct sockaddr *)&from, &from_len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -errno;
        }
        if (from.sll_pkttype == PACKET_OUTGOING) {
            continue;
        }
        return MIN(n, (ssize_t)size);
    }
}

gboolean trafgen_transport_get_mac(TrafgenTransport *transport,
                                   uint8_t ret_mac[6])
{
    struct ifreq ifr = {0};

    if (transport->kind != TRAFGEN_TRANSPORT_PACKET ||
        !if_indextoname((unsigned int)transport->ifindex, ifr.ifr_name) ||
        ioctl(transport->fd, SIOCGIFHWADDR, &ifr) < 0) {
        return FALSE;
    }
    memcpy(ret_mac, ifr.ifr_hwaddr.sa_data, 6);
    return TRUE;
}

gboolean trafgen_transport_finish(TrafgenTransport *transport, GError **error)
{
    if (transport->kind == TRAFGEN_TRANSPORT_PCAP && transport->pcap) {
        /* the file appears (replaced atomically) only now */
        return rig_pcap_writer_close(g_steal_pointer(&transport->pcap), error);
    }
    return TRUE;
}

TrafgenTransportKind trafgen_transport_kind(const TrafgenTransport *transport)
{
    return transport->kind;
}

const char *trafgen_transport_describe(const TrafgenTransport *transport)
{
    return transport->description;
}

gboolean trafgen_send_frame(const char *ifname, const uint8_t *frame,
                            size_t len, GError **error)
{
    g_autoptr(TrafgenTransport) t =
        trafgen_transport_new_packet(ifname, FALSE, error);
    int r;

    if (t == NULL) {
        return FALSE;
    }
    r = trafgen_transport_send(t, frame, len, 0);
    if (r < 0) {
        return set_errno_error(error, -r, "send on", ifname);
    }
    return TRUE;
}
