#include "guest/qtest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "guest/guest-error.h"
#include "qemu/unix-socket.h"
#include "qemu/vm.h"

struct RigQtest {
    int fd;
    GMutex lock;
    GString *inbuf;
    guint timeout_ms;
    guint64 commands;
    gboolean irq_level[RIG_QTEST_MAX_IRQ];
};

RigQtest *rig_qtest_new_from_fd(int fd)
{
    RigQtest *q = g_new0(RigQtest, 1);

    q->fd = fd;
    g_mutex_init(&q->lock);
    q->inbuf = g_string_sized_new(4096);
    q->timeout_ms = RIG_QTEST_DEFAULT_TIMEOUT_MS;
    return q;
}

void rig_qtest_free(RigQtest *q)
{
    if (!q) {
        return;
    }
    if (q->fd >= 0) {
        close(q->fd);
    }
    g_string_free(q->inbuf, TRUE);
    g_mutex_clear(&q->lock);
    g_free(q);
}

void rig_qtest_set_timeout(RigQtest *q, guint timeout_ms)
{
    q->timeout_ms = timeout_ms;
}

static gboolean fill_sockaddr(const char *path, struct sockaddr_un *sun,
                              GError **error)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun->sun_path)) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "qtest socket path too long (max %zu bytes): %s",
                    sizeof(sun->sun_path) - 1, path);
        return FALSE;
    }
    strcpy(sun->sun_path, path);
    return TRUE;
}

RigQtest *rig_qtest_new_from_vm(RigVm *vm, GError **error)
{
    int fd = rig_vm_get_qtest_fd(vm);

    if (fd < 0 || (fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_DISCONNECTED,
                    "the launcher gave no qtest connection");
        return NULL;
    }
    return rig_qtest_new_from_fd(fd);
}

RigQtest *rig_qtest_connect_unix(const char *path, guint timeout_ms,
                                 GError **error)
{
    gint64 deadline = rig_deadline_in_ms(timeout_ms);
    struct sockaddr_un sun;
    int err;

    if (!fill_sockaddr(path, &sun, error)) {
        return NULL;
    }
    for (;;) {
        int fd = rig_unix_connect(path, FALSE);

        if (fd >= 0) {
            return rig_qtest_new_from_fd(fd);
        }
        err = -fd;
        /* QEMU creates the socket while starting up: retry until then. */
        if ((err != ENOENT && err != ECONNREFUSED) ||
            g_get_monotonic_time() >= deadline) {
            break;
        }
        g_usleep(10000);
    }
    g_set_error(error, RIG_GUEST_ERROR,
                err == ENOENT || err == ECONNREFUSED
                    ? RIG_GUEST_ERROR_TIMEOUT
                    : RIG_GUEST_ERROR_DISCONNECTED,
                "cannot connect to QEMU's qtest socket %s within %u ms: %s "
                "(is QEMU running with -qtest unix:%s,server=on,wait=off?)",
                path, timeout_ms, g_strerror(err), path);
    return NULL;
}

int rig_qtest_listen_unix(const char *path, GError **error)
{
    struct sockaddr_un sun;
    int fd;

    if (!fill_sockaddr(path, &sun, error)) {
        return -1;
    }
    fd = rig_unix_listen(path);
    if (fd < 0) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "cannot listen on qtest socket %s: %s", path,
                    g_strerror(-fd));
        return -1;
    }
    return fd;
}

RigQtest *rig_qtest_accept(int listen_fd, guint timeout_ms, GError **error)
{
    struct pollfd pfd = {.fd = listen_fd, .events = POLLIN};
    int r;
    int fd;

    do {
        r = poll(&pfd, 1, (int)timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_TIMEOUT,
                    "QEMU did not connect to the qtest socket within %u ms "
                    "(did it start with -qtest unix:PATH?)",
                    timeout_ms);
        return NULL;
    }
    fd = r < 0 ? -1 : accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_DISCONNECTED,
                    "accepting QEMU's qtest connection: %s", g_strerror(errno));
        return NULL;
    }
    return rig_qtest_new_from_fd(fd);
}

static gboolean send_all(RigQtest *q, const char *data, size_t len,
                         gint64 deadline, const char *cmd, GError **error)
{
    while (len > 0) {
        struct pollfd pfd = {.fd = q->fd, .events = POLLOUT};
        ssize_t n;
        int r = poll(&pfd, 1, rig_remaining_ms(deadline));

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r == 0) {
            g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_TIMEOUT,
                        "qtest '%.60s': QEMU accepts no input for %u ms", cmd,
                        q->timeout_ms);
            return FALSE;
        }
        n = send(q->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (n < 0) {
            g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_DISCONNECTED,
                        "qtest '%.60s': sending to QEMU: %s (did QEMU exit?)",
                        cmd, g_strerror(errno));
            return FALSE;
        }
        data += n;
        len -= (size_t)n;
    }
    return TRUE;
}

static gboolean recv_line(RigQtest *q, gint64 deadline, const char *cmd,
                          char **ret_line, GError **error)
{
    while (!rig_qtest_linebuf_pop(q->inbuf, ret_line)) {
        struct pollfd pfd = {.fd = q->fd, .events = POLLIN};
        char chunk[65536];
        ssize_t n;
        int r = poll(&pfd, 1, rig_remaining_ms(deadline));

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r == 0) {
            g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_TIMEOUT,
                        "qtest '%.60s': no reply from QEMU within %u ms", cmd,
                        q->timeout_ms);
            return FALSE;
        }
        n = recv(q->fd, chunk, sizeof(chunk), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (n <= 0) {
            g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_DISCONNECTED,
                        "qtest '%.60s': connection to QEMU %s", cmd,
                        n == 0 ? "closed (QEMU exited?)" : g_strerror(errno));
            return FALSE;
        }
        g_string_append_len(q->inbuf, chunk, n);
    }
    return TRUE;
}

static gboolean command_locked(RigQtest *q, const char *cmd, char **ret_payload,
                               GError **error)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)q->timeout_ms * 1000;
    g_autofree char *wire = g_strconcat(cmd, "\n", NULL);

    if (q->fd < 0) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_DISCONNECTED,
                    "qtest '%.60s': connection already broken", cmd);
        return FALSE;
    }
    if (!send_all(q, wire, strlen(wire), deadline, cmd, error)) {
        goto broken;
    }
    for (;;) {
        g_autofree char *line = NULL;
        RigQtestLine parsed;

        if (!recv_line(q, deadline, cmd, &line, error)) {
            goto broken;
        }
        if (rig_qtest_parse_line(line, &parsed) < 0) {
            g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_PROTOCOL,
                        "qtest '%.60s': unexpected line from QEMU: '%.80s'",
                        cmd, line);
            goto broken;
        }
        switch (parsed.kind) {
        case RIG_QTEST_LINE_IRQ:
            q->irq_level[parsed.irq] = parsed.irq_raised;
            continue;
        case RIG_QTEST_LINE_FAIL:
            g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_COMMAND_FAILED,
                        "qtest '%.60s' failed: %s", cmd, line);
            q->commands++;
            return FALSE;
        case RIG_QTEST_LINE_OK:
            if (ret_payload) {
                *ret_payload = g_strdup(parsed.payload);
            }
            q->commands++;
            return TRUE;
        }
    }

broken:
    /*
     * After a timeout the reply may still come: the stream can no longer
     * be matched to commands, so refuse further use.
     */
    close(q->fd);
    q->fd = -1;
    return FALSE;
}

gboolean rig_qtest_command(RigQtest *q, char **ret_payload, GError **error,
                           const char *fmt, ...)
{
    g_autofree char *cmd = NULL;
    gboolean ok;
    va_list ap;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    g_mutex_lock(&q->lock);
    ok = command_locked(q, cmd, ret_payload, error);
    g_mutex_unlock(&q->lock);
    return ok;
}

static gboolean command_u64(RigQtest *q, uint64_t *ret_value, GError **error,
                            const char *cmd)
{
    g_autofree char *payload = NULL;
    uint64_t value;

    if (!rig_qtest_command(q, &payload, error, "%s", cmd)) {
        return FALSE;
    }
    if (rig_qtest_parse_u64(payload, &value) < 0) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_PROTOCOL,
                    "qtest '%s': reply 'OK %.40s' is not a number", cmd,
                    payload);
        return FALSE;
    }
    *ret_value = value;
    return TRUE;
}

static char width_suffix(int width)
{
    switch (width) {
    case 1:
        return 'b';
    case 2:
        return 'w';
    case 4:
        return 'l';
    case 8:
        return 'q';
    default:
        g_return_val_if_reached('?');
    }
}

gboolean rig_qtest_out(RigQtest *q, int width, uint16_t port, uint32_t value,
                       GError **error)
{
    g_return_val_if_fail(width == 1 || width == 2 || width == 4, FALSE);
    return rig_qtest_command(q, NULL, error, "out%c 0x%x 0x%x",
                             width_suffix(width), port, value);
}

gboolean rig_qtest_in(RigQtest *q, int width, uint16_t port,
                      uint32_t *ret_value, GError **error)
{
    g_autofree char *cmd = NULL;
    uint64_t value;

    g_return_val_if_fail(width == 1 || width == 2 || width == 4, FALSE);
    cmd = g_strdup_printf("in%c 0x%x", width_suffix(width), port);
    if (!command_u64(q, &value, error, cmd)) {
        return FALSE;
    }
    *ret_value = (uint32_t)value;
    return TRUE;
}

gboolean rig_qtest_write(RigQtest *q, int width, uint64_t addr, uint64_t value,
                         GError **error)
{
    g_return_val_if_fail(width == 1 || width == 2 || width == 4 || width == 8,
                         FALSE);
    return rig_qtest_command(
        q, NULL, error,
        "write%c 0x%" G_GINT64_MODIFIER "x 0x%" G_GINT64_MODIFIER "x",
        width_suffix(width), (guint64)addr, (guint64)value);
}

gboolean rig_qtest_read(RigQtest *q, int width, uint64_t addr,
                        uint64_t *ret_value, GError **error)
{
    g_autofree char *cmd = NULL;

    g_return_val_if_fail(width == 1 || width == 2 || width == 4 || width == 8,
                         FALSE);
    cmd = g_strdup_printf("read%c 0x%" G_GINT64_MODIFIER "x",
                          width_suffix(width), (guint64)addr);
    return command_u64(q, ret_value, error, cmd);
}

gboolean rig_qtest_memread(RigQtest *q, uint64_t addr, void *buf, size_t len,
                           GError **error)
{
    g_autofree char *payload = NULL;
    g_autofree guchar *data = NULL;
    gsize n = 0;

    g_return_val_if_fail(len > 0, FALSE);
    if (!rig_qtest_command(q, &payload, error,
                           "b64read 0x%" G_GINT64_MODIFIER "x 0x%zx",
                           (guint64)addr, len)) {
        return FALSE;
    }
    data = g_base64_decode(payload, &n);
    if (n != len) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_PROTOCOL,
                    "qtest 'b64read 0x%" G_GINT64_MODIFIER
                    "x %zu': got %zu bytes",
                    (guint64)addr, len, (size_t)n);
        return FALSE;
    }
    memcpy(buf, data, len);
    return TRUE;
}

gboolean rig_qtest_memwrite(RigQtest *q, uint64_t addr, const void *buf,
                            size_t len, GError **error)
{
    g_autofree char *b64 = NULL;

    g_return_val_if_fail(len > 0, FALSE);
    b64 = g_base64_encode(buf, len);
    return rig_qtest_command(q, NULL, error,
                             "b64write 0x%" G_GINT64_MODIFIER "x 0x%zx %s",
                             (guint64)addr, len, b64);
}

gboolean rig_qtest_clock_step(RigQtest *q, gint64 ns, gint64 *ret_now_ns,
                              GError **error)
{
    g_autofree char *payload = NULL;
    gint64 now;
    char *end = NULL;
    gboolean ok;

    if (ns > 0) {
        ok = rig_qtest_command(q, &payload, error,
                               "clock_step %" G_GINT64_FORMAT, ns);
    } else {
        ok = rig_qtest_command(q, &payload, error, "clock_step");
    }
    if (!ok) {
        return FALSE;
    }
    now = g_ascii_strtoll(payload, &end, 10);
    if (end == payload || *end != '\0') {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_PROTOCOL,
                    "qtest 'clock_step': reply 'OK %.40s' is not a time",
                    payload);
        return FALSE;
    }
    if (ret_now_ns) {
        *ret_now_ns = now;
    }
    return TRUE;
}

gboolean rig_qtest_irq_intercept_in(RigQtest *q, const char *qom_path,
                                    GError **error)
{
    return rig_qtest_command(q, NULL, error, "irq_intercept_in %s", qom_path);
}

gboolean rig_qtest_irq_level(RigQtest *q, int irq)
{
    gboolean level;

    g_return_val_if_fail(irq >= 0 && irq < RIG_QTEST_MAX_IRQ, FALSE);
    g_mutex_lock(&q->lock);
    level = q->irq_level[irq];
    g_mutex_unlock(&q->lock);
    return level;
}

gboolean rig_qtest_check_alive(RigQtest *q, GError **error)
{
    struct pollfd pfd = {.events = POLLRDHUP};
    int fd;

    g_mutex_lock(&q->lock);
    fd = q->fd;
    g_mutex_unlock(&q->lock);
    pfd.fd = fd;
    if (fd < 0 || (poll(&pfd, 1, 0) > 0 &&
                   (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_DISCONNECTED,
                    "qtest: connection to QEMU closed (QEMU exited?)");
        return FALSE;
    }
    return TRUE;
}

guint64 rig_qtest_command_count(RigQtest *q)
{
    guint64 n;

    g_mutex_lock(&q->lock);
    n = q->commands;
    g_mutex_unlock(&q->lock);
    return n;
}
