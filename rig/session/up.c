/*
 * `rig session up`: see session.h.  Each VM is described in the state
 * file before it starts, then started daemonized through rig/qemu's
 * launcher (vm.c), so that a `down` after any interruption finds it.
 * Networks as HCK labs set them up (VirtHCK hck_aux.sh enslave_iface /
 * enslave_test_iface, AutoHCK lib/setupmanagers/qemuhck/
 * network_manager.json net_up): taps with TX offload off and txqueuelen
 * 11000, on control and test bridges.
 */
#include "session/session.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "qemu/qmp.h"
#include "qemu/vm.h"
#include "rig-config.h"
#include "session/kvm.h"
#include "session/net.h"
#include "session/offloads.h"
#include "session/profile.h"
#include "session/state.h"
#include "session/teardown.h"

#define SESSION_START_TIMEOUT_MS 30000
#define SESSION_BRIDGE_CONTROL   "ctl"
#define SESSION_BRIDGE_TEST      "tst"
/* Device ids: the QOM paths /machine/peripheral/<id>. */
#define SESSION_NIC_CONTROL "ctl"
#define SESSION_NIC_TEST    "tst"
#define SESSION_NIC_WORLD   "world"
#define SESSION_NIC_EXTRA   "xfer"
/* The network byte of session MACs (52:54:00:<id>:<net>:<vm>). */
#define SESSION_NET_CONTROL 1
#define SESSION_NET_TEST    2
#define SESSION_NET_WORLD   3
#define SESSION_NET_EXTRA   4
/* First VNC display tried; QEMU takes the first free one up to 99. */
#define SESSION_VNC_FIRST 10

/* Beyond the launcher's Debian seabios/ipxe dirs: QEMU's own blobs. */
static const char QEMU_FIRMWARE_DIR[] = "/usr/share/qemu";
static const char OVMF_CODE[] = "/usr/share/OVMF/OVMF_CODE_4M.fd";
static const char OVMF_VARS[] = "/usr/share/OVMF/OVMF_VARS_4M.fd";

static volatile sig_atomic_t session_signalled;

GQuark session_error_quark(void)
{
    return g_quark_from_static_string("rig-session-error-quark");
}

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
    if (!session_check_private_dir(state_root, error)) {
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
    const char *state_root;
} UpContext;

static gboolean session_prepare_disk(UpContext *ctx, SessionVmSpec *spec,
                                     RigVmConfig *config, GError **error)
{
    const char *image = g_hash_table_lookup(ctx->images, spec->name);
    g_autofree char *overlay = NULL;
    RigVmDisk *disk;

    if (ctx->profile->disk_mode == SESSION_DISK_OVERLAY) {
        g_autofree char *abs = g_canonicalize_filename(image, NULL);
        g_autofree char *dir = g_path_get_dirname(ctx->qemu);
        g_autofree char *img_tool = g_build_filename(dir, "qemu-img", NULL);
        const char *tool = g_file_test(img_tool, G_FILE_TEST_IS_EXECUTABLE)
                               ? img_tool
                               : "qemu-img";
        g_autoptr(GSubprocess) proc = NULL;
        g_autofree char *out = NULL;

        overlay =
            g_strdup_printf("%s/%s-overlay.qcow2", ctx->state->dir, spec->name);
        proc = g_subprocess_new(
            G_SUBPROCESS_FLAGS_STDERR_MERGE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
            error, tool, "create", "-q", "-f", "qcow2", "-b", abs, "-F",
            spec->image_format, overlay, NULL);
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
        disk = rig_vm_config_add_disk(config, overlay, "qcow2");
    } else {
        disk = rig_vm_config_add_disk(config, image, spec->image_format);
        disk->snapshot = TRUE;
    }
    disk->virtio = g_str_equal(ctx->profile->disk_bus, "virtio");
    return TRUE;
}

static void add_state_nic(SessionVmState *vm, const char *id,
                          const char *network, const char *model,
                          const guint8 mac[6], const char *tap,
                          const char *bridge, guint queues)
{
    SessionNicState *nic = session_vm_add_nic(vm);

    nic->id = g_strdup(id);
    nic->network = g_strdup(network);
    nic->model = g_strdup(model);
    nic->mac = session_mac_format(mac);
    nic->tap = g_strdup(tap);
    nic->bridge = g_strdup(bridge);
    nic->queues = MAX(queues, 1);
}

/* The VM's entry in the state file, before it starts. */
static SessionVmState *session_vm_describe(UpContext *ctx, SessionVmSpec *spec,
                                           GError **error)
{
    SessionProfile *p = ctx->profile;
    const char *dir = ctx->state->dir;
    guint id = ctx->state->id;
    g_autoptr(SessionVmState) vm = session_vm_state_new(spec->name);
    g_autofree char *short_name = spec->role == SESSION_ROLE_STUDIO
                                      ? g_strdup("st")
                                      : g_strdup_printf("c%u", spec->index);
    g_autofree char *ctl_tap = g_strdup_printf("rs%u%sctl", id, short_name);
    g_autofree char *tst_tap = g_strdup_printf("rs%u%stst", id, short_name);
    g_autofree char *xfer_tap = g_strdup_printf("rs%u%sx", id, short_name);
    gboolean studio = spec->role == SESSION_ROLE_STUDIO;
    guint8 mac[6];

    vm->role = spec->role;
    vm->index = spec->index;
    vm->image = g_strdup(g_hash_table_lookup(ctx->images, spec->name));
    vm->qmp = g_strdup_printf("%s/%s.qmp", dir, spec->name);
    vm->qga = g_strdup_printf("%s/%s.qga", dir, spec->name);
    vm->serial = g_strdup_printf("%s/%s-serial.log", dir, spec->name);
    vm->log = g_strdup_printf("%s/%s-qemu.log", dir, spec->name);
    vm->pidfile = g_strdup_printf("%s/%s.pid", dir, spec->name);
    if (spec->trace_events != NULL) {
        vm->trace_log = g_strdup_printf("%s/%s-trace.log", dir, spec->name);
    }

    session_mac_for(id, SESSION_NET_CONTROL, spec->index, mac);
    add_state_nic(vm, SESSION_NIC_CONTROL, "control", p->control_nic, mac,
                  ctl_tap, ctx->control_bridge, 1);
    if (!studio) {
        memcpy(mac, spec->test_mac, 6);
        if (!spec->test_mac_set) {
            session_mac_for(id, SESSION_NET_TEST, spec->index, mac);
        }
        add_state_nic(vm, SESSION_NIC_TEST, "test", p->test_nic, mac, tst_tap,
                      ctx->test_bridge, spec->queues);
        if (spec->extra_nic != NULL) {
            session_mac_for(id, SESSION_NET_EXTRA, spec->index, mac);
            add_state_nic(vm, SESSION_NIC_EXTRA, "extra", spec->extra_nic, mac,
                          xfer_tap, ctx->control_bridge, 1);
        }
    }
    if ((studio && p->world) || (!studio && spec->world)) {
        session_mac_for(id, SESSION_NET_WORLD, spec->index, mac);
        add_state_nic(vm, SESSION_NIC_WORLD, "world", p->world_nic, mac, NULL,
                      NULL, 1);
    }
    for (guint i = 0; studio && p->world && i < p->forwards->len; i++) {
        SessionForward f = g_array_index(p->forwards, SessionForward, i);

        if (f.host_port == 0) {
            f.host_port = session_free_port(error);
            if (f.host_port == 0) {
                return NULL;
            }
        }
        g_array_append_val(vm->forwards, f);
    }
    return g_steal_pointer(&vm);
}

/* Creates the VM's taps and describes its NICs to the launcher. */
static gboolean session_vm_nics(UpContext *ctx, SessionVmSpec *spec,
                                SessionVmState *vm, RigVmConfig *config,
                                GError **error)
{
    SessionProfile *p = ctx->profile;

    for (guint i = 0; i < vm->nics->len; i++) {
        SessionNicState *ns = g_ptr_array_index(vm->nics, i);
        gboolean test = g_str_equal(ns->network, "test");
        RigVmNic *nic;

        if (ns->tap != NULL) {
            gboolean host = !test && p->host_bridge != NULL;
            g_autoptr(GArray) fds = NULL;

            /* TX offload off everywhere but on test taps that keep it. */
            if (!session_net_add_tap(
                    host ? NULL : ctx->netns, ns->tap, ns->bridge, ns->queues,
                    !test || !p->test_tap_tx_offload, &fds, error)) {
                return FALSE;
            }
            nic = rig_vm_config_add_nic(config, ns->id,
                                        g_array_index(fds, int, 0));
            if (fds->len > 1) {
                nic->queue_fds = g_array_new(FALSE, FALSE, sizeof(int));
                g_array_append_vals(nic->queue_fds, &g_array_index(fds, int, 1),
                                    fds->len - 1);
            }
        } else {
            nic = rig_vm_config_add_nic(config, ns->id, -1);
            nic->user = TRUE;
            nic->host_forwards = g_array_new(FALSE, FALSE, sizeof(guint16));
            for (guint j = 0; j < vm->forwards->len; j++) {
                SessionForward *f =
                    &g_array_index(vm->forwards, SessionForward, j);

                g_array_append_val(nic->host_forwards, f->host_port);
                g_array_append_val(nic->host_forwards, f->guest_port);
            }
        }
        nic->model = g_strdup(ns->model);
        nic->mac = g_strdup(ns->mac);
        nic->guest_rsc_ext = test && p->guest_rsc_ext;
        if (test) {
            nic->rsc_interval_ns = (gint64)p->rsc_interval_ns;
            nic->netkvm_offloads = TRUE;
            nic->speed_mbps = spec->link_speed;
            nic->extra_props = g_strdup(p->test_device_options);
        }
    }
    return TRUE;
}

static RigVmConfig *session_vm_config(UpContext *ctx, SessionVmSpec *spec,
                                      SessionVmState *vm, GError **error)
{
    SessionProfile *p = ctx->profile;
    g_autoptr(RigVmConfig) config = rig_vm_config_new();

    config->qemu = g_strdup(ctx->qemu);
    config->name = g_strdup_printf("rig-s%u-%s", ctx->state->id, spec->name);
    g_free(config->machine);
    config->machine = g_strdup(p->machine);
    g_free(config->accel);
    config->accel = g_strdup(ctx->kvm ? "kvm" : "tcg");
    config->cpu = g_strdup(p->cpu_model != NULL ? p->cpu_model
                           : ctx->kvm           ? "host"
                                                : "max");
    config->cpus = spec->cpus;
    config->memory_mib = spec->memory_mib;
    if (g_file_test(QEMU_FIRMWARE_DIR, G_FILE_TEST_IS_DIR)) {
        g_ptr_array_add(config->firmware_dirs, g_strdup(QEMU_FIRMWARE_DIR));
    }
    if (p->firmware == SESSION_FIRMWARE_OVMF) {
        g_autofree char *vars =
            g_strdup_printf("%s/%s-vars.fd", ctx->state->dir, spec->name);
        g_autofree char *data = NULL;
        gsize len = 0;

        if (!g_file_get_contents(OVMF_VARS, &data, &len, error) ||
            !g_file_set_contents(vars, data, (gssize)len, error)) {
            g_prefix_error(error, "OVMF (apt-get install ovmf): ");
            return NULL;
        }
        config->pflash_code = g_strdup(OVMF_CODE);
        config->pflash_vars = g_steal_pointer(&vars);
    }
    if (!session_prepare_disk(ctx, spec, config, error)) {
        return NULL;
    }
    config->kernel = g_strdup(spec->kernel);
    config->initrd = g_strdup(spec->initrd);
    config->append = g_strdup(spec->append);
    config->vga = TRUE;
    config->vnc_display = SESSION_VNC_FIRST;
    config->agent_socket = g_strdup(vm->qga);
    config->serial_log = g_strdup(vm->serial);
    for (gsize i = 0; spec->trace_events != NULL && spec->trace_events[i];
         i++) {
        g_ptr_array_add(config->trace_events, g_strdup(spec->trace_events[i]));
    }
    config->trace_log = g_strdup(vm->trace_log);
    config->daemonize = TRUE;
    config->pidfile = g_strdup(vm->pidfile);
    config->start_timeout_ms = SESSION_START_TIMEOUT_MS;
    if (!session_vm_nics(ctx, spec, vm, config, error)) {
        return NULL;
    }
    return g_steal_pointer(&config);
}

/*
 * Starts one VM.  @ret_refused is set when QEMU itself ran and exited with
 * an error (as opposed to the rig failing to set it up).
 */
static gboolean session_start_vm(UpContext *ctx, SessionVmSpec *spec,
                                 SessionVmState *vm, gboolean *ret_refused,
                                 GError **error)
{
    g_autoptr(RigVmConfig) config = session_vm_config(ctx, spec, vm, error);
    g_autoptr(GError) local = NULL;
    GPid pid = 0;

    if (config == NULL) {
        return FALSE;
    }
    if (!rig_vm_spawn_daemon(config, vm->qmp, vm->log, &pid, &local)) {
        *ret_refused =
            g_error_matches(local, RIG_VM_ERROR, RIG_VM_ERROR_EXITED);
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "QEMU for %s failed to start: %s", spec->name,
                    local->message);
        return FALSE;
    }
    vm->pid = pid;
    g_free(vm->accel);
    vm->accel = g_strdup(ctx->kvm ? "kvm" : "tcg");
    return TRUE;
}

static gboolean session_start_vm_fallback(UpContext *ctx, SessionVmSpec *spec,
                                          SessionVmState *vm, GError **error)
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
    g_free(ctx->state->accel);
    ctx->state->accel = g_strdup("tcg");
    return session_start_vm(ctx, spec, vm, &refused, error);
}

/* Reads back what QEMU made of the VM: its VNC address. */
static gboolean session_inspect_vm(SessionVmState *vm, GError **error)
{
    g_autoptr(RigQmp) qmp =
        rig_qmp_connect_unix(vm->qmp, SESSION_START_TIMEOUT_MS, error);
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
            g_free(vm->vnc);
            vm->vnc = g_strdup_printf("%s:%s", host, service);
        }
    }
    return TRUE;
}

static void session_print_summary(SessionState *state)
{
    printf("session %u is up (state in %s)\n", state->id, state->dir);
    if (state->netns != NULL) {
        printf("  networks in namespace %s (ip netns exec %s ...)\n",
               state->netns, state->netns);
    }
    for (guint i = 0; i < state->vms->len; i++) {
        SessionVmState *vm = g_ptr_array_index(state->vms, i);

        printf("  %s: pid %" G_GINT64_FORMAT " (%s), VNC %s\n", vm->name,
               vm->pid, g_strcmp0(vm->accel, "kvm") == 0 ? "KVM" : "TCG",
               vm->vnc != NULL ? vm->vnc : "?");
        session_print_vm_access(vm, "    ");
    }
    printf("stop it with: rig session down --id %u\n", state->id);
    fflush(stdout);
}

static void keeper_child_setup(gpointer user_data)
{
    /* Out of the terminal's process group: a Ctrl-C there is for `up`. */
    setsid();
}

/*
 * Starts `rig session keep-offloads` (offloads.h), which outlives us.  Its
 * command line names the session directory, so `down` finds it even when
 * the state lost its pid.
 */
static gboolean session_start_keeper(SessionState *state,
                                     const char *state_root, GError **error)
{
    g_autofree char *exe = g_file_read_link("/proc/self/exe", error);
    g_autofree char *root = g_canonicalize_filename(state_root, NULL);
    g_autofree char *id = g_strdup_printf("%u", state->id);
    g_autofree char *marker = g_strconcat(state->dir, "/", NULL);
    g_autofree char *log =
        g_build_filename(state->dir, "keep-offloads.log", NULL);
    g_autoptr(GSubprocessLauncher) launcher = NULL;
    g_autoptr(GSubprocess) proc = NULL;

    if (exe == NULL) {
        return FALSE;
    }
    launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_MERGE);
    g_subprocess_launcher_set_stdin_file_path(launcher, "/dev/null");
    g_subprocess_launcher_set_stdout_file_path(launcher, log);
    g_subprocess_launcher_set_child_setup(launcher, keeper_child_setup, NULL,
                                          NULL);
    proc = g_subprocess_launcher_spawn(launcher, error, exe, "session",
                                       "keep-offloads", "--id", id,
                                       "--state-dir", root, marker, NULL);
    if (proc == NULL) {
        g_prefix_error(error, "cannot start keep-offloads: ");
        return FALSE;
    }
    /* NULL once GLib reaped it: it exited at once (its log says why). */
    if (g_subprocess_get_identifier(proc) == NULL) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "keep-offloads exited at once: see %s", log);
        return FALSE;
    }
    state->keeper_pid =
        g_ascii_strtoll(g_subprocess_get_identifier(proc), NULL, 10);
    return session_state_save(state, error);
}

static gboolean session_up_steps(UpContext *ctx, GError **error)
{
    SessionProfile *p = ctx->profile;
    SessionState *state = ctx->state;
    g_autofree char *ctl_br = NULL;
    g_autofree char *tst_br = NULL;

    if (p->netns) {
        const char *bridges[] = {SESSION_BRIDGE_CONTROL, SESSION_BRIDGE_TEST,
                                 NULL};

        /* Random part: another state root may use the same id. */
        state->netns =
            g_strdup_printf("rig-s%u-%08x", state->id, g_random_int());
        if (!session_state_save(state, error)) {
            return FALSE;
        }
        ctx->netns = session_net_create_netns(state->netns, bridges, error);
        if (ctx->netns == NULL) {
            return FALSE;
        }
        ctl_br = g_strdup(SESSION_BRIDGE_CONTROL);
        tst_br = g_strdup(SESSION_BRIDGE_TEST);
    } else {
        ctl_br = g_strdup_printf("rs%uctl", state->id);
        tst_br = g_strdup_printf("rs%utst", state->id);
        for (int i = 0; i < 2; i++) {
            const char *br = i == 0 ? ctl_br : tst_br;

            if (i == 0 && p->host_bridge != NULL) {
                continue;
            }
            /* Recorded first: a `down` after a failure removes it. */
            g_ptr_array_add(state->bridges, g_strdup(br));
            if (!session_state_save(state, error) ||
                !session_net_add_host_bridge(br, error)) {
                return FALSE;
            }
        }
    }
    ctx->control_bridge = p->host_bridge != NULL ? p->host_bridge : ctl_br;
    ctx->test_bridge = tst_br;

    for (guint i = 0; i < p->vms->len; i++) {
        SessionVmSpec *spec = g_ptr_array_index(p->vms, i);
        SessionVmState *vm;

        if (!session_check_signal(error)) {
            return FALSE;
        }
        vm = session_vm_describe(ctx, spec, error);
        if (vm == NULL) {
            return FALSE;
        }
        /* Recorded before it starts: `down` then finds its pidfile. */
        g_ptr_array_add(state->vms, vm);
        if (!session_state_save(state, error) ||
            !session_start_vm_fallback(ctx, spec, vm, error) ||
            !session_state_save(state, error) || !session_check_signal(error) ||
            !session_inspect_vm(vm, error) ||
            !session_state_save(state, error)) {
            return FALSE;
        }
        fprintf(stderr, "rig session: %s started (%u/%u)\n", spec->name, i + 1,
                p->vms->len);
    }
    return session_check_signal(error) &&
           session_start_keeper(state, ctx->state_root, error);
}

/* A disk image the user named: a readable regular file. */
static gboolean session_check_image(const char *vm, const char *image,
                                    GError **error)
{
    GStatBuf st;

    if (g_stat(image, &st) < 0) {
        int saved = errno;

        g_set_error(error, SESSION_ERROR, SESSION_ERROR_USAGE,
                    "disk image of %s: %s: %s", vm, image,
                    saved == ENOENT ? "not found" : g_strerror(saved));
        return FALSE;
    }
    if (S_ISDIR(st.st_mode)) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_USAGE,
                    "disk image of %s: %s is a directory, not a disk image", vm,
                    image);
        return FALSE;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_USAGE,
                    "disk image of %s: %s is neither a file nor a block "
                    "device",
                    vm, image);
        return FALSE;
    }
    if (access(image, R_OK) < 0) {
        int saved = errno;

        g_set_error(error, SESSION_ERROR, SESSION_ERROR_USAGE,
                    "disk image of %s: cannot read %s: %s", vm, image,
                    g_strerror(saved));
        return FALSE;
    }
    return TRUE;
}

gboolean session_up(const SessionUpOptions *options, guint *ret_id,
                    GError **error)
{
    const char *state_root = options->state_root != NULL ? options->state_root
                                                         : session_state_root();
    g_autoptr(SessionProfile) profile = NULL;
    g_autoptr(SessionState) state = NULL;
    g_autofree char *kvm_reason = NULL;
    g_autofree char *qemu = NULL;
    struct sigaction sa = {.sa_handler = session_on_signal};
    struct sigaction old_int;
    struct sigaction old_term;
    struct sigaction old_hup;
    UpContext ctx = {0};
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
        if (!session_check_image(spec->name, image, error)) {
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

    {
        g_autofree char *dir =
            session_reserve(state_root, options->id, &id, error);

        if (dir == NULL) {
            ok = FALSE;
            goto out;
        }
        state = session_state_new(dir, id);
    }
    state->profile = g_canonicalize_filename(options->profile_path, NULL);
    state->qemu = g_strdup(qemu);
    state->accel = g_strdup(ctx.kvm ? "kvm" : "tcg");
    state->rsc_interval = profile->rsc_interval_ns;
    state->test_tap_tx_offload = profile->test_tap_tx_offload;
    ctx.state_root = state_root;

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
