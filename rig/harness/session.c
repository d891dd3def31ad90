/*
 * `rig session up` and `down`: see session.h.  The commands that only read
 * a running session are in session-query.c, the command line in
 * session-cli.c.
 */
#include "harness/session-private.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "harness/session-kvm.h"
#include "harness/session-net.h"
#include "harness/session-profile.h"
#include "rig-config.h"

#define SESSION_START_TIMEOUT_MS 30000
#define SESSION_QUIT_TIMEOUT_MS  5000
#define SESSION_TERM_TIMEOUT_MS  3000
#define SESSION_BRIDGE_CONTROL   "ctl"
#define SESSION_BRIDGE_TEST      "tst"
/* Device ids: the QOM paths /machine/peripheral/<id>. */
#define SESSION_NIC_CONTROL "ctl"
#define SESSION_NIC_TEST    "tst"
#define SESSION_NIC_WORLD   "world"
/* First VNC display tried; QEMU takes the first free one up to 99. */
#define SESSION_VNC_FIRST 10

static const char *const FIRMWARE_DIRS[] = {
    "/usr/share/seabios", "/usr/lib/ipxe/qemu", "/usr/share/qemu", NULL};
static const char OVMF_CODE[] = "/usr/share/OVMF/OVMF_CODE_4M.fd";
static const char OVMF_VARS[] = "/usr/share/OVMF/OVMF_VARS_4M.fd";

static volatile sig_atomic_t session_signalled;

GQuark session_error_quark(void)
{
    return g_quark_from_static_string("rig-session-error-quark");
}

const char *session_state_root(void)
{
    const char *env = g_getenv("RIG_SESSION_DIR");

    return env != NULL && env[0] != '\0' ? env : SESSION_DEFAULT_STATE_ROOT;
}

char *session_dir(const char *state_root, guint id)
{
    g_autofree char *name = g_strdup_printf("%u", id);

    return g_build_filename(
        state_root != NULL ? state_root : session_state_root(), name, NULL);
}

GArray *session_list_ids(const char *state_root)
{
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(guint));
    g_autoptr(GDir) dir = g_dir_open(
        state_root != NULL ? state_root : session_state_root(), 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        guint64 id;

        if (g_ascii_string_to_unsigned(name, 10, 1, SESSION_MAX_ID, &id,
                                       NULL)) {
            guint v = (guint)id;

            g_array_append_val(ids, v);
        }
    }
    g_array_sort(ids, (GCompareFunc)session_compare_uint);
    return ids;
}

gint session_compare_uint(gconstpointer a, gconstpointer b)
{
    guint x = *(const guint *)a;
    guint y = *(const guint *)b;

    return x < y ? -1 : x > y;
}

gboolean session_resolve_id(const char *state_root, guint id, guint *ret_id,
                            GError **error)
{
    g_autoptr(GArray) ids = session_list_ids(state_root);

    if (id != 0) {
        for (guint i = 0; i < ids->len; i++) {
            if (g_array_index(ids, guint, i) == id) {
                *ret_id = id;
                return TRUE;
            }
        }
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_NOT_FOUND,
                    "no session %u in %s", id,
                    state_root != NULL ? state_root : session_state_root());
        return FALSE;
    }
    if (ids->len == 1) {
        *ret_id = g_array_index(ids, guint, 0);
        return TRUE;
    }
    if (ids->len == 0) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_NOT_FOUND,
                    "no session in %s: start one with `rig session up "
                    "PROFILE`",
                    state_root != NULL ? state_root : session_state_root());
    } else {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_USAGE,
                    "%u sessions exist: choose one with --id", ids->len);
    }
    return FALSE;
}

/* ---- state file ---------------------------------------------------- */

void session_state_free(SessionState *state)
{
    if (state == NULL) {
        return;
    }
    g_free(state->dir);
    if (state->root != NULL) {
        json_node_unref(state->root);
    }
    g_free(state);
}

JsonObject *session_state_object(SessionState *state)
{
    return json_node_get_object(state->root);
}

JsonArray *session_state_vms(SessionState *state)
{
    return json_object_get_array_member(session_state_object(state), "vms");
}

gboolean session_state_save(SessionState *state, GError **error)
{
    g_autofree char *path = g_build_filename(state->dir, "state.json", NULL);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *text = NULL;

    json_generator_set_root(gen, state->root);
    json_generator_set_pretty(gen, TRUE);
    text = json_generator_to_data(gen, NULL);
    return g_file_set_contents(path, text, -1, error);
}

SessionState *session_state_load(const char *state_root, guint id,
                                 GError **error)
{
    g_autoptr(SessionState) state = g_new0(SessionState, 1);
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autofree char *path = NULL;
    JsonNode *root;

    state->dir = session_dir(state_root, id);
    state->id = id;
    path = g_build_filename(state->dir, "state.json", NULL);
    if (!json_parser_load_from_file(parser, path, error)) {
        g_prefix_error(error, "session %u: ", id);
        return NULL;
    }
    root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root) ||
        !json_object_has_member(json_node_get_object(root), "vms")) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "%s is not a session state file", path);
        return NULL;
    }
    state->root = json_node_ref(root);
    return g_steal_pointer(&state);
}

JsonObject *session_state_find_vm(SessionState *state, const char *name)
{
    JsonArray *vms = session_state_vms(state);

    for (guint i = 0; i < json_array_get_length(vms); i++) {
        JsonObject *vm = json_array_get_object_element(vms, i);

        if (g_str_equal(json_object_get_string_member(vm, "name"), name)) {
            return vm;
        }
    }
    return NULL;
}

/* ---- processes ----------------------------------------------------- */

/*
 * A daemonized QEMU is re-parented away from us: liveness comes from /proc,
 * where a zombie counts as dead and a recycled pid is told apart by the
 * session directory on its command line.
 */
gboolean session_pid_alive(gint64 pid, const char *marker)
{
    g_autofree char *stat_path = NULL;
    g_autofree char *cmd_path = NULL;
    g_autofree char *stat = NULL;
    g_autofree char *cmdline = NULL;
    gsize len = 0;
    const char *paren;

    if (pid <= 0) {
        return FALSE;
    }
    stat_path = g_strdup_printf("/proc/%" G_GINT64_FORMAT "/stat", pid);
    cmd_path = g_strdup_printf("/proc/%" G_GINT64_FORMAT "/cmdline", pid);
    if (!g_file_get_contents(stat_path, &stat, NULL, NULL) ||
        !g_file_get_contents(cmd_path, &cmdline, &len, NULL)) {
        return FALSE;
    }
    paren = strrchr(stat, ')');
    if (paren == NULL || paren[1] == '\0' || paren[2] == 'Z' ||
        paren[2] == 'X') {
        return FALSE;
    }
    if (marker == NULL) {
        return TRUE;
    }
    for (gsize i = 0; i < len; i++) {
        if (cmdline[i] == '\0') {
            cmdline[i] = ' ';
        }
    }
    return strstr(cmdline, marker) != NULL;
}

static gboolean session_wait_gone(gint64 pid, const char *marker,
                                  guint timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    while (session_pid_alive(pid, marker)) {
        if (g_get_monotonic_time() >= deadline) {
            return FALSE;
        }
        g_usleep(20000);
    }
    return TRUE;
}

RigQmp *session_qmp_connect(const char *path, guint timeout_ms, GError **error)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    g_autoptr(RigQmp) qmp = NULL;
    int fd;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "QMP socket path too long: %s", path);
        return NULL;
    }
    strcpy(addr.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int err = errno;

        if (fd >= 0) {
            close(fd);
        }
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "cannot connect to QMP socket %s: %s", path,
                    g_strerror(err));
        return NULL;
    }
    qmp = rig_qmp_new_from_fd(fd);
    rig_qmp_set_timeout(qmp, timeout_ms);
    if (!rig_qmp_handshake(qmp, NULL, error)) {
        g_prefix_error(error, "QMP on %s: ", path);
        return NULL;
    }
    return g_steal_pointer(&qmp);
}

/* Stops one VM: QMP quit, then SIGTERM, then SIGKILL. */
static gboolean session_stop_vm(JsonObject *vm, const char *marker,
                                GError **error)
{
    gint64 pid = json_object_get_int_member_with_default(vm, "pid", 0);
    const char *name = json_object_get_string_member(vm, "name");
    const char *qmp_path =
        json_object_get_string_member_with_default(vm, "qmp", NULL);

    if (!session_pid_alive(pid, marker)) {
        return TRUE;
    }
    if (qmp_path != NULL) {
        g_autoptr(RigQmp) qmp =
            session_qmp_connect(qmp_path, SESSION_QUIT_TIMEOUT_MS, NULL);

        if (qmp != NULL) {
            g_autoptr(JsonNode) ret = rig_qmp_execute(qmp, "quit", NULL, NULL);
        }
    }
    if (session_wait_gone(pid, marker, SESSION_QUIT_TIMEOUT_MS)) {
        return TRUE;
    }
    kill((pid_t)pid, SIGTERM);
    if (session_wait_gone(pid, marker, SESSION_TERM_TIMEOUT_MS)) {
        return TRUE;
    }
    kill((pid_t)pid, SIGKILL);
    if (session_wait_gone(pid, marker, SESSION_TERM_TIMEOUT_MS)) {
        return TRUE;
    }
    g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                "QEMU of %s (pid %" G_GINT64_FORMAT ") survived SIGKILL", name,
                pid);
    return FALSE;
}

/* Removes everything the state records; tolerates half-made sessions. */
static gboolean session_teardown(SessionState *state, GError **error)
{
    JsonObject *root = session_state_object(state);
    JsonArray *vms = session_state_vms(state);
    const char *netns =
        json_object_get_string_member_with_default(root, "netns", NULL);
    JsonArray *bridges =
        json_object_has_member(root, "host_bridges")
            ? json_object_get_array_member(root, "host_bridges")
            : NULL;
    g_autoptr(GError) first = NULL;

    for (guint i = 0; i < json_array_get_length(vms); i++) {
        g_autoptr(GError) local = NULL;

        if (!session_stop_vm(json_array_get_object_element(vms, i), state->dir,
                             &local) &&
            first == NULL) {
            first = g_steal_pointer(&local);
        }
    }
    if (netns != NULL) {
        g_autoptr(GError) local = NULL;

        if (!session_net_delete_netns(netns, &local) && first == NULL) {
            first = g_steal_pointer(&local);
        }
    }
    for (guint i = 0; bridges != NULL && i < json_array_get_length(bridges);
         i++) {
        const char *br = json_array_get_string_element(bridges, i);
        g_autofree char *cmd = g_strdup_printf("ip link del %s", br);

        /* Bridges the rig made in the host namespace (netns = false). */
        if (system(cmd) != 0 && first == NULL) {
            g_set_error(&first, SESSION_ERROR, SESSION_ERROR_FAILED,
                        "`%s` failed", cmd);
        }
    }
    if (first != NULL) {
        g_propagate_error(error, g_steal_pointer(&first));
        return FALSE;
    }
    return TRUE;
}

static void session_remove_dir(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = g_build_filename(dir, name, NULL);

        g_unlink(path);
    }
    g_rmdir(dir);
}

gboolean session_down(const char *state_root, guint id, GError **error)
{
    g_autoptr(SessionState) state = session_state_load(state_root, id, error);

    if (state == NULL) {
        return FALSE;
    }
    if (!session_teardown(state, error)) {
        return FALSE;
    }
    session_remove_dir(state->dir);
    return TRUE;
}

/* ---- up ------------------------------------------------------------- */

static void session_on_signal(int sig)
{
    session_signalled = sig;
}

static gboolean session_check_signal(GError **error)
{
    if (session_signalled != 0) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_INTERRUPTED,
                    "interrupted by signal %d: removing what was started",
                    (int)session_signalled);
        return FALSE;
    }
    return TRUE;
}

/* Reserves the lowest free id (or @wanted) by creating its directory. */
static char *session_reserve(const char *state_root, guint wanted,
                             guint *ret_id, GError **error)
{
    g_autofree char *lock_path = g_build_filename(state_root, ".lock", NULL);
    int lock;
    char *dir = NULL;

    if (g_mkdir_with_parents(state_root, 0700) < 0) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "cannot create the state directory %s: %s", state_root,
                    g_strerror(errno));
        return NULL;
    }
    lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX) < 0) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "cannot lock %s: %s", lock_path, g_strerror(errno));
        if (lock >= 0) {
            close(lock);
        }
        return NULL;
    }
    for (guint id = wanted != 0 ? wanted : 1;
         id <= (wanted != 0 ? wanted : SESSION_MAX_ID); id++) {
        g_autofree char *candidate = session_dir(state_root, id);

        if (g_mkdir(candidate, 0700) == 0) {
            *ret_id = id;
            dir = g_steal_pointer(&candidate);
            break;
        }
    }
    if (dir == NULL) {
        if (wanted != 0) {
            g_set_error(error, SESSION_ERROR, SESSION_ERROR_USAGE,
                        "session %u already exists (rig session down --id "
                        "%u, or choose another --id)",
                        wanted, wanted);
        } else {
            g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                        "all %d session ids are in use in %s", SESSION_MAX_ID,
                        state_root);
        }
    }
    close(lock);
    return dir;
}

static guint16 session_free_port(GError **error)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    guint16 port = 0;

    if (fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &len) == 0) {
        port = ntohs(addr.sin_port);
    } else {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "cannot find a free port on 127.0.0.1: %s",
                    g_strerror(errno));
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

typedef struct {
    SessionProfile *profile;
    SessionState *state;
    const char *qemu;
    GHashTable *images;
    gboolean kvm;
    RigNetns *netns; /* the session's namespace; NULL: the host's */
    const char *control_bridge;
    const char *test_bridge;
} UpContext;

static void argv_add(GPtrArray *argv, const char *arg)
{
    g_ptr_array_add(argv, g_strdup(arg));
}

static void G_GNUC_PRINTF(2, 3) argv_addf(GPtrArray *argv, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_ptr_array_add(argv, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

static gboolean session_prepare_disk(UpContext *ctx, SessionVmSpec *spec,
                                     const char *image, char **ret_drive,
                                     GError **error)
{
    if (ctx->profile->disk_mode == SESSION_DISK_OVERLAY) {
        g_autofree char *overlay =
            g_strdup_printf("%s/%s-overlay.qcow2", ctx->state->dir, spec->name);
        g_autofree char *abs = g_canonicalize_filename(image, NULL);
        g_autofree char *dir = g_path_get_dirname(ctx->qemu);
        g_autofree char *img_tool = g_build_filename(dir, "qemu-img", NULL);
        const char *tool = g_file_test(img_tool, G_FILE_TEST_IS_EXECUTABLE)
                               ? img_tool
                               : "qemu-img";
        const char *argv[] = {
            tool, "create",           "-q",    "-f", "qcow2", "-b", abs,
            "-F", spec->image_format, overlay, NULL};
        g_autoptr(GSubprocess) proc = g_subprocess_newv(
            argv,
            G_SUBPROCESS_FLAGS_STDERR_MERGE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
            error);
        g_autofree char *out = NULL;

        if (proc == NULL || !g_subprocess_communicate_utf8(proc, NULL, NULL,
                                                           &out, NULL, error)) {
            g_prefix_error(error, "qemu-img (apt-get install qemu-utils): ");
            return FALSE;
        }
        if (!g_subprocess_get_successful(proc)) {
            g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                        "cannot create the overlay of %s: %s", image,
                        out != NULL ? g_strstrip(out) : "");
            return FALSE;
        }
        *ret_drive =
            g_strdup_printf("file=%s,format=qcow2,if=none,id=disk0", overlay);
        return TRUE;
    }
    *ret_drive =
        g_strdup_printf("file=%s,format=%s,if=none,id=disk0,snapshot=on", image,
                        spec->image_format);
    return TRUE;
}

/* Builds the argv of one VM; tap fds are numbered from 3 in @fds order. */
static gboolean session_vm_argv(UpContext *ctx, SessionVmSpec *spec,
                                JsonObject *vm, GArray *fds, GPtrArray *argv,
                                GError **error)
{
    SessionProfile *p = ctx->profile;
    const char *dir = ctx->state->dir;
    const char *image = g_hash_table_lookup(ctx->images, spec->name);
    g_autofree char *drive = NULL;
    JsonArray *nics = json_object_get_array_member(vm, "nics");

    argv_add(argv, ctx->qemu);
    argv_add(argv, "-name");
    argv_addf(argv, "s%u-%s,process=rig-s%u-%s", ctx->state->id, spec->name,
              ctx->state->id, spec->name);
    argv_add(argv, "-nodefaults");
    argv_add(argv, "-machine");
    argv_add(argv, p->machine);
    argv_add(argv, "-accel");
    argv_add(argv, ctx->kvm ? "kvm" : "tcg");
    argv_add(argv, "-cpu");
    argv_add(argv, p->cpu_model != NULL ? p->cpu_model
                   : ctx->kvm           ? "host"
                                        : "max");
    argv_add(argv, "-smp");
    argv_addf(argv, "%u", spec->cpus);
    argv_add(argv, "-m");
    argv_addf(argv, "%u", spec->memory_mib);
    for (gsize i = 0; FIRMWARE_DIRS[i] != NULL; i++) {
        if (g_file_test(FIRMWARE_DIRS[i], G_FILE_TEST_IS_DIR)) {
            argv_add(argv, "-L");
            argv_add(argv, FIRMWARE_DIRS[i]);
        }
    }
    if (p->firmware == SESSION_FIRMWARE_OVMF) {
        g_autofree char *vars =
            g_strdup_printf("%s/%s-vars.fd", dir, spec->name);
        g_autofree char *data = NULL;
        gsize len = 0;

        if (!g_file_get_contents(OVMF_VARS, &data, &len, error) ||
            !g_file_set_contents(vars, data, (gssize)len, error)) {
            g_prefix_error(error, "OVMF (apt-get install ovmf): ");
            return FALSE;
        }
        argv_add(argv, "-drive");
        argv_addf(argv, "if=pflash,format=raw,unit=0,readonly=on,file=%s",
                  OVMF_CODE);
        argv_add(argv, "-drive");
        argv_addf(argv, "if=pflash,format=raw,unit=1,file=%s", vars);
    }
    if (!session_prepare_disk(ctx, spec, image, &drive, error)) {
        return FALSE;
    }
    argv_add(argv, "-drive");
    argv_add(argv, drive);
    argv_add(argv, "-device");
    argv_add(argv, g_str_equal(p->disk_bus, "virtio")
                       ? "virtio-blk-pci,drive=disk0"
                       : "ide-hd,drive=disk0,bus=ide.0");
    if (spec->kernel != NULL) {
        argv_add(argv, "-kernel");
        argv_add(argv, spec->kernel);
        if (spec->initrd != NULL) {
            argv_add(argv, "-initrd");
            argv_add(argv, spec->initrd);
        }
        if (spec->append != NULL) {
            argv_add(argv, "-append");
            argv_add(argv, spec->append);
        }
    }
    argv_add(argv, "-device");
    argv_add(argv, "VGA");
    argv_add(argv, "-display");
    argv_add(argv, "none");
    argv_add(argv, "-vnc");
    argv_addf(argv, "127.0.0.1:%d,to=99", SESSION_VNC_FIRST);
    argv_add(argv, "-chardev");
    argv_addf(argv, "socket,id=qmp,path=%s,server=on,wait=off",
              json_object_get_string_member(vm, "qmp"));
    argv_add(argv, "-mon");
    argv_add(argv, "chardev=qmp,mode=control");
    argv_add(argv, "-chardev");
    argv_addf(argv, "socket,id=qga,path=%s,server=on,wait=off",
              json_object_get_string_member(vm, "qga"));
    argv_add(argv, "-device");
    argv_add(argv, "virtio-serial-pci,id=vser0");
    argv_add(argv, "-device");
    argv_add(argv, "virtserialport,bus=vser0.0,chardev=qga,"
                   "name=org.qemu.guest_agent.0");
    argv_add(argv, "-chardev");
    argv_addf(argv, "file,id=serial0,path=%s",
              json_object_get_string_member(vm, "serial"));
    argv_add(argv, "-serial");
    argv_add(argv, "chardev:serial0");

    for (guint i = 0; i < json_array_get_length(nics); i++) {
        JsonObject *nic = json_array_get_object_element(nics, i);
        const char *id = json_object_get_string_member(nic, "id");
        const char *network = json_object_get_string_member(nic, "network");
        const char *mac = json_object_get_string_member(nic, "mac");
        const char *model = json_object_get_string_member(nic, "model");

        if (g_str_equal(network, "world")) {
            GString *netdev = g_string_new(NULL);
            JsonArray *fwd = json_object_get_array_member(vm, "forwards");

            g_string_printf(netdev, "user,id=%s", id);
            for (guint j = 0; j < json_array_get_length(fwd); j++) {
                JsonObject *f = json_array_get_object_element(fwd, j);

                /* Bound to loopback only: never exposed to the LAN. */
                g_string_append_printf(
                    netdev,
                    ",hostfwd=tcp:127.0.0.1:%" G_GINT64_FORMAT
                    "-:%" G_GINT64_FORMAT,
                    json_object_get_int_member(f, "host"),
                    json_object_get_int_member(f, "guest"));
            }
            argv_add(argv, "-netdev");
            g_ptr_array_add(argv, g_string_free(netdev, FALSE));
        } else {
            int target = 3 + (int)fds->len;

            argv_add(argv, "-netdev");
            argv_addf(argv, "tap,id=%s,fd=%d,vhost=off", id, target);
            g_array_append_val(fds, target);
        }
        argv_add(argv, "-device");
        if (g_str_equal(network, "test")) {
            /*
             * What NetKVM needs to negotiate RSC_EXT: CTRL_VQ,
             * CTRL_GUEST_OFFLOADS, GUEST_CSUM, GUEST_TSO4/6 (and a tap with
             * a vnet header, vhost off).
             */
            argv_addf(
                argv,
                "%s,netdev=%s,id=%s,mac=%s,romfile=,"
                "guest_rsc_ext=%s,rsc_interval=%" G_GUINT64_FORMAT
                ",csum=on,guest_csum=on,guest_tso4=on,guest_tso6=on,"
                "host_tso4=on,host_tso6=on,mrg_rxbuf=on,ctrl_vq=on,"
                "ctrl_guest_offloads=on%s%s",
                model, id, id, mac, p->guest_rsc_ext ? "on" : "off",
                p->rsc_interval_ns, p->test_device_options != NULL ? "," : "",
                p->test_device_options != NULL ? p->test_device_options : "");
        } else {
            argv_addf(argv, "%s,netdev=%s,id=%s,mac=%s,romfile=", model, id, id,
                      mac);
        }
    }
    argv_add(argv, "-daemonize");
    argv_add(argv, "-pidfile");
    argv_add(argv, json_object_get_string_member(vm, "pidfile"));
    g_ptr_array_add(argv, NULL);
    return TRUE;
}

static void nic_add(JsonBuilder *b, const char *id, const char *network,
                    const char *model, const guint8 mac[6], const char *tap,
                    const char *bridge)
{
    g_autofree char *mac_text = session_mac_format(mac);

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "id");
    json_builder_add_string_value(b, id);
    json_builder_set_member_name(b, "network");
    json_builder_add_string_value(b, network);
    json_builder_set_member_name(b, "model");
    json_builder_add_string_value(b, model);
    json_builder_set_member_name(b, "mac");
    json_builder_add_string_value(b, mac_text);
    if (tap != NULL) {
        json_builder_set_member_name(b, "tap");
        json_builder_add_string_value(b, tap);
        json_builder_set_member_name(b, "bridge");
        json_builder_add_string_value(b, bridge);
    }
    json_builder_end_object(b);
}

static void set_string(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    if (value != NULL) {
        json_builder_add_string_value(b, value);
    } else {
        json_builder_add_null_value(b);
    }
}

/* The VM's entry in the state file, before it starts. */
static gboolean session_vm_describe(UpContext *ctx, SessionVmSpec *spec,
                                    JsonNode **ret_vm, GError **error)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    const char *dir = ctx->state->dir;
    guint id = ctx->state->id;
    guint8 mac[6];
    g_autofree char *qmp = g_strdup_printf("%s/%s.qmp", dir, spec->name);
    g_autofree char *qga = g_strdup_printf("%s/%s.qga", dir, spec->name);
    g_autofree char *serial =
        g_strdup_printf("%s/%s-serial.log", dir, spec->name);
    g_autofree char *log = g_strdup_printf("%s/%s-qemu.log", dir, spec->name);
    g_autofree char *pidfile = g_strdup_printf("%s/%s.pid", dir, spec->name);
    g_autofree char *short_name = spec->role == SESSION_ROLE_STUDIO
                                      ? g_strdup("st")
                                      : g_strdup_printf("c%u", spec->index);
    g_autofree char *ctl_tap = g_strdup_printf("rs%u%sctl", id, short_name);
    g_autofree char *tst_tap = g_strdup_printf("rs%u%stst", id, short_name);
    gboolean world = ctx->profile->world && spec->role == SESSION_ROLE_STUDIO;

    json_builder_begin_object(b);
    set_string(b, "name", spec->name);
    set_string(b, "role",
               spec->role == SESSION_ROLE_STUDIO ? "studio" : "client");
    json_builder_set_member_name(b, "index");
    json_builder_add_int_value(b, spec->index);
    set_string(b, "image", g_hash_table_lookup(ctx->images, spec->name));
    set_string(b, "qmp", qmp);
    set_string(b, "qga", qga);
    set_string(b, "serial", serial);
    set_string(b, "log", log);
    set_string(b, "pidfile", pidfile);
    json_builder_set_member_name(b, "pid");
    json_builder_add_int_value(b, 0);

    json_builder_set_member_name(b, "nics");
    json_builder_begin_array(b);
    session_mac_for(id, 1, spec->index, mac);
    nic_add(b, SESSION_NIC_CONTROL, "control", ctx->profile->control_nic, mac,
            ctl_tap, ctx->control_bridge);
    if (spec->role == SESSION_ROLE_CLIENT) {
        memcpy(mac, spec->test_mac, 6);
        if (!spec->test_mac_set) {
            session_mac_for(id, 2, spec->index, mac);
        }
        nic_add(b, SESSION_NIC_TEST, "test", ctx->profile->test_nic, mac,
                tst_tap, ctx->test_bridge);
    }
    if (world) {
        session_mac_for(id, 3, spec->index, mac);
        nic_add(b, SESSION_NIC_WORLD, "world", ctx->profile->world_nic, mac,
                NULL, NULL);
    }
    json_builder_end_array(b);

    json_builder_set_member_name(b, "forwards");
    json_builder_begin_array(b);
    for (guint i = 0; world && i < ctx->profile->forwards->len; i++) {
        SessionForward *f =
            &g_array_index(ctx->profile->forwards, SessionForward, i);
        guint16 host = f->host_port;

        if (host == 0) {
            host = session_free_port(error);
            if (host == 0) {
                return FALSE;
            }
        }
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "host");
        json_builder_add_int_value(b, host);
        json_builder_set_member_name(b, "guest");
        json_builder_add_int_value(b, f->guest_port);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    *ret_vm = json_builder_get_root(b);
    return TRUE;
}

static char *session_read_tail(const char *path)
{
    g_autofree char *text = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &text, &len, NULL) || len == 0) {
        return g_strdup("(QEMU printed nothing)");
    }
    return g_strdup(g_strstrip(len > 2000 ? text + len - 2000 : text));
}

/*
 * Starts one VM.  @ret_refused is set when QEMU itself ran and exited with
 * an error (as opposed to the rig failing to set it up).
 */
static gboolean session_start_vm(UpContext *ctx, SessionVmSpec *spec,
                                 JsonObject *vm, gboolean *ret_refused,
                                 GError **error)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GArray) targets = g_array_new(FALSE, FALSE, sizeof(int));
    g_autoptr(GSubprocessLauncher) launcher = NULL;
    g_autoptr(GSubprocess) proc = NULL;
    JsonArray *nics = json_object_get_array_member(vm, "nics");
    g_autofree char *pid_text = NULL;
    gint64 pid;
    guint tap_count = 0;

    if (!session_vm_argv(ctx, spec, vm, targets, argv, error)) {
        return FALSE;
    }
    launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_INHERIT);
    g_subprocess_launcher_set_stdout_file_path(
        launcher, json_object_get_string_member(vm, "log"));
    g_subprocess_launcher_set_stderr_file_path(
        launcher, json_object_get_string_member(vm, "log"));
    for (guint i = 0; i < json_array_get_length(nics); i++) {
        JsonObject *nic = json_array_get_object_element(nics, i);
        const char *tap =
            json_object_get_string_member_with_default(nic, "tap", NULL);
        gboolean control = g_str_equal(
            json_object_get_string_member(nic, "network"), "control");
        RigNetns *where =
            control && ctx->profile->host_bridge != NULL ? NULL : ctx->netns;
        int fd = -1;

        if (tap == NULL) {
            continue;
        }
        if (!session_net_add_tap(where, tap,
                                 json_object_get_string_member(nic, "bridge"),
                                 &fd, error)) {
            return FALSE;
        }
        g_subprocess_launcher_take_fd(launcher, fd, 3 + (int)tap_count);
        tap_count++;
    }
    proc = g_subprocess_launcher_spawnv(
        launcher, (const char *const *)argv->pdata, error);
    if (proc == NULL) {
        g_prefix_error(error, "cannot start QEMU for %s: ", spec->name);
        return FALSE;
    }
    /* With -daemonize the parent exits once the VM is set up. */
    if (!g_subprocess_wait(proc, NULL, error)) {
        return FALSE;
    }
    if (!g_subprocess_get_successful(proc)) {
        g_autofree char *tail =
            session_read_tail(json_object_get_string_member(vm, "log"));

        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "QEMU for %s failed to start: %s", spec->name, tail);
        *ret_refused = TRUE;
        return FALSE;
    }
    if (!g_file_get_contents(json_object_get_string_member(vm, "pidfile"),
                             &pid_text, NULL, error)) {
        return FALSE;
    }
    pid = g_ascii_strtoll(pid_text, NULL, 10);
    json_object_set_int_member(vm, "pid", pid);
    json_object_set_string_member(vm, "accel", ctx->kvm ? "kvm" : "tcg");
    return TRUE;
}

/*
 * Starts one VM; when QEMU refuses to start under KVM and the profile lets
 * the rig choose (accel = auto), starts it and the VMs after it under TCG.
 * Seen: -cpu host on nested hosts fails with "failed to set MSR 0x10a".
 */
static gboolean session_start_vm_fallback(UpContext *ctx, SessionVmSpec *spec,
                                          JsonObject *vm, GError **error)
{
    g_autoptr(GError) kvm_error = NULL;
    gboolean refused = FALSE;

    if (!ctx->kvm) {
        return session_start_vm(ctx, spec, vm, &refused, error);
    }
    if (session_start_vm(ctx, spec, vm, &refused, &kvm_error)) {
        return TRUE;
    }
    if (refused && ctx->profile->accel == SESSION_ACCEL_KVM) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "%s\n(under KVM: another [session] cpu model, e.g. "
                    "qemu64, or accel = auto may help)",
                    kvm_error->message);
        return FALSE;
    }
    if (!refused) {
        g_propagate_error(error, g_steal_pointer(&kvm_error));
        return FALSE;
    }
    g_printerr("rig session: warning: under KVM, %s\nrig session: warning: "
               "using TCG for %s and the VMs after it (set [session] accel "
               "or cpu in the profile to choose)\n",
               kvm_error->message, spec->name);
    ctx->kvm = FALSE;
    json_object_set_string_member(session_state_object(ctx->state), "accel",
                                  "tcg");
    return session_start_vm(ctx, spec, vm, &refused, error);
}

/* Reads back what QEMU made of the VM: VNC port, test NIC properties. */
static gboolean session_inspect_vm(JsonObject *vm, GError **error)
{
    g_autoptr(RigQmp) qmp =
        session_qmp_connect(json_object_get_string_member(vm, "qmp"),
                            SESSION_START_TIMEOUT_MS, error);
    g_autoptr(JsonNode) vnc = NULL;

    if (qmp == NULL) {
        return FALSE;
    }
    vnc = rig_qmp_execute(qmp, "query-vnc", NULL, error);
    if (vnc == NULL) {
        return FALSE;
    }
    if (JSON_NODE_HOLDS_OBJECT(vnc)) {
        JsonObject *o = json_node_get_object(vnc);
        const char *host =
            json_object_get_string_member_with_default(o, "host", "127.0.0.1");
        const char *service =
            json_object_get_string_member_with_default(o, "service", NULL);

        if (service != NULL) {
            g_autofree char *addr = g_strdup_printf("%s:%s", host, service);

            json_object_set_string_member(vm, "vnc", addr);
        }
    }
    return TRUE;
}

static void session_print_summary(SessionState *state)
{
    JsonArray *vms = session_state_vms(state);
    JsonObject *root = session_state_object(state);

    printf("session %u is up (state in %s)\n", state->id, state->dir);
    if (json_object_get_string_member_with_default(root, "netns", NULL)) {
        printf("  networks in namespace %s (ip netns exec %s ...)\n",
               json_object_get_string_member(root, "netns"),
               json_object_get_string_member(root, "netns"));
    }
    for (guint i = 0; i < json_array_get_length(vms); i++) {
        JsonObject *vm = json_array_get_object_element(vms, i);

        printf("  %s: pid %" G_GINT64_FORMAT " (%s), VNC %s\n",
               json_object_get_string_member(vm, "name"),
               json_object_get_int_member(vm, "pid"),
               g_str_equal(json_object_get_string_member_with_default(
                               vm, "accel", "tcg"),
                           "kvm")
                   ? "KVM"
                   : "TCG",
               json_object_get_string_member_with_default(vm, "vnc", "?"));
        session_print_vm_access(vm, "    ");
    }
    printf("stop it with: rig session down --id %u\n", state->id);
    fflush(stdout);
}

static gboolean session_up_steps(UpContext *ctx, GError **error)
{
    SessionProfile *p = ctx->profile;
    JsonObject *root = session_state_object(ctx->state);
    JsonArray *vms = session_state_vms(ctx->state);
    g_autofree char *netns = NULL;
    g_autofree char *ctl_br = NULL;
    g_autofree char *tst_br = NULL;

    if (p->netns) {
        const char *bridges[] = {SESSION_BRIDGE_CONTROL, SESSION_BRIDGE_TEST,
                                 NULL};

        /* Random part: another state root may use the same id. */
        netns = g_strdup_printf("rig-s%u-%08x", ctx->state->id, g_random_int());
        json_object_set_string_member(root, "netns", netns);
        if (!session_state_save(ctx->state, error)) {
            return FALSE;
        }
        ctx->netns = session_net_create_netns(netns, bridges, error);
        if (ctx->netns == NULL) {
            return FALSE;
        }
        ctl_br = g_strdup(SESSION_BRIDGE_CONTROL);
        tst_br = g_strdup(SESSION_BRIDGE_TEST);
    } else {
        JsonArray *host_bridges = json_array_new();

        ctl_br = g_strdup_printf("rs%uctl", ctx->state->id);
        tst_br = g_strdup_printf("rs%utst", ctx->state->id);
        json_object_set_array_member(root, "host_bridges", host_bridges);
        for (int i = 0; i < 2; i++) {
            const char *br = i == 0 ? ctl_br : tst_br;
            g_autofree char *cmd = g_strdup_printf(
                "ip link add %s type bridge && ip link set %s up", br, br);

            if (i == 0 && p->host_bridge != NULL) {
                continue;
            }
            json_array_add_string_element(host_bridges, br);
            if (!session_state_save(ctx->state, error)) {
                return FALSE;
            }
            if (system(cmd) != 0) {
                g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                            "`%s` failed", cmd);
                return FALSE;
            }
        }
    }
    ctx->control_bridge = p->host_bridge != NULL ? p->host_bridge : ctl_br;
    ctx->test_bridge = tst_br;

    for (guint i = 0; i < p->vms->len; i++) {
        SessionVmSpec *spec = g_ptr_array_index(p->vms, i);
        JsonNode *vm = NULL;

        if (!session_check_signal(error) ||
            !session_vm_describe(ctx, spec, &vm, error)) {
            return FALSE;
        }
        json_array_add_element(vms, vm);
        if (!session_state_save(ctx->state, error)) {
            return FALSE;
        }
        if (!session_start_vm_fallback(ctx, spec, json_node_get_object(vm),
                                       error) ||
            !session_state_save(ctx->state, error) ||
            !session_check_signal(error) ||
            !session_inspect_vm(json_node_get_object(vm), error) ||
            !session_state_save(ctx->state, error)) {
            return FALSE;
        }
        fprintf(stderr, "rig session: %s started (%u/%u)\n", spec->name, i + 1,
                p->vms->len);
    }
    return session_check_signal(error);
}

gboolean session_up(const SessionUpOptions *options, guint *ret_id,
                    GError **error)
{
    const char *state_root = options->state_root != NULL ? options->state_root
                                                         : session_state_root();
    g_autoptr(SessionProfile) profile = NULL;
    g_autoptr(SessionState) state = NULL;
    g_autofree char *kvm_reason = NULL;
    g_autofree char *profile_abs = NULL;
    g_autofree char *qemu = NULL;
    struct sigaction sa = {.sa_handler = session_on_signal};
    struct sigaction old_int;
    struct sigaction old_term;
    struct sigaction old_hup;
    UpContext ctx = {0};
    g_autoptr(JsonBuilder) b = json_builder_new();
    guint id = 0;
    gboolean ok;

    profile = session_profile_load(options->profile_path, error);
    if (profile == NULL) {
        return FALSE;
    }
    for (guint i = 0; i < profile->vms->len; i++) {
        SessionVmSpec *spec = g_ptr_array_index(profile->vms, i);
        const char *image = g_hash_table_lookup(options->images, spec->name);

        if (image == NULL) {
            g_set_error(error, SESSION_ERROR, SESSION_ERROR_USAGE,
                        "no disk image for %s: pass --image %s=PATH",
                        spec->name, spec->name);
            return FALSE;
        }
        if (!g_file_test(image, G_FILE_TEST_IS_REGULAR)) {
            g_set_error(error, SESSION_ERROR, SESSION_ERROR_USAGE,
                        "disk image of %s not found: %s", spec->name, image);
            return FALSE;
        }
    }
    {
        GHashTableIter it;
        gpointer key;

        g_hash_table_iter_init(&it, options->images);
        while (g_hash_table_iter_next(&it, &key, NULL)) {
            if (session_profile_find_vm(profile, key) == NULL) {
                g_set_error(error, SESSION_ERROR, SESSION_ERROR_USAGE,
                            "--image %s=...: the profile has no VM called "
                            "%s (it has studio and client1..client%u)",
                            (char *)key, (char *)key, profile->clients);
                return FALSE;
            }
        }
    }
    qemu =
        g_strdup(options->qemu != NULL ? options->qemu : g_getenv("RIG_QEMU"));
    if (qemu == NULL || qemu[0] == '\0') {
        g_free(qemu);
        qemu = g_strdup(RIG_DEFAULT_QEMU);
    }
    if (qemu[0] == '\0' || !g_file_test(qemu, G_FILE_TEST_IS_EXECUTABLE)) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "no QEMU binary (%s): run ci/build-qemu, or pass --qemu",
                    qemu[0] != '\0' ? qemu : "none configured");
        return FALSE;
    }
    if (profile->accel == SESSION_ACCEL_TCG) {
        ctx.kvm = FALSE;
    } else {
        SessionKvmVerdict kvm = session_kvm_probe(NULL, &kvm_reason);

        if (profile->accel == SESSION_ACCEL_KVM &&
            kvm == SESSION_KVM_UNAVAILABLE) {
            g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                        "the profile asks for KVM ([session] accel = kvm), "
                        "but %s",
                        kvm_reason);
            return FALSE;
        }
        /* An explicit accel = kvm is honoured even when KVM is slow. */
        ctx.kvm = kvm == SESSION_KVM_OK || profile->accel == SESSION_ACCEL_KVM;
        if (kvm != SESSION_KVM_OK) {
            g_printerr("rig session: warning: %s: %s\n", kvm_reason,
                       ctx.kvm ? "using KVM as the profile asks"
                               : "using TCG, which is much slower");
        }
    }

    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    session_signalled = 0;

    state = g_new0(SessionState, 1);
    state->dir = session_reserve(state_root, options->id, &id, error);
    if (state->dir == NULL) {
        ok = FALSE;
        goto out;
    }
    state->id = id;
    profile_abs = g_canonicalize_filename(options->profile_path, NULL);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "version");
    json_builder_add_int_value(b, 1);
    json_builder_set_member_name(b, "id");
    json_builder_add_int_value(b, id);
    set_string(b, "profile", profile_abs);
    set_string(b, "qemu", qemu);
    set_string(b, "accel", ctx.kvm ? "kvm" : "tcg");
    set_string(b, "netns", NULL);
    json_builder_set_member_name(b, "rsc_interval");
    json_builder_add_int_value(b, (gint64)profile->rsc_interval_ns);
    json_builder_set_member_name(b, "vms");
    json_builder_begin_array(b);
    json_builder_end_array(b);
    json_builder_end_object(b);
    state->root = json_builder_get_root(b);

    ctx.profile = profile;
    ctx.state = state;
    ctx.qemu = qemu;
    ctx.images = options->images;
    ok = session_up_steps(&ctx, error);
    if (!ok) {
        g_autoptr(GError) cleanup = NULL;

        if (!session_teardown(state, &cleanup)) {
            g_printerr("rig session: cleanup after the failure was "
                       "incomplete: %s (state kept in %s; retry with rig "
                       "session down --id %u)\n",
                       cleanup->message, state->dir, id);
        } else {
            session_remove_dir(state->dir);
        }
        goto out;
    }
    session_print_summary(state);
    *ret_id = id;

out:
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    /* Closes the handle only: the namespace belongs to the session. */
    rig_netns_free(ctx.netns);
    return ok;
}
