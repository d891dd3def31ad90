/*
 * Session networks: see session-net.h.
 */
#include "harness/session-net.h"

#include <unistd.h>

#include <gio/gio.h>

static gboolean net_run(GError **error, const char *const *argv)
{
    g_autoptr(GSubprocess) proc = NULL;
    g_autofree char *err_text = NULL;

    proc = g_subprocess_newv(argv,
                             G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                 G_SUBPROCESS_FLAGS_STDERR_PIPE,
                             error);
    if (proc == NULL) {
        g_prefix_error(error, "cannot run %s (install iproute2): ", argv[0]);
        return FALSE;
    }
    if (!g_subprocess_communicate_utf8(proc, NULL, NULL, NULL, &err_text,
                                       error)) {
        return FALSE;
    }
    if (!g_subprocess_get_successful(proc)) {
        g_autofree char *cmd = g_strjoinv(" ", (char **)argv);

        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "`%s` failed: %s",
                    cmd, err_text != NULL ? g_strstrip(err_text) : "");
        return FALSE;
    }
    return TRUE;
}

#define NET_RUN(error, ...)                                                    \
    net_run(error, (const char *const[]){__VA_ARGS__, NULL})

RigNetns *session_net_create_netns(const char *name, const char *const *bridges,
                                   GError **error)
{
    g_autoptr(RigNetns) netns = rig_netns_new_persistent(name, error);

    if (netns == NULL) {
        return NULL;
    }
    for (gsize i = 0; bridges != NULL && bridges[i] != NULL; i++) {
        g_autofree char *sysctl =
            g_strdup_printf("net.ipv6.conf.%s.disable_ipv6=1", bridges[i]);

        if (!NET_RUN(error, "ip", "-n", name, "link", "add", bridges[i], "type",
                     "bridge") ||
            !NET_RUN(error, "ip", "netns", "exec", name, "sysctl", "-q", "-w",
                     sysctl) ||
            !NET_RUN(error, "ip", "-n", name, "link", "set", bridges[i],
                     "up")) {
            session_net_delete_netns(name, NULL);
            return NULL;
        }
    }
    return g_steal_pointer(&netns);
}

gboolean session_net_delete_netns(const char *name, GError **error)
{
    return rig_netns_delete(name, error);
}

gboolean session_net_add_tap(RigNetns *netns, const char *tap,
                             const char *bridge, int *ret_fd, GError **error)
{
    int fd = -1;
    gboolean ok;

    if (!rig_netns_add_tap(netns, tap, &fd, error)) {
        return FALSE;
    }
    if (netns != NULL) {
        ok = NET_RUN(error, "ip", "-n", rig_netns_get_name(netns), "link",
                     "set", tap, "master", bridge);
    } else {
        ok = NET_RUN(error, "ip", "link", "set", tap, "master", bridge);
    }
    if (!ok) {
        close(fd);
        return FALSE;
    }
    *ret_fd = fd;
    return TRUE;
}
