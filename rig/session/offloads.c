/*
 * Keeping TX offload off on a session's taps: see offloads.h.
 */
#include "session/offloads.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "session/session.h"
#include "session/state.h"

/* Re-checked this often even without a notification. */
#define KEEP_POLL_MS 1000

static gboolean ethtool_value(int fd, const char *tap, guint32 cmd,
                              guint32 *inout, GError **error)
{
    struct ethtool_value ev = {.cmd = cmd, .data = *inout};
    struct ifreq ifr = {0};

    g_strlcpy(ifr.ifr_name, tap, sizeof(ifr.ifr_name));
    ifr.ifr_data = (char *)&ev;
    if (ioctl(fd, SIOCETHTOOL, &ifr) < 0) {
        int saved = errno;

        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "ethtool on %s: %s", tap, g_strerror(saved));
        return FALSE;
    }
    *inout = ev.data;
    return TRUE;
}

gboolean session_tap_tx_offload_off(const char *tap, gboolean *ret_changed,
                                    GError **error)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    guint32 on = 0;
    guint32 off = 0;
    gboolean ok;

    if (fd < 0) {
        int saved = errno;

        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED, "socket: %s",
                    g_strerror(saved));
        return FALSE;
    }
    ok = ethtool_value(fd, tap, ETHTOOL_GTXCSUM, &on, error) &&
         (on == 0 || ethtool_value(fd, tap, ETHTOOL_STXCSUM, &off, error));
    close(fd);
    if (ok && ret_changed != NULL) {
        *ret_changed = on != 0;
    }
    return ok;
}

static gboolean enter_netns(const char *name, GError **error)
{
    g_autofree char *path = g_build_filename("/run/netns", name, NULL);
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
        int saved = errno;

        if (fd >= 0) {
            close(fd);
        }
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "cannot enter namespace %s: %s", name, g_strerror(saved));
        return FALSE;
    }
    close(fd);
    return TRUE;
}

/* The taps whose TX offload the session keeps off. */
static GPtrArray *taps_to_keep(const SessionState *state, gboolean test_too)
{
    GPtrArray *taps = g_ptr_array_new_with_free_func(g_free);

    for (guint i = 0; i < state->vms->len; i++) {
        SessionVmState *vm = g_ptr_array_index(state->vms, i);

        for (guint j = 0; j < vm->nics->len; j++) {
            SessionNicState *nic = g_ptr_array_index(vm->nics, j);

            if (nic->tap != NULL &&
                (test_too || !g_str_equal(nic->network, "test"))) {
                g_ptr_array_add(taps, g_strdup(nic->tap));
            }
        }
    }
    return taps;
}

int session_keep_offloads_main(const char *state_root, guint id)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SessionState) state = session_state_load(state_root, id, &error);
    g_autoptr(GPtrArray) taps = NULL;
    struct sockaddr_nl addr = {.nl_family = AF_NETLINK,
                               .nl_groups = RTMGRP_LINK};
    int nl;

    if (state == NULL) {
        g_printerr("rig session keep-offloads: %s\n", error->message);
        return 1;
    }
    taps = taps_to_keep(state, !state->test_tap_tx_offload);
    if (state->netns != NULL && !enter_netns(state->netns, &error)) {
        g_printerr("rig session keep-offloads: %s\n", error->message);
        return 1;
    }
    nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (nl < 0 || bind(nl, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        g_printerr("rig session keep-offloads: netlink: %s\n",
                   g_strerror(errno));
        return 1;
    }
    for (;;) {
        struct pollfd pfd = {.fd = nl, .events = POLLIN};
        guint present = 0;
        char buf[8192];

        for (guint i = 0; i < taps->len; i++) {
            const char *tap = g_ptr_array_index(taps, i);
            gboolean changed = FALSE;

            if (if_nametoindex(tap) == 0) {
                continue;
            }
            present++;
            if (session_tap_tx_offload_off(tap, &changed, NULL) && changed) {
                g_print("TX offload of %s was switched on (guest driver): "
                        "off again\n",
                        tap);
            }
        }
        if (present == 0) {
            return 0; /* every QEMU of the session is gone */
        }
        /* Any link notification: a driver may have set offloads. */
        if (poll(&pfd, 1, KEEP_POLL_MS) > 0) {
            while (recv(nl, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
            }
        }
    }
}
