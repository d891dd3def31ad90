#include "campaign/tapstats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>

int fuzz_tap_stats_open(GError **error)
{
    int fd = open("/proc/thread-self/net/dev", O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        int e = errno;

        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
                    "opening /proc/thread-self/net/dev: %s", g_strerror(e));
    }
    return fd;
}

gboolean fuzz_tap_stats_parse(const char *text, const char *ifname,
                              FuzzTapStats *ret_stats)
{
    size_t n = strlen(ifname);

    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        const char *p = line;

        while (*p == ' ') {
            p++;
        }
        if (strncmp(p, ifname, n) == 0 && p[n] == ':') {
            guint64 v[16];
            int got = sscanf(p + n + 1,
                             "%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                             " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                             " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                             " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                             " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                             " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT,
                             &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                             &v[7], &v[8], &v[9], &v[10], &v[11]);

            if (got < 12) {
                return FALSE;
            }
            /* rx: bytes packets errs drop fifo frame compressed multicast,
             * then tx: bytes packets errs drop ... */
            ret_stats->tx_packets = v[9];
            ret_stats->tx_dropped = v[11];
            return TRUE;
        }
        line = end ? end + 1 : NULL;
    }
    return FALSE;
}

gboolean fuzz_tap_stats_read(int fd, const char *ifname,
                             FuzzTapStats *ret_stats, GError **error)
{
    char buf[16384];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

    if (n < 0) {
        int e = errno;

        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
                    "reading the namespace's /proc/net/dev: %s", g_strerror(e));
        return FALSE;
    }
    buf[n] = '\0';
    if (!fuzz_tap_stats_parse(buf, ifname, ret_stats)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "no counters for %s in the namespace's /proc/net/dev",
                    ifname);
        return FALSE;
    }
    return TRUE;
}
