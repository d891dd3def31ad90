/*
 * Network namespaces through iproute2 (so that they are registered under
 * /run/netns like any `ip netns add`), taps created from a thread that
 * joined the namespace.
 */
#include "qemu/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define NETNS_RUN_DIR      "/run/netns"
#define NETNS_MAX_ATTEMPTS 64

struct RigNetns {
    char *name;
    int fd;
    gboolean persistent; /* rig_netns_free() leaves the namespace alone */
};

/* clang-format off */
G_DEFINE_QUARK(rig-netns-error-quark, rig_netns_error)
/* clang-format on */

/* Runs `ip ARGS...`; on failure the error quotes ip's stderr. */
static gboolean run_ip(const char *const *args, char **ret_stdout,
                       GError **error)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) local_error = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    g_ptr_array_add(argv, (gpointer) "ip");
    for (gsize i = 0; args[i] != NULL; i++) {
        g_ptr_array_add(argv, (gpointer)args[i]);
    }
    g_ptr_array_add(argv, NULL);

    g_autoptr(GSubprocess) process = g_subprocess_newv(
        (const char *const *)argv->pdata,
        G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
        &local_error);
    if (process == NULL) {
        g_set_error(error, RIG_NETNS_ERROR, RIG_NETNS_ERROR_TOOL,
                    "cannot run ip (install iproute2): %s",
                    local_error->message);
        return FALSE;
    }
    if (!g_subprocess_communicate_utf8(process, NULL, NULL, &out, &err,
                                       error)) {
        return FALSE;
    }
    if (!g_subprocess_get_if_exited(process) ||
        g_subprocess_get_exit_status(process) != 0) {
        g_autofree char *command = g_strjoinv(" ", (char **)argv->pdata);
        g_set_error(error, RIG_NETNS_ERROR, RIG_NETNS_ERROR_TOOL,
                    "`%s` failed: %s", command,
                    err != NULL ? g_strstrip(err) : "");
        return FALSE;
    }
    if (ret_stdout != NULL) {
        *ret_stdout = g_steal_pointer(&out);
    }
    return TRUE;
}

typedef struct {
    int netns_fd;
    RigNetnsFunc func;
    gpointer user_data;
    GError *error;
} RunJob;

static gpointer run_thread(gpointer data)
{
    RunJob *job = data;

    if (setns(job->netns_fd, CLONE_NEWNET) < 0) {
        int saved = errno;
        g_set_error(&job->error, RIG_NETNS_ERROR,
                    saved == EPERM ? RIG_NETNS_ERROR_PERMISSION
                                   : RIG_NETNS_ERROR_FAILED,
                    "cannot join the network namespace: %s", g_strerror(saved));
        return GINT_TO_POINTER(FALSE);
    }
    return GINT_TO_POINTER(job->func(job->user_data, &job->error));
}

gboolean rig_netns_run(RigNetns *netns, RigNetnsFunc func, gpointer user_data,
                       GError **error)
{
    RunJob job = {.netns_fd = netns->fd, .func = func, .user_data = user_data};

    GThread *thread = g_thread_try_new("rig-netns", run_thread, &job, error);
    if (thread == NULL) {
        return FALSE;
    }
    gboolean ok = GPOINTER_TO_INT(g_thread_join(thread));
    if (!ok) {
        if (job.error != NULL) {
            g_propagate_error(error, job.error);
        } else {
            g_set_error(error, RIG_NETNS_ERROR, RIG_NETNS_ERROR_FAILED,
                        "work inside namespace %s failed", netns->name);
        }
        return FALSE;
    }
    g_clear_error(&job.error);
    return TRUE;
}

gboolean rig_netns_enter(RigNetns *netns, GError **error)
{
    if (setns(netns->fd, CLONE_NEWNET) < 0) {
        int saved = errno;
        g_set_error(error, RIG_NETNS_ERROR,
                    saved == EPERM ? RIG_NETNS_ERROR_PERMISSION
                                   : RIG_NETNS_ERROR_FAILED,
                    "cannot join network namespace %s: %s", netns->name,
                    g_strerror(saved));
        return FALSE;
    }
    return TRUE;
}

void rig_netns_child_setup(gpointer user_data)
{
    RigNetns *netns = user_data;

    if (setns(netns->fd, CLONE_NEWNET) < 0) {
        _exit(127);
    }
}

const char *rig_netns_get_name(RigNetns *netns)
{
    return netns->name;
}

int rig_netns_get_fd(RigNetns *netns)
{
    return netns->fd;
}

/* Sets IFF_UP on @ifname in the calling thread's namespace. */
static gboolean set_link_up(const char *ifname, GError **error)
{
    struct ifreq ifr = {0};
    int saved = 0;
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (sock < 0) {
        saved = errno;
        g_set_error(error, RIG_NETNS_ERROR, RIG_NETNS_ERROR_FAILED,
                    "socket: %s", g_strerror(saved));
        return FALSE;
    }
    g_strlcpy(ifr.ifr_name, ifname, sizeof(ifr.ifr_name));
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) {
        saved = errno;
    } else {
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) {
            saved = errno;
        }
    }
    close(sock);
    if (saved != 0) {
        g_set_error(error, RIG_NETNS_ERROR,
                    saved == EPERM ? RIG_NETNS_ERROR_PERMISSION
                                   : RIG_NETNS_ERROR_FAILED,
                    "cannot bring %s up: %s", ifname, g_strerror(saved));
        return FALSE;
    }
    return TRUE;
}

static gboolean bring_loopback_up(gpointer user_data, GError **error)
{
    return set_link_up("lo", error);
}

/* Whether @name is ours ("rig-<pid>-<n>") and its pid is gone. */
static gboolean is_stale(const char *name)
{
    unsigned int pid = 0;
    unsigned int n = 0;
    int consumed = 0;

    if (sscanf(name, "rig-%u-%u%n", &pid, &n, &consumed) != 2 ||
        name[consumed] != '\0' || pid == 0 || pid > G_MAXINT) {
        return FALSE;
    }
    return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

guint rig_netns_reap_stale(void)
{
    g_autoptr(GDir) dir = g_dir_open(NETNS_RUN_DIR, 0, NULL);
    const char *name;
    guint reaped = 0;

    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        g_autofree char *out = NULL;
        g_autoptr(GError) error = NULL;

        if (!is_stale(name)) {
            continue;
        }
        const char *const pids[] = {"netns", "pids", name, NULL};
        if (!run_ip(pids, &out, &error) || g_strstrip(out)[0] != '\0') {
            continue;
        }
        const char *const del[] = {"netns", "del", name, NULL};
        if (run_ip(del, NULL, &error)) {
            g_info("deleted stale network namespace %s", name);
            reaped++;
        } else {
            g_warning("%s", error->message);
        }
    }
    return reaped;
}

RigNetns *rig_netns_new(GError **error)
{
    static gint counter;
    g_autoptr(RigNetns) netns = g_new0(RigNetns, 1);

    netns->fd = -1;
    if (geteuid() != 0) {
        g_set_error(error, RIG_NETNS_ERROR, RIG_NETNS_ERROR_PERMISSION,
                    "network namespaces and taps need root (CAP_SYS_ADMIN, "
                    "CAP_NET_ADMIN): run the rig as root");
        return NULL;
    }
    rig_netns_reap_stale();
    /* A stale namespace of a recycled pid makes `ip netns add` fail. */
    for (int attempt = 0;; attempt++) {
        g_autofree char *name = g_strdup_printf("rig-%d-%d", (int)getpid(),
                                                g_atomic_int_add(&counter, 1));
        g_autofree char *path = g_build_filename(NETNS_RUN_DIR, name, NULL);
        if (g_file_test(path, G_FILE_TEST_EXISTS) &&
            attempt < NETNS_MAX_ATTEMPTS) {
            continue;
        }
        const char *const args[] = {"netns", "add", name, NULL};
        if (!run_ip(args, NULL, error)) {
            return NULL;
        }
        netns->name = g_steal_pointer(&name);
        netns->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (netns->fd < 0) {
            int saved = errno;
            g_set_error(error, RIG_NETNS_ERROR, RIG_NETNS_ERROR_FAILED,
                        "cannot open %s: %s", path, g_strerror(saved));
            return NULL;
        }
        break;
    }
    if (!rig_netns_run(netns, bring_loopback_up, NULL, error)) {
        return NULL;
    }
    return g_steal_pointer(&netns);
}

RigNetns *rig_netns_new_persistent(const char *name, GError **error)
{
    g_autoptr(RigNetns) netns = g_new0(RigNetns, 1);
    g_autofree char *path = g_build_filename(NETNS_RUN_DIR, name, NULL);
    const char *const args[] = {"netns", "add", name, NULL};

    netns->fd = -1;
    if (geteuid() != 0) {
        g_set_error(error, RIG_NETNS_ERROR, RIG_NETNS_ERROR_PERMISSION,
                    "network namespaces and taps need root (CAP_SYS_ADMIN, "
                    "CAP_NET_ADMIN): run the rig as root");
        return NULL;
    }
    if (!run_ip(args, NULL, error)) {
        return NULL;
    }
    /* Until it is complete, freeing it deletes it. */
    netns->name = g_strdup(name);
    netns->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (netns->fd < 0) {
        int saved = errno;
        g_set_error(error, RIG_NETNS_ERROR, RIG_NETNS_ERROR_FAILED,
                    "cannot open %s: %s", path, g_strerror(saved));
        return NULL;
    }
    if (!rig_netns_run(netns, bring_loopback_up, NULL, error)) {
        return NULL;
    }
    netns->persistent = TRUE;
    return g_steal_pointer(&netns);
}

/* SIGKILLs what still runs inside, so that the namespace really dies. */
static void kill_remaining(RigNetns *netns)
{
    const char *const args[] = {"netns", "pids", netns->name, NULL};
    g_autofree char *out = NULL;
    g_autoptr(GError) error = NULL;

    if (!run_ip(args, &out, &error)) {
        g_warning("%s", error->message);
        return;
    }
    g_auto(GStrv) pids = g_strsplit(out, "\n", -1);
    for (gsize i = 0; pids[i] != NULL; i++) {
        gint64 pid = 0;
        if (!g_ascii_string_to_signed(g_strstrip(pids[i]), 10, 2, G_MAXINT,
                                      &pid, NULL) ||
            pid == (gint64)getpid()) {
            continue;
        }
        g_info("killing process %" G_GINT64_FORMAT " left in %s", pid,
               netns->name);
        kill((pid_t)pid, SIGKILL);
    }
}

gboolean rig_netns_delete(const char *name, GError **error)
{
    RigNetns netns = {.name = (char *)name, .fd = -1};
    g_autofree char *path = g_build_filename(NETNS_RUN_DIR, name, NULL);
    const char *const args[] = {"netns", "del", name, NULL};

    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        return TRUE;
    }
    kill_remaining(&netns);
    return run_ip(args, NULL, error);
}

void rig_netns_free(RigNetns *netns)
{
    if (netns == NULL) {
        return;
    }
    if (netns->name != NULL && !netns->persistent) {
        kill_remaining(netns);
    }
    if (netns->fd >= 0) {
        close(netns->fd);
    }
    if (netns->name != NULL && !netns->persistent) {
        const char *const args[] = {"netns", "del", netns->name, NULL};
        g_autoptr(GError) error = NULL;
        if (!run_ip(args, NULL, &error)) {
            g_warning("%s", error->message);
        }
    }
    g_free(netns->name);
    g_free(netns);
}

typedef struct {
    const char *name;
    guint queues;
    GArray *fds; /* int, one per queue */
} TapJob;

/* Best effort: without IPv6 in the kernel there is nothing to silence. */
static gboolean disable_ipv6(const char *ifname, GError **error)
{
    g_autofree char *path =
        g_strdup_printf("/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
    int fd = open(path, O_WRONLY | O_CLOEXEC);

    if (fd < 0 && errno == ENOENT) {
        return TRUE;
    }
    if (fd < 0 || write(fd, "1\n", 2) != 2) {
        int saved = errno;
        if (fd >= 0) {
            close(fd);
        }
        g_set_error(error, RIG_NETNS_ERROR, RIG_NETNS_ERROR_FAILED,
                    "cannot write %s: %s", path, g_strerror(saved));
        return FALSE;
    }
    close(fd);
    return TRUE;
}

static int open_tap_queue(const char *name, gboolean multi_queue,
                          GError **error)
{
    struct ifreq ifr = {0};
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        int saved = errno;
        g_set_error(error, RIG_NETNS_ERROR,
                    saved == ENOENT || saved == ENODEV
                        ? RIG_NETNS_ERROR_NO_TUN
                        : (saved == EACCES || saved == EPERM
                               ? RIG_NETNS_ERROR_PERMISSION
                               : RIG_NETNS_ERROR_FAILED),
                    "cannot open /dev/net/tun: %s (the tun module must be "
                    "loaded, `modprobe tun`, and the rig must run as root)",
                    g_strerror(saved));
        return -1;
    }
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (multi_queue) {
        ifr.ifr_flags |= IFF_MULTI_QUEUE;
    }
    g_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int saved = errno;
        close(fd);
        g_set_error(error, RIG_NETNS_ERROR,
                    saved == EPERM ? RIG_NETNS_ERROR_PERMISSION
                                   : RIG_NETNS_ERROR_FAILED,
                    "tap %s refused (TUNSETIFF): %s%s", name, g_strerror(saved),
                    saved == EPERM ? " (needs CAP_NET_ADMIN: run as root)"
                                   : "");
        return -1;
    }
    return fd;
}

static void close_fds(GArray *fds)
{
    for (guint i = 0; i < fds->len; i++) {
        close(g_array_index(fds, int, i));
    }
    g_array_set_size(fds, 0);
}

static gboolean create_tap(gpointer user_data, GError **error)
{
    TapJob *job = user_data;

    /* A multi-queue tap: one fd per queue, all on the same name. */
    for (guint q = 0; q < job->queues; q++) {
        int fd = open_tap_queue(job->name, job->queues > 1, error);

        if (fd < 0) {
            close_fds(job->fds);
            return FALSE;
        }
        g_array_append_val(job->fds, fd);
    }
    /* IPv6 off before the link goes up: no router solicitation, no MLD. */
    if (!disable_ipv6(job->name, error) || !set_link_up(job->name, error)) {
        close_fds(job->fds);
        return FALSE;
    }
    return TRUE;
}

gboolean rig_netns_add_tap_queues(RigNetns *netns, const char *name,
                                  guint queues, GArray **ret_fds,
                                  GError **error)
{
    g_autoptr(GArray) fds = g_array_new(FALSE, FALSE, sizeof(int));
    TapJob job = {.name = name, .queues = MAX(queues, 1), .fds = fds};

    if (strlen(name) >= IFNAMSIZ) {
        g_set_error(error, RIG_NETNS_ERROR, RIG_NETNS_ERROR_FAILED,
                    "interface name %s is longer than %d bytes", name,
                    IFNAMSIZ - 1);
        return FALSE;
    }
    if (netns == NULL ? !create_tap(&job, error)
                      : !rig_netns_run(netns, create_tap, &job, error)) {
        return FALSE;
    }
    *ret_fds = g_steal_pointer(&fds);
    return TRUE;
}

gboolean rig_netns_add_tap(RigNetns *netns, const char *name, int *ret_fd,
                           GError **error)
{
    g_autoptr(GArray) fds = NULL;

    if (!rig_netns_add_tap_queues(netns, name, 1, &fds, error)) {
        return FALSE;
    }
    *ret_fd = g_array_index(fds, int, 0);
    return TRUE;
}
