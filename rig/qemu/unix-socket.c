/*
 * Deadlines and unix sockets: see unix-socket.h.
 */
#include "qemu/unix-socket.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

gint64 rig_deadline_in_ms(guint timeout_ms)
{
    return g_get_monotonic_time() +
           (gint64)timeout_ms * G_TIME_SPAN_MILLISECOND;
}

int rig_remaining_ms(gint64 deadline)
{
    gint64 left = deadline - g_get_monotonic_time();

    if (left <= 0) {
        return 0;
    }
    return (int)MIN((left + 999) / 1000, G_MAXINT);
}

static int unix_socket(const char *path, int flags,
                       struct sockaddr_un *ret_addr)
{
    int fd;

    if (strlen(path) >= sizeof(ret_addr->sun_path)) {
        return -ENAMETOOLONG;
    }
    memset(ret_addr, 0, sizeof(*ret_addr));
    ret_addr->sun_family = AF_UNIX;
    g_strlcpy(ret_addr->sun_path, path, sizeof(ret_addr->sun_path));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    return fd < 0 ? -errno : fd;
}

int rig_unix_listen(const char *path)
{
    struct sockaddr_un addr;
    int fd = unix_socket(path, 0, &addr);

    if (fd < 0) {
        return fd;
    }
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        listen(fd, 1) < 0) {
        int saved = errno;

        close(fd);
        return -saved;
    }
    return fd;
}

int rig_unix_connect(const char *path, gboolean nonblock)
{
    struct sockaddr_un addr;
    int fd = unix_socket(path, nonblock ? SOCK_NONBLOCK : 0, &addr);

    if (fd < 0) {
        return fd;
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int saved = errno;

        close(fd);
        return -saved;
    }
    return fd;
}
