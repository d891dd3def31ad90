/*
 * QEMU launcher.  The rig owns the listening QMP/qtest sockets and QEMU
 * connects to them while it starts (its chardevs in client mode), so
 * readiness is an accept() with a deadline instead of a poll for a socket
 * file.  QEMU's exit is watched with g_subprocess_wait_async() on a private
 * GMainContext that only this module iterates, so waiting never dispatches
 * the caller's sources.
 */
#include "qemu/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "qemu/unix-socket.h"
#include "rig-config.h"

/* in g_get_tmp_dir(): rig-qemu-<pid of the rig>-XXXXXX */
#define RUNTIME_DIR_PREFIX "rig-qemu-"
#define QMP_SOCKET         "qmp.sock"
#define QTEST_SOCKET       "qtest.sock"
#define QEMU_LOG           "qemu.log"
#define HALT_BIOS          "halt.bin"
#define HALT_BIOS_SIZE     65536 /* the smallest -bios image QEMU's pc takes */
/* in SHARED_RAM_ROOT: rig-ram-<pid of the rig>-XXXXXX (reaped alike) */
#define SHARED_RAM_DIR_PREFIX "rig-ram-"
#define SHARED_RAM_ROOT       "/dev/shm"
#define SHARED_RAM_FILE       "guest-ram"
#define SHARED_RAM_ID         "rig-ram"
#define LOG_TAIL_LINES        20
/* Taps are handed to QEMU as fds 3, 4, ... */
#define FIRST_TAP_FD 3

static const char *const DEBIAN_FIRMWARE_DIRS[] = {
    "/usr/share/seabios",
    "/usr/lib/ipxe/qemu",
};

struct RigVm {
    GSubprocess *process;
    GPid pid;
    char *runtime_dir;
    char *log_path;
    char **argv;
    RigQmp *qmp;
    int qtest_fd;
    GMainContext *context;
    gboolean exited;
    guint stop_timeout_ms;
    /* RigVmConfig.shared_ram: our mapping of QEMU's guest RAM. */
    char *ram_dir;
    char *ram_path;
    void *ram_map;
    gsize ram_size;
};

/* clang-format off */
G_DEFINE_QUARK(rig-vm-error-quark, rig_vm_error)
/* clang-format on */

const char *rig_vm_default_qemu(void)
{
    const char *env = g_getenv("RIG_QEMU");

    if (env != NULL && env[0] != '\0') {
        return env;
    }
    return RIG_DEFAULT_QEMU;
}

static void nic_free(gpointer data)
{
    RigVmNic *nic = data;

    if (nic->tap_fd >= 0) {
        close(nic->tap_fd);
    }
    g_free(nic->id);
    g_free(nic->mac);
    g_free(nic->tap_ifname);
    g_free(nic->extra_props);
    g_free(nic->model);
    for (guint i = 0; nic->queue_fds != NULL && i < nic->queue_fds->len; i++) {
        close(g_array_index(nic->queue_fds, int, i));
    }
    if (nic->queue_fds != NULL) {
        g_array_unref(nic->queue_fds);
    }
    if (nic->host_forwards != NULL) {
        g_array_unref(nic->host_forwards);
    }
    g_free(nic);
}

static void disk_free(gpointer data)
{
    RigVmDisk *disk = data;

    g_free(disk->path);
    g_free(disk->format);
    g_free(disk);
}

RigVmConfig *rig_vm_config_new(void)
{
    RigVmConfig *config = g_new0(RigVmConfig, 1);

    config->machine = g_strdup(RIG_VM_DEFAULT_MACHINE);
    config->accel = g_strdup(RIG_VM_DEFAULT_ACCEL);
    config->memory_mib = RIG_VM_DEFAULT_MEMORY_MIB;
    config->nics = g_ptr_array_new_with_free_func(nic_free);
    config->firmware_dirs = g_ptr_array_new_with_free_func(g_free);
    config->extra_args = g_ptr_array_new_with_free_func(g_free);
    config->disks = g_ptr_array_new_with_free_func(disk_free);
    config->trace_events = g_ptr_array_new_with_free_func(g_free);
    config->vnc_display = -1;
    config->start_timeout_ms = RIG_VM_DEFAULT_START_TIMEOUT_MS;
    config->stop_timeout_ms = RIG_VM_DEFAULT_STOP_TIMEOUT_MS;
    /*
     * The patched build links Debian's firmware into its prefix; naming the
     * same directories with -L also serves a QEMU that lacks the links.
     */
    for (gsize i = 0; i < G_N_ELEMENTS(DEBIAN_FIRMWARE_DIRS); i++) {
        if (g_file_test(DEBIAN_FIRMWARE_DIRS[i], G_FILE_TEST_IS_DIR)) {
            g_ptr_array_add(config->firmware_dirs,
                            g_strdup(DEBIAN_FIRMWARE_DIRS[i]));
        }
    }
    return config;
}

void rig_vm_config_free(RigVmConfig *config)
{
    if (config == NULL) {
        return;
    }
    g_free(config->qemu);
    g_free(config->machine);
    g_free(config->accel);
    g_ptr_array_unref(config->nics);
    g_ptr_array_unref(config->firmware_dirs);
    g_ptr_array_unref(config->extra_args);
    g_free(config->ram_path);
    g_ptr_array_unref(config->disks);
    g_ptr_array_unref(config->trace_events);
    g_free(config->name);
    g_free(config->cpu);
    g_free(config->kernel);
    g_free(config->initrd);
    g_free(config->append);
    g_free(config->pflash_code);
    g_free(config->pflash_vars);
    g_free(config->serial_log);
    g_free(config->agent_socket);
    g_free(config->trace_log);
    g_free(config->pidfile);
    g_free(config);
}

RigVmNic *rig_vm_config_add_nic(RigVmConfig *config, const char *id, int tap_fd)
{
    RigVmNic *nic = g_new0(RigVmNic, 1);

    nic->id = g_strdup(id);
    nic->guest_rsc_ext = TRUE;
    nic->rsc_interval_ns = -1;
    nic->no_rom = TRUE;
    nic->tap_fd = tap_fd;
    g_ptr_array_add(config->nics, nic);
    return nic;
}

guint rig_vm_nic_queues(const RigVmNic *nic)
{
    return 1 + (nic->queue_fds != NULL ? nic->queue_fds->len : 0);
}

RigVmDisk *rig_vm_config_add_disk(RigVmConfig *config, const char *path,
                                  const char *format)
{
    RigVmDisk *disk = g_new0(RigVmDisk, 1);

    disk->path = g_strdup(path);
    disk->format = g_strdup(format);
    g_ptr_array_add(config->disks, disk);
    return disk;
}

/* QEMU option values: a comma would start a new key. */
static gboolean check_value(const char *what, const char *value, GError **error)
{
    if (value == NULL || value[0] == '\0' || strpbrk(value, ",=") != NULL) {
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_INVALID_CONFIG,
                    "%s \"%s\" is empty or contains ',' or '='", what,
                    value != NULL ? value : "");
        return FALSE;
    }
    return TRUE;
}

static void add_arg(GPtrArray *argv, const char *arg)
{
    g_ptr_array_add(argv, g_strdup(arg));
}

G_GNUC_PRINTF(2, 3)
static void add_argf(GPtrArray *argv, const char *format, ...)
{
    va_list args;

    va_start(args, format);
    g_ptr_array_add(argv, g_strdup_vprintf(format, args));
    va_end(args);
}

/* A QEMU option value: "," must be doubled, or it starts the next key. */
static char *escape_value(const char *value)
{
    g_auto(GStrv) parts = g_strsplit(value, ",", -1);

    return g_strjoinv(",,", parts);
}

static gboolean is_virtio_net(const RigVmNic *nic)
{
    return nic->model == NULL || g_str_has_prefix(nic->model, "virtio-net");
}

/*
 * The RSC device options, written here only: what QEMU's coalescer reads
 * (guest_rsc_ext, rsc_interval) and, with netkvm_offloads, the features
 * NetKVM needs before it acks RSC_EXT (InitializeRSCState,
 * NetKVM/Common/ParaNdis_Common.cpp: CTRL_VQ, CTRL_GUEST_OFFLOADS,
 * GUEST_CSUM, GUEST_TSO4/6).
 */
static gboolean append_rsc_props(GString *device, const RigVmNic *nic,
                                 GError **error)
{
    g_string_append_printf(device, ",guest_rsc_ext=%s",
                           nic->guest_rsc_ext ? "on" : "off");
    if (nic->rsc_interval_ns >= 0) {
        if (nic->rsc_interval_ns > G_MAXUINT32) {
            g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_INVALID_CONFIG,
                        "rsc_interval %" G_GINT64_FORMAT
                        " ns does not fit QEMU's 32-bit property",
                        nic->rsc_interval_ns);
            return FALSE;
        }
        g_string_append_printf(device, ",rsc_interval=%" G_GINT64_FORMAT,
                               nic->rsc_interval_ns);
    }
    if (nic->netkvm_offloads) {
        g_string_append(device, ",csum=on,guest_csum=on,guest_tso4=on,"
                                "guest_tso6=on,host_tso4=on,host_tso6=on,"
                                "mrg_rxbuf=on,ctrl_vq=on,"
                                "ctrl_guest_offloads=on");
    }
    return TRUE;
}

/* -netdev of NIC @index; tap fds are handed over as @next_fd, ... */
static gboolean add_netdev(GPtrArray *argv, const RigVmNic *nic, guint index,
                           int *next_fd, GArray *fds, GError **error)
{
    guint queues = rig_vm_nic_queues(nic);

    add_arg(argv, "-netdev");
    if (nic->user) {
        g_autoptr(GString) netdev = g_string_new(NULL);

        g_string_printf(netdev, "user,id=rig-net%u", index);
        for (guint i = 0;
             nic->host_forwards != NULL && i + 1 < nic->host_forwards->len;
             i += 2) {
            /* Bound to loopback only: never exposed to the LAN. */
            g_string_append_printf(
                netdev, ",hostfwd=tcp:127.0.0.1:%u-:%u",
                g_array_index(nic->host_forwards, guint16, i),
                g_array_index(nic->host_forwards, guint16, i + 1));
        }
        add_arg(argv, netdev->str);
    } else if (nic->tap_fd >= 0) {
        g_autoptr(GString) list = g_string_new(NULL);

        for (guint q = 0; q < queues; q++) {
            int source = q == 0 ? nic->tap_fd
                                : g_array_index(nic->queue_fds, int, q - 1);
            int pair[2] = {source, (*next_fd)++};

            g_string_append_printf(list, "%s%d", q > 0 ? ":" : "", pair[1]);
            g_array_append_vals(fds, pair, 2);
        }
        /* QEMU refuses vnet_hdr= with fd=: it probes IFF_VNET_HDR. */
        add_argf(argv, "tap,id=rig-net%u,%s=%s,vhost=off", index,
                 queues > 1 ? "fds" : "fd", list->str);
    } else if (nic->tap_ifname != NULL) {
        if (!check_value("tap name", nic->tap_ifname, error)) {
            return FALSE;
        }
        add_argf(argv,
                 "tap,id=rig-net%u,ifname=%s,script=no,downscript=no,"
                 "vnet_hdr=on,vhost=off",
                 index, nic->tap_ifname);
    } else {
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_INVALID_CONFIG,
                    "NIC %s has neither a tap fd nor a tap name", nic->id);
        return FALSE;
    }
    return TRUE;
}

static gboolean add_nic(GPtrArray *argv, const RigVmNic *nic, guint index,
                        int *next_fd, GArray *fds, GError **error)
{
    g_autoptr(GString) device =
        g_string_new(nic->model != NULL ? nic->model : "virtio-net-pci");
    guint queues = rig_vm_nic_queues(nic);

    if (!check_value("NIC id", nic->id, error) ||
        (nic->mac != NULL && !check_value("MAC", nic->mac, error)) ||
        (nic->model != NULL && !check_value("NIC model", nic->model, error))) {
        return FALSE;
    }
    if (!is_virtio_net(nic) && (queues > 1 || nic->speed_mbps > 0)) {
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_INVALID_CONFIG,
                    "NIC %s (%s): queues and speed need virtio-net-pci",
                    nic->id, nic->model);
        return FALSE;
    }
    if (!add_netdev(argv, nic, index, next_fd, fds, error)) {
        return FALSE;
    }
    g_string_append_printf(device, ",id=%s,netdev=rig-net%u", nic->id, index);
    if (is_virtio_net(nic) && !append_rsc_props(device, nic, error)) {
        return FALSE;
    }
    if (nic->mac != NULL) {
        g_string_append_printf(device, ",mac=%s", nic->mac);
    }
    if (nic->no_rom) {
        g_string_append(device, ",romfile=");
    }
    if (queues > 1) {
        /* VirtHCK (hck_aux.sh): one vector per queue and direction + 2. */
        g_string_append_printf(device, ",mq=on,vectors=%u", 2 * queues + 2);
    }
    if (nic->speed_mbps > 0) {
        g_string_append_printf(device, ",speed=%u,duplex=full",
                               nic->speed_mbps);
    }
    if (nic->extra_props != NULL && nic->extra_props[0] != '\0') {
        g_string_append_printf(device, ",%s", nic->extra_props);
    }
    add_arg(argv, "-device");
    add_arg(argv, device->str);
    return TRUE;
}

static gboolean add_disks(GPtrArray *argv, const RigVmConfig *config,
                          GError **error)
{
    for (guint i = 0; i < config->disks->len; i++) {
        const RigVmDisk *disk = g_ptr_array_index(config->disks, i);
        g_autofree char *file = escape_value(disk->path);

        if (!check_value("disk format", disk->format, error)) {
            return FALSE;
        }
        add_arg(argv, "-drive");
        add_argf(argv, "file=%s,format=%s,if=none,id=rig-disk%u%s", file,
                 disk->format, i, disk->snapshot ? ",snapshot=on" : "");
        add_arg(argv, "-device");
        if (disk->virtio) {
            add_argf(argv, "virtio-blk-pci,drive=rig-disk%u", i);
        } else {
            add_argf(argv, "ide-hd,drive=rig-disk%u,bus=ide.%u", i, i);
        }
    }
    return TRUE;
}

/* What a real guest needs: CPUs, boot, display, serial, guest agent. */
static gboolean add_guest(GPtrArray *argv, const RigVmConfig *config,
                          GError **error)
{
    if (config->cpu != NULL) {
        add_arg(argv, "-cpu");
        add_arg(argv, config->cpu);
    }
    if (config->cpus > 0) {
        add_arg(argv, "-smp");
        add_argf(argv, "%u", config->cpus);
    }
    if (config->pflash_code != NULL) {
        g_autofree char *code = escape_value(config->pflash_code);

        add_arg(argv, "-drive");
        add_argf(argv, "if=pflash,format=raw,unit=0,readonly=on,file=%s", code);
    }
    if (config->pflash_vars != NULL) {
        g_autofree char *vars = escape_value(config->pflash_vars);

        add_arg(argv, "-drive");
        add_argf(argv, "if=pflash,format=raw,unit=1,file=%s", vars);
    }
    if (!add_disks(argv, config, error)) {
        return FALSE;
    }
    if (config->kernel != NULL) {
        add_arg(argv, "-kernel");
        add_arg(argv, config->kernel);
        if (config->initrd != NULL) {
            add_arg(argv, "-initrd");
            add_arg(argv, config->initrd);
        }
        if (config->append != NULL) {
            add_arg(argv, "-append");
            add_arg(argv, config->append);
        }
    }
    if (config->vga) {
        add_arg(argv, "-device");
        add_arg(argv, "VGA");
    }
    if (config->vnc_display >= 0) {
        add_arg(argv, "-vnc");
        add_argf(argv, "127.0.0.1:%d,to=99", config->vnc_display);
    }
    if (config->agent_socket != NULL) {
        g_autofree char *path = escape_value(config->agent_socket);

        add_arg(argv, "-chardev");
        add_argf(argv, "socket,id=rig-qga,path=%s,server=on,wait=off", path);
        add_arg(argv, "-device");
        add_arg(argv, "virtio-serial-pci,id=rig-vser0");
        add_arg(argv, "-device");
        add_arg(argv, "virtserialport,bus=rig-vser0.0,chardev=rig-qga,"
                      "name=org.qemu.guest_agent.0");
    }
    if (config->serial_log != NULL) {
        g_autofree char *path = escape_value(config->serial_log);

        add_arg(argv, "-chardev");
        add_argf(argv, "file,id=rig-serial0,path=%s", path);
        add_arg(argv, "-serial");
        add_arg(argv, "chardev:rig-serial0");
    }
    for (guint i = 0; i < config->trace_events->len; i++) {
        g_autofree char *pattern =
            escape_value(g_ptr_array_index(config->trace_events, i));

        add_arg(argv, "-trace");
        add_argf(argv, "enable=%s", pattern);
    }
    if (config->trace_log != NULL) {
        add_arg(argv, "-D");
        add_arg(argv, config->trace_log);
    }
    return TRUE;
}

char **rig_vm_config_build_argv(const RigVmConfig *config, const char *qmp_path,
                                const char *qtest_path,
                                const char *halt_bios_path, GArray **ret_fds,
                                GError **error)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GArray) fds = g_array_new(FALSE, FALSE, sizeof(int));
    const char *qemu =
        config->qemu != NULL ? config->qemu : rig_vm_default_qemu();
    g_autofree char *qmp = escape_value(qmp_path);
    int next_fd = FIRST_TAP_FD;

    if (!check_value("machine", config->machine, error) ||
        (config->accel != NULL &&
         !check_value("accelerator", config->accel, error)) ||
        (config->name != NULL && !check_value("name", config->name, error))) {
        return NULL;
    }
    if (config->daemonize && config->pidfile == NULL) {
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_INVALID_CONFIG,
                    "a daemonized QEMU needs a pidfile");
        return NULL;
    }
    add_arg(argv, qemu);
    if (config->name != NULL) {
        add_arg(argv, "-name");
        add_argf(argv, "%s,process=%s", config->name, config->name);
    }
    add_arg(argv, "-M");
    add_arg(argv, config->machine);
    if (config->accel != NULL) {
        add_arg(argv, "-accel");
        add_arg(argv, config->accel);
    }
    add_arg(argv, "-m");
    add_argf(argv, "%u", config->memory_mib);
    if (config->ram_path != NULL) {
        if (strchr(config->ram_path, ',') != NULL) {
            g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_INVALID_CONFIG,
                        "shared RAM path \"%s\" contains ','",
                        config->ram_path);
            return NULL;
        }
        add_arg(argv, "-object");
        add_argf(argv,
                 "memory-backend-file,id=" SHARED_RAM_ID
                 ",size=%uM,mem-path=%s,share=on",
                 config->memory_mib, config->ram_path);
        add_arg(argv, "-machine");
        add_arg(argv, "memory-backend=" SHARED_RAM_ID);
    }
    if (config->halt_firmware) {
        if (halt_bios_path == NULL) {
            g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_INVALID_CONFIG,
                        "halt_firmware needs the firmware's path");
            return NULL;
        }
        add_arg(argv, "-bios");
        add_arg(argv, halt_bios_path);
    }
    add_arg(argv, "-display");
    add_arg(argv, "none");
    add_arg(argv, "-nodefaults");
    add_arg(argv, "-no-user-config");
    for (guint i = 0; i < config->firmware_dirs->len; i++) {
        add_arg(argv, "-L");
        add_arg(argv, g_ptr_array_index(config->firmware_dirs, i));
    }
    add_arg(argv, "-chardev");
    /* A daemonized QEMU outlives the rig: it listens, later commands connect.
     */
    add_argf(argv, "socket,id=rig-qmp,path=%s%s", qmp,
             config->daemonize ? ",server=on,wait=off" : "");
    add_arg(argv, "-mon");
    add_arg(argv, "chardev=rig-qmp,mode=control");
    if (qtest_path != NULL) {
        add_arg(argv, "-qtest");
        add_argf(argv, "unix:%s", qtest_path);
        /* Otherwise QEMU logs every qtest command to stderr. */
        add_arg(argv, "-qtest-log");
        add_arg(argv, "none");
    }
    if (!add_guest(argv, config, error)) {
        return NULL;
    }
    for (guint i = 0; i < config->nics->len; i++) {
        if (!add_nic(argv, g_ptr_array_index(config->nics, i), i, &next_fd, fds,
                     error)) {
            return NULL;
        }
    }
    for (guint i = 0; i < config->extra_args->len; i++) {
        add_arg(argv, g_ptr_array_index(config->extra_args, i));
    }
    if (config->daemonize) {
        add_arg(argv, "-daemonize");
        add_arg(argv, "-pidfile");
        add_arg(argv, config->pidfile);
    }
    g_ptr_array_add(argv, NULL);
    *ret_fds = g_steal_pointer(&fds);
    return (char **)g_ptr_array_free(g_steal_pointer(&argv), FALSE);
}

static void remove_runtime_dir(const char *path);

/*
 * Whether @name is a runtime directory ("rig-qemu-<pid>-XXXXXX") of a
 * process that is gone (killed before it could remove it), owned by us.
 */
static gboolean runtime_dir_is_stale(const char *tmp, const char *prefix,
                                     const char *name)
{
    g_autofree char *path = NULL;
    unsigned int pid = 0;
    int consumed = 0;
    struct stat st;

    if (!g_str_has_prefix(name, prefix) ||
        sscanf(name + strlen(prefix), "%u-%n", &pid, &consumed) != 1 ||
        consumed == 0 || pid == 0 || pid > G_MAXINT ||
        strlen(name + strlen(prefix) + consumed) != 6) {
        return FALSE;
    }
    path = g_build_filename(tmp, name, NULL);
    if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) ||
        st.st_uid != geteuid()) {
        return FALSE;
    }
    return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static guint reap_stale_in(const char *root, const char *prefix)
{
    g_autoptr(GDir) dir = g_dir_open(root, 0, NULL);
    const char *name;
    guint reaped = 0;

    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        g_autofree char *path = NULL;

        if (!runtime_dir_is_stale(root, prefix, name)) {
            continue;
        }
        path = g_build_filename(root, name, NULL);
        remove_runtime_dir(path);
        g_info("removed stale QEMU directory %s", path);
        reaped++;
    }
    return reaped;
}

guint rig_vm_reap_stale_runtime_dirs(void)
{
    const char *tmp = g_get_tmp_dir();
    guint reaped = reap_stale_in(tmp, RUNTIME_DIR_PREFIX);

    /* shared guest RAM of a rig killed before QEMU opened it */
    reaped += reap_stale_in(tmp, SHARED_RAM_DIR_PREFIX);
    if (g_file_test(SHARED_RAM_ROOT, G_FILE_TEST_IS_DIR) &&
        !g_str_equal(tmp, SHARED_RAM_ROOT)) {
        reaped += reap_stale_in(SHARED_RAM_ROOT, SHARED_RAM_DIR_PREFIX);
    }
    return reaped;
}

/* Hands each tap fd pair {source, target} of @fds to the child. */
static gboolean launcher_take_fds(GSubprocessLauncher *launcher, GArray *fds,
                                  GError **error)
{
    for (guint i = 0; i + 1 < fds->len; i += 2) {
        int copy = fcntl(g_array_index(fds, int, i), F_DUPFD_CLOEXEC, 3);

        if (copy < 0) {
            int saved = errno;

            g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_FAILED,
                        "cannot duplicate the tap fd: %s", g_strerror(saved));
            return FALSE;
        }
        g_subprocess_launcher_take_fd(launcher, copy,
                                      g_array_index(fds, int, i + 1));
    }
    return TRUE;
}

/*
 * Between fork and exec: async-signal-safe calls only.  @user_data is a
 * page shared with the parent (MAP_SHARED survives fork): the child puts
 * its pid there.  GSubprocess forgets the pid once GLib's worker thread
 * has reaped the child (g_subprocess_get_identifier() returns NULL), which
 * a QEMU that exits at once (a wrong --qemu, /bin/true) does before the
 * spawning thread can ask; this value is there before exec, and so before
 * g_subprocess_launcher_spawnv() returns.
 */
static void child_setup(gpointer user_data)
{
    volatile pid_t *shared_pid = user_data;

    *shared_pid = getpid();
    /* Own process group: a terminal's SIGINT goes to the rig only. */
    setpgid(0, 0);
    /* QEMU must not outlive the rig (thread that spawned it). */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static void on_process_exited(GObject *source, GAsyncResult *result,
                              gpointer user_data)
{
    RigVm *vm = user_data;

    g_subprocess_wait_finish(G_SUBPROCESS(source), result, NULL);
    vm->exited = TRUE;
}

static gboolean on_flag_source(gpointer user_data)
{
    *(gboolean *)user_data = TRUE;
    return G_SOURCE_REMOVE;
}

static gboolean on_fd_ready(int fd, GIOCondition condition, gpointer user_data)
{
    *(gboolean *)user_data = TRUE;
    return G_SOURCE_REMOVE;
}

typedef enum {
    WAIT_READY,
    WAIT_EXITED,
    WAIT_TIMEOUT,
} WaitResult;

/*
 * Iterates the VM's private context until @fd (when >= 0) is readable,
 * QEMU has exited, or @timeout_ms passed.
 */
static WaitResult wait_fd_or_exit(RigVm *vm, int fd, guint timeout_ms)
{
    gboolean ready = FALSE;
    gboolean timed_out = FALSE;
    GSource *fd_source = NULL;
    GSource *timeout = g_timeout_source_new(timeout_ms);

    g_source_set_callback(timeout, on_flag_source, &timed_out, NULL);
    g_source_attach(timeout, vm->context);
    if (fd >= 0) {
        fd_source = g_unix_fd_source_new(fd, G_IO_IN);
        g_source_set_callback(fd_source, G_SOURCE_FUNC(on_fd_ready), &ready,
                              NULL);
        g_source_attach(fd_source, vm->context);
    }
    while (!ready && !vm->exited && !timed_out) {
        g_main_context_iteration(vm->context, TRUE);
    }
    g_source_destroy(timeout);
    g_source_unref(timeout);
    if (fd_source != NULL) {
        g_source_destroy(fd_source);
        g_source_unref(fd_source);
    }
    if (ready) {
        return WAIT_READY;
    }
    return vm->exited ? WAIT_EXITED : WAIT_TIMEOUT;
}

static int listen_unix(const char *path, GError **error)
{
    int fd = rig_unix_listen(path);

    if (fd == -ENAMETOOLONG) {
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_FAILED,
                    "socket path %s is too long (set TMPDIR to a shorter "
                    "directory)",
                    path);
    } else if (fd < 0) {
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_FAILED,
                    "cannot listen on %s: %s", path, g_strerror(-fd));
    }
    return fd < 0 ? -1 : fd;
}

static guint remaining_ms(gint64 deadline)
{
    return (guint)rig_remaining_ms(deadline);
}

/* Accepts QEMU's connection on @listen_fd within the start deadline. */
static int accept_qemu(RigVm *vm, int listen_fd, const char *what,
                       gint64 deadline, GError **error)
{
    switch (wait_fd_or_exit(vm, listen_fd, remaining_ms(deadline))) {
    case WAIT_READY:
        break;
    case WAIT_EXITED:
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_EXITED,
                    "QEMU exited before connecting to its %s socket", what);
        return -1;
    case WAIT_TIMEOUT:
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_TIMEOUT,
                    "QEMU did not connect to its %s socket in time", what);
        return -1;
    }
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        int saved = errno;
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_FAILED,
                    "accepting QEMU's %s connection: %s", what,
                    g_strerror(saved));
    }
    return fd;
}

gboolean rig_vm_check_qemu(const char *qemu, GError **error)
{
    if (qemu == NULL || qemu[0] == '\0') {
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_QEMU_MISSING,
                    "no QEMU binary configured: run ci/build-qemu and "
                    "rebuild, or pass --qemu PATH or set RIG_QEMU");
        return FALSE;
    }
    if (!g_file_test(qemu, G_FILE_TEST_IS_REGULAR) ||
        !g_file_test(qemu, G_FILE_TEST_IS_EXECUTABLE)) {
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_QEMU_MISSING,
                    "QEMU binary %s does not exist or is not executable: "
                    "run ci/build-qemu to build the patched QEMU, or pass "
                    "--qemu PATH or set RIG_QEMU",
                    qemu);
        return FALSE;
    }
    return TRUE;
}

/* After a failed start: add why QEMU ended, and what it printed. */
static void explain_failure(RigVm *vm, GError **error)
{
    if (vm->process == NULL || error == NULL || *error == NULL) {
        return;
    }
    /* A closed QMP socket usually means QEMU is on its way out. */
    if (!vm->exited) {
        wait_fd_or_exit(vm, -1, 1000);
    }
    g_autofree char *tail = rig_vm_get_log_tail(vm, LOG_TAIL_LINES);
    if (vm->exited) {
        g_autofree char *how = rig_vm_describe_exit(vm);
        GError *old = *error;
        *error =
            g_error_new(RIG_VM_ERROR, RIG_VM_ERROR_EXITED,
                        "QEMU %s during start (%s); its output:\n%s", how,
                        old->message, tail[0] != '\0' ? tail : "(nothing)");
        g_error_free(old);
    } else if (tail[0] != '\0') {
        g_prefix_error(error, "QEMU output so far:\n%s\n", tail);
    }
}

/* A firmware that halts at the reset vector: no BIOS, no option ROM. */
static char *write_halt_bios(const char *dir, GError **error)
{
    g_autofree guint8 *hlt = g_malloc(HALT_BIOS_SIZE);
    g_autofree char *path = g_build_filename(dir, HALT_BIOS, NULL);

    memset(hlt, 0xf4, HALT_BIOS_SIZE);
    if (!g_file_set_contents(path, (const char *)hlt, HALT_BIOS_SIZE, error)) {
        return NULL;
    }
    return g_steal_pointer(&path);
}

/*
 * Shared guest RAM: a file the rig creates, sizes and maps before QEMU
 * opens it (share=on: both see the same pages).  tmpfs keeps it off the
 * disk; the 0700 directory keeps other users out.
 */
static gboolean shared_ram_create(RigVm *vm, guint memory_mib, GError **error)
{
    const char *root = g_file_test(SHARED_RAM_ROOT, G_FILE_TEST_IS_DIR)
                           ? SHARED_RAM_ROOT
                           : g_get_tmp_dir();
    g_autofree char *base =
        g_strdup_printf(SHARED_RAM_DIR_PREFIX "%d-XXXXXX", (int)getpid());
    g_autofree char *dir = g_build_filename(root, base, NULL);
    int fd;
    void *map;

    if (g_mkdtemp_full(dir, 0700) == NULL) {
        int saved = errno;
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_FAILED,
                    "cannot create a directory for shared guest RAM in %s: %s",
                    root, g_strerror(saved));
        return FALSE;
    }
    vm->ram_dir = g_steal_pointer(&dir);
    vm->ram_path = g_build_filename(vm->ram_dir, SHARED_RAM_FILE, NULL);
    vm->ram_size = (gsize)memory_mib << 20;
    fd = open(vm->ram_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)vm->ram_size) < 0) {
        int saved = errno;
        if (fd >= 0) {
            close(fd);
        }
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_FAILED,
                    "cannot create %u MiB of shared guest RAM at %s: %s",
                    memory_mib, vm->ram_path, g_strerror(saved));
        return FALSE;
    }
    map = mmap(NULL, vm->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        int saved = errno;
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_FAILED,
                    "cannot map shared guest RAM %s: %s", vm->ram_path,
                    g_strerror(saved));
        return FALSE;
    }
    vm->ram_map = map;
    return TRUE;
}

/* Once QEMU holds the file open, no name needs to remain. */
static void shared_ram_unlink(RigVm *vm)
{
    if (vm->ram_path != NULL) {
        unlink(vm->ram_path);
        g_clear_pointer(&vm->ram_path, g_free);
    }
    if (vm->ram_dir != NULL) {
        rmdir(vm->ram_dir);
        g_clear_pointer(&vm->ram_dir, g_free);
    }
}

static void shared_ram_free(RigVm *vm)
{
    shared_ram_unlink(vm);
    if (vm->ram_map != NULL) {
        munmap(vm->ram_map, vm->ram_size);
        vm->ram_map = NULL;
    }
}

void *rig_vm_get_shared_ram(RigVm *vm, gsize *ret_size)
{
    if (ret_size != NULL) {
        *ret_size = vm->ram_map != NULL ? vm->ram_size : 0;
    }
    return vm->ram_map;
}

static gboolean spawn_and_connect(RigVm *vm, const RigVmConfig *config,
                                  GError **error)
{
    gint64 deadline =
        g_get_monotonic_time() +
        (gint64)config->start_timeout_ms * G_TIME_SPAN_MILLISECOND;
    const char *qemu =
        config->qemu != NULL ? config->qemu : rig_vm_default_qemu();
    g_autoptr(GArray) fds = NULL;
    g_autoptr(GError) local_error = NULL;
    g_autoptr(GSubprocessLauncher) launcher = NULL;
    int qmp_listen = -1;
    int qtest_listen = -1;
    int qmp_fd = -1;
    gboolean ok = FALSE;
    volatile pid_t *shared_pid = MAP_FAILED;

    if (!rig_vm_check_qemu(qemu, error)) {
        return FALSE;
    }
    rig_vm_reap_stale_runtime_dirs();
    {
        g_autofree char *tmpl =
            g_strdup_printf(RUNTIME_DIR_PREFIX "%d-XXXXXX", (int)getpid());

        vm->runtime_dir = g_dir_make_tmp(tmpl, error);
    }
    if (vm->runtime_dir == NULL) {
        return FALSE;
    }
    vm->log_path = g_build_filename(vm->runtime_dir, QEMU_LOG, NULL);
    g_autofree char *qmp_path =
        g_build_filename(vm->runtime_dir, QMP_SOCKET, NULL);
    g_autofree char *qtest_path =
        config->qtest ? g_build_filename(vm->runtime_dir, QTEST_SOCKET, NULL)
                      : NULL;
    g_autofree char *halt_bios_path =
        config->halt_firmware ? write_halt_bios(vm->runtime_dir, error) : NULL;
    if (config->halt_firmware && halt_bios_path == NULL) {
        return FALSE;
    }
    RigVmConfig with_ram = *config;
    if (config->shared_ram) {
        if (!shared_ram_create(vm, config->memory_mib, error)) {
            return FALSE;
        }
        with_ram.ram_path = vm->ram_path;
    }
    vm->argv = rig_vm_config_build_argv(&with_ram, qmp_path, qtest_path,
                                        halt_bios_path, &fds, error);
    if (vm->argv == NULL) {
        return FALSE;
    }
    qmp_listen = listen_unix(qmp_path, error);
    if (qmp_listen < 0) {
        goto out;
    }
    if (qtest_path != NULL) {
        qtest_listen = listen_unix(qtest_path, error);
        if (qtest_listen < 0) {
            goto out;
        }
    }

    launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_MERGE);
    g_subprocess_launcher_set_stdin_file_path(launcher, "/dev/null");
    g_subprocess_launcher_set_stdout_file_path(launcher, vm->log_path);
    shared_pid = mmap(NULL, sizeof(*shared_pid), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared_pid == MAP_FAILED) {
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_FAILED,
                    "cannot map a page for QEMU's pid: %s", g_strerror(errno));
        goto out;
    }
    *shared_pid = 0;
    g_subprocess_launcher_set_child_setup(launcher, child_setup,
                                          (gpointer)shared_pid, NULL);
    if (!launcher_take_fds(launcher, fds, error)) {
        goto out;
    }
    vm->process = g_subprocess_launcher_spawnv(
        launcher, (const char *const *)vm->argv, &local_error);
    if (vm->process == NULL) {
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_QEMU_MISSING,
                    "cannot start QEMU %s: %s (run ci/build-qemu, or pass "
                    "--qemu PATH or set RIG_QEMU)",
                    qemu, local_error->message);
        goto out;
    }
    vm->pid = (GPid)*shared_pid;
    g_main_context_push_thread_default(vm->context);
    g_subprocess_wait_async(vm->process, NULL, on_process_exited, vm);
    g_main_context_pop_thread_default(vm->context);

    qmp_fd = accept_qemu(vm, qmp_listen, "QMP", deadline, error);
    if (qmp_fd < 0) {
        goto out;
    }
    vm->qmp = rig_qmp_new_from_fd(qmp_fd);
    if (qtest_listen >= 0) {
        vm->qtest_fd = accept_qemu(vm, qtest_listen, "qtest", deadline, error);
        if (vm->qtest_fd < 0) {
            goto out;
        }
    }
    rig_qmp_set_timeout(vm->qmp, MAX(remaining_ms(deadline), 1));
    if (!rig_qmp_handshake(vm->qmp, NULL, error)) {
        goto out;
    }
    rig_qmp_set_timeout(vm->qmp, RIG_QMP_DEFAULT_TIMEOUT_MS);
    /* QEMU created its memory backends before it connected to QMP. */
    shared_ram_unlink(vm);
    ok = TRUE;
out:
    if (qmp_listen >= 0) {
        close(qmp_listen);
        unlink(qmp_path);
    }
    if (qtest_listen >= 0) {
        close(qtest_listen);
        unlink(qtest_path);
    }
    if (shared_pid != MAP_FAILED) {
        munmap((void *)shared_pid, sizeof(*shared_pid));
    }
    if (!ok) {
        explain_failure(vm, error);
    }
    return ok;
}

RigVm *rig_vm_start(const RigVmConfig *config, GError **error)
{
    g_autoptr(RigVm) vm = NULL;

    if (config->daemonize) {
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_INVALID_CONFIG,
                    "a daemonized VM starts with rig_vm_spawn_daemon()");
        return NULL;
    }
    vm = g_new0(RigVm, 1);

    vm->qtest_fd = -1;
    vm->context = g_main_context_new();
    vm->stop_timeout_ms = MAX(config->stop_timeout_ms, 1);
    if (!spawn_and_connect(vm, config, error)) {
        return NULL;
    }
    return g_steal_pointer(&vm);
}

static gboolean wait_exit(RigVm *vm)
{
    if (!vm->exited) {
        wait_fd_or_exit(vm, -1, vm->stop_timeout_ms);
    }
    return vm->exited;
}

gboolean rig_vm_shutdown(RigVm *vm, GError **error)
{
    if (vm->process == NULL || vm->exited) {
        return TRUE;
    }
    if (vm->qmp != NULL) {
        g_autoptr(GError) quit_error = NULL;
        rig_qmp_set_timeout(vm->qmp, vm->stop_timeout_ms);
        g_autoptr(JsonNode) reply =
            rig_qmp_execute(vm->qmp, "quit", NULL, &quit_error);
        /* QEMU may close the socket before its reply: not an error. */
        if (reply == NULL) {
            g_debug("quit: %s", quit_error->message);
        }
        if (wait_exit(vm)) {
            return TRUE;
        }
    }
    g_subprocess_send_signal(vm->process, SIGTERM);
    if (wait_exit(vm)) {
        return TRUE;
    }
    g_subprocess_force_exit(vm->process);
    if (wait_exit(vm)) {
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_FAILED,
                    "QEMU (pid %d) ignored quit and SIGTERM: killed",
                    (int)vm->pid);
    } else {
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_FAILED,
                    "QEMU (pid %d) survived SIGKILL for %u ms", (int)vm->pid,
                    vm->stop_timeout_ms);
    }
    return FALSE;
}

/* The directory is flat: sockets, the log and the firmware, all ours. */
static void remove_runtime_dir(const char *path)
{
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        g_autofree char *file = g_build_filename(path, name, NULL);
        if (unlink(file) < 0) {
            g_warning("cannot remove %s: %s", file, g_strerror(errno));
        }
    }
    if (rmdir(path) < 0) {
        g_warning("cannot remove %s: %s", path, g_strerror(errno));
    }
}

void rig_vm_free(RigVm *vm)
{
    g_autoptr(GError) error = NULL;

    if (vm == NULL) {
        return;
    }
    if (!rig_vm_shutdown(vm, &error)) {
        g_warning("%s", error->message);
    }
    shared_ram_unlink(vm);
    if (vm->process != NULL && !vm->exited) {
        /*
         * The wait callback still points at @vm: leak it rather than let a
         * late reap write into freed memory.
         */
        return;
    }
    g_clear_pointer(&vm->qmp, rig_qmp_free);
    if (vm->qtest_fd >= 0) {
        close(vm->qtest_fd);
    }
    g_clear_object(&vm->process);
    shared_ram_free(vm);
    if (vm->runtime_dir != NULL) {
        remove_runtime_dir(vm->runtime_dir);
    }
    g_free(vm->runtime_dir);
    g_free(vm->log_path);
    g_strfreev(vm->argv);
    g_main_context_unref(vm->context);
    g_free(vm);
}

RigQmp *rig_vm_get_qmp(RigVm *vm)
{
    return vm->qmp;
}

int rig_vm_get_qtest_fd(RigVm *vm)
{
    return vm->qtest_fd;
}

GPid rig_vm_get_pid(RigVm *vm)
{
    return vm->pid;
}

GSubprocess *rig_vm_get_subprocess(RigVm *vm)
{
    return vm->process;
}

const char *rig_vm_get_runtime_dir(RigVm *vm)
{
    return vm->runtime_dir;
}

const char *const *rig_vm_get_argv(RigVm *vm)
{
    return (const char *const *)vm->argv;
}

gboolean rig_vm_has_exited(RigVm *vm)
{
    /* Let a pending reap notification land without blocking. */
    while (!vm->exited && g_main_context_iteration(vm->context, FALSE)) {
    }
    return vm->exited;
}

char *rig_vm_describe_exit(RigVm *vm)
{
    if (vm->process == NULL || !rig_vm_has_exited(vm)) {
        return g_strdup("still running");
    }
    if (g_subprocess_get_if_signaled(vm->process)) {
        int signum = g_subprocess_get_term_sig(vm->process);
        return g_strdup_printf("was killed by signal %d (%s)", signum,
                               g_strsignal(signum));
    }
    return g_strdup_printf("exited with status %d",
                           g_subprocess_get_exit_status(vm->process));
}

char *rig_vm_get_log_tail(RigVm *vm, guint max_lines)
{
    g_autofree char *contents = NULL;

    if (vm->log_path == NULL ||
        !g_file_get_contents(vm->log_path, &contents, NULL, NULL)) {
        return g_strdup("");
    }
    g_strchomp(contents);
    g_auto(GStrv) lines = g_strsplit(contents, "\n", -1);
    guint count = g_strv_length(lines);
    guint first = count > max_lines ? count - max_lines : 0;
    return g_strjoinv("\n", lines + first);
}

/* Between fork and exec of a QEMU that daemonizes. */
static void daemon_child_setup(gpointer user_data)
{
    setpgid(0, 0);
    /*
     * Only QEMU's foreground parent dies with the rig.  Its daemon (whose
     * PDEATHSIG fork() cleared) then cannot report readiness and exits
     * (os_setup_post() in QEMU's os-posix.c): a VM is either fully started
     * and in its pidfile, or gone.
     */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

gboolean rig_vm_spawn_daemon(const RigVmConfig *config, const char *qmp_path,
                             const char *log_path, GPid *ret_pid,
                             GError **error)
{
    const char *qemu =
        config->qemu != NULL ? config->qemu : rig_vm_default_qemu();
    g_autoptr(GArray) fds = NULL;
    g_autoptr(GSubprocessLauncher) launcher = NULL;
    g_autoptr(GError) local_error = NULL;
    g_autofree char *pid_text = NULL;
    g_auto(GStrv) argv = NULL;
    /* Reuses the launcher's private context to wait with a deadline. */
    RigVm waiter = {.qtest_fd = -1, .log_path = (char *)log_path};
    gint64 pid = 0;
    gboolean ok = FALSE;

    if (!config->daemonize) {
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_INVALID_CONFIG,
                    "rig_vm_spawn_daemon() needs config->daemonize");
        return FALSE;
    }
    if (!rig_vm_check_qemu(qemu, error)) {
        return FALSE;
    }
    argv = rig_vm_config_build_argv(config, qmp_path, NULL, NULL, &fds, error);
    if (argv == NULL) {
        return FALSE;
    }
    launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_MERGE);
    g_subprocess_launcher_set_stdin_file_path(launcher, "/dev/null");
    g_subprocess_launcher_set_stdout_file_path(launcher, log_path);
    g_subprocess_launcher_set_child_setup(launcher, daemon_child_setup, NULL,
                                          NULL);
    if (!launcher_take_fds(launcher, fds, error)) {
        return FALSE;
    }
    waiter.context = g_main_context_new();
    waiter.process = g_subprocess_launcher_spawnv(
        launcher, (const char *const *)argv, &local_error);
    if (waiter.process == NULL) {
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_QEMU_MISSING,
                    "cannot start QEMU %s: %s", qemu, local_error->message);
        goto out;
    }
    g_main_context_push_thread_default(waiter.context);
    g_subprocess_wait_async(waiter.process, NULL, on_process_exited, &waiter);
    g_main_context_pop_thread_default(waiter.context);
    /* The foreground parent exits once the VM is set up. */
    if (wait_fd_or_exit(&waiter, -1, MAX(config->start_timeout_ms, 1)) !=
        WAIT_EXITED) {
        g_subprocess_force_exit(waiter.process);
        wait_fd_or_exit(&waiter, -1, RIG_VM_DEFAULT_STOP_TIMEOUT_MS);
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_TIMEOUT,
                    "QEMU did not finish starting within %u ms",
                    config->start_timeout_ms);
        goto out;
    }
    if (!g_subprocess_get_successful(waiter.process)) {
        g_autofree char *how = rig_vm_describe_exit(&waiter);
        g_autofree char *tail = rig_vm_get_log_tail(&waiter, LOG_TAIL_LINES);

        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_EXITED,
                    "QEMU %s during start: %s", how,
                    tail[0] != '\0' ? tail : "(QEMU printed nothing)");
        goto out;
    }
    if (!g_file_get_contents(config->pidfile, &pid_text, NULL, error)) {
        g_prefix_error(error, "QEMU started but left no pidfile: ");
        goto out;
    }
    pid = g_ascii_strtoll(pid_text, NULL, 10);
    if (pid <= 0) {
        g_set_error(error, RIG_VM_ERROR, RIG_VM_ERROR_FAILED,
                    "pidfile %s holds no pid", config->pidfile);
        goto out;
    }
    *ret_pid = (GPid)pid;
    ok = TRUE;
out:
    if (waiter.process != NULL && !waiter.exited) {
        /* The wait callback points at @waiter: let it land first. */
        wait_fd_or_exit(&waiter, -1, RIG_VM_DEFAULT_STOP_TIMEOUT_MS);
    }
    if (waiter.process == NULL || waiter.exited) {
        g_clear_object(&waiter.process);
        g_main_context_unref(waiter.context);
    }
    return ok;
}
