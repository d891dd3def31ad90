/*
 * Session networks: see net.h.
 */
#include "session/net.h"

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

        g_autofree char *qlen = g_strdup_printf("%d", SESSION_TAP_TXQUEUELEN);

        if (!NET_RUN(error, "ip", "-n", name, "link", "add", bridges[i], "type",
                     "bridge") ||
            !NET_RUN(error, "ip", "-n", name, "link", "set", bridges[i],
                     "txqueuelen", qlen) ||
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
                             const char *bridge, guint queues, gboolean tx_off,
                             GArray **ret_fds, GError **error)
{
    g_autoptr(GArray) fds = NULL;
    g_autofree char *qlen = g_strdup_printf("%d", SESSION_TAP_TXQUEUELEN);
    const char *ns = netns != NULL ? rig_netns_get_name(netns) : NULL;
    gboolean ok;

    if (!rig_netns_add_tap_queues(netns, tap, queues, &fds, error)) {
        return FALSE;
    }
    if (ns != NULL) {
        ok = NET_RUN(error, "ip", "-n", ns, "link", "set", tap, "master",
                     bridge, "txqueuelen", qlen) &&
             (!tx_off || NET_RUN(error, "ip", "netns", "exec", ns, "ethtool",
                                 "-K", tap, "tx", "off"));
    } else {
        ok = NET_RUN(error, "ip", "link", "set", tap, "master", bridge,
                     "txqueuelen", qlen) &&
             (!tx_off || NET_RUN(error, "ethtool", "-K", tap, "tx", "off"));
    }
    if (!ok) {
        for (guint i = 0; i < fds->len; i++) {
            close(g_array_index(fds, int, i));
        }
        return FALSE;
    }
    *ret_fds = g_steal_pointer(&fds);
    return TRUE;
}

gboolean session_net_add_host_bridge(const char *bridge, GError **error)
{
    g_autofree char *qlen = g_strdup_printf("%d", SESSION_TAP_TXQUEUELEN);

    return NET_RUN(error, "ip", "link", "add", bridge, "type", "bridge") &&
           NET_RUN(error, "ip", "link", "set", bridge, "txqueuelen", qlen,
                   "up");
}

gboolean session_net_delete_link(const char *name, GError **error)
{
    g_autofree char *sys = g_build_filename("/sys/class/net", name, NULL);

    if (!g_file_test(sys, G_FILE_TEST_EXISTS)) {
        return TRUE;
    }
    return NET_RUN(error, "ip", "link", "del", name);
}
