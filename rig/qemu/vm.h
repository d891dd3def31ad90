/*
 * Starting and stopping one QEMU process from a structured description.
 *
 * QEMU is spawned with an argv vector (GSubprocess, never a shell), in its
 * own process group (a terminal's Ctrl-C reaches the rig, which then shuts
 * QEMU down in order) and with PR_SET_PDEATHSIG so it cannot outlive a
 * killed rig.  The rig listens on the QMP (and qtest) unix sockets in a
 * private 0700 runtime directory and QEMU connects to them, as libqtest
 * does: no polling for a socket file.  QEMU's stdout and stderr go to
 * qemu.log in that directory; errors quote its tail.
 */
#pragma once

#include <gio/gio.h>
#include <glib.h>

#include "qemu/qmp.h"

G_BEGIN_DECLS

#define RIG_VM_ERROR (rig_vm_error_quark())

typedef enum {
    RIG_VM_ERROR_FAILED,
    RIG_VM_ERROR_QEMU_MISSING,   /* binary absent or not executable */
    RIG_VM_ERROR_INVALID_CONFIG, /* description cannot be turned into argv */
    RIG_VM_ERROR_EXITED,         /* QEMU exited during start */
    RIG_VM_ERROR_TIMEOUT,        /* QEMU did not connect/greet in time */
} RigVmError;

/* Defaults of RigVmConfig. */
#define RIG_VM_DEFAULT_MACHINE          "q35"
#define RIG_VM_DEFAULT_ACCEL            "qtest"
#define RIG_VM_DEFAULT_MEMORY_MIB       128
#define RIG_VM_DEFAULT_START_TIMEOUT_MS 10000
#define RIG_VM_DEFAULT_STOP_TIMEOUT_MS  3000

/* One virtio-net-pci with a tap backend. */
typedef struct {
    char *id;                 /* device id= (QOM /machine/peripheral/<id>) */
    char *mac;                /* "52:54:00:..", NULL: QEMU's default */
    gboolean guest_rsc_ext;   /* offer VIRTIO_NET_F_RSC_EXT (default TRUE) */
    gint64 rsc_interval_ns;   /* < 0: QEMU's default (300000) */
    gboolean no_rom;          /* romfile= (no option ROM; default TRUE) */
    int tap_fd;               /* tap fd (IFF_VNET_HDR), owned by the config;
                               * QEMU gets a duplicate: -netdev tap,fd= */
    char *tap_ifname;         /* used when tap_fd < 0: -netdev tap,ifname=
                               * (QEMU opens it in its own namespace) */
    char *extra_props;        /* appended to -device, e.g. "mq=off" */
    char *model;              /* -device driver; NULL: virtio-net-pci.  The
                               * RSC options go to virtio-net models only */
    gboolean netkvm_offloads; /* the features NetKVM needs to ack RSC_EXT
                               * (CTRL_VQ, CTRL_GUEST_OFFLOADS, GUEST_CSUM,
                               * GUEST_TSO4/6) switched on explicitly */
    GArray *queue_fds;        /* int: tap fds of queues 2.. (IFF_MULTI_QUEUE),
                               * owned; with any, -netdev fds=, mq=on and
                               * vectors = 2 * queues + 2 */
    guint speed_mbps;         /* virtio-net speed= (duplex=full); 0: unset */
    gboolean user;            /* QEMU user networking instead of a tap */
    GArray *host_forwards;    /* user: guint16 pairs {host, guest}, each a
                               * hostfwd from 127.0.0.1:host */
} RigVmNic;

/* A disk image (-drive if=none + a device). */
typedef struct {
    char *path;        /* commas are escaped for QEMU */
    char *format;      /* "qcow2", "raw" */
    gboolean snapshot; /* writes go to a temporary file */
    gboolean virtio;   /* virtio-blk-pci; FALSE: ide-hd on the AHCI bus */
} RigVmDisk;

/* What to start.  Members are owned by the config. */
typedef struct {
    char *qemu;               /* binary; NULL: rig_vm_default_qemu() */
    char *machine;            /* -M */
    char *accel;              /* -accel; NULL: QEMU's choice */
    guint memory_mib;         /* -m */
    gboolean qtest;           /* -qtest (-accel qtest: no vCPU runs); the
                               * rig accepts the connection, see
                               * rig_vm_get_qtest_fd() */
    GPtrArray *nics;          /* RigVmNic *, rig_vm_config_add_nic() */
    GPtrArray *firmware_dirs; /* char *, each passed as -L (existing
                               * Debian seabios/ipxe dirs by default) */
    gboolean halt_firmware;   /* -bios of 64 KiB of hlt, written to the
                               * runtime dir: the vCPU halts at reset, so
                               * neither SeaBIOS nor an option ROM touches
                               * the devices (for a QEMU without -accel
                               * qtest, or when QEMU's clocks must run) */
    GPtrArray *extra_args;    /* char *, appended verbatim to argv */
    /*
     * Guest RAM the rig maps itself: the launcher creates a file of
     * memory_mib MiB in a private 0700 directory under /dev/shm, maps it
     * and starts QEMU with -object memory-backend-file,share=on on it
     * (-machine memory-backend=); the file and directory are unlinked once
     * QEMU has opened them.  See rig_vm_get_shared_ram().
     */
    gboolean shared_ram;
    /* Set by the launcher while building argv for shared_ram (read-only
     * for callers; rig_vm_config_build_argv() turns it into -object). */
    char *ram_path;
    guint start_timeout_ms;
    guint stop_timeout_ms; /* per step of quit, SIGTERM, SIGKILL */

    /* A real guest (rig session): all off/NULL by default. */
    char *name;       /* -name NAME,process=NAME */
    char *cpu;        /* -cpu */
    guint cpus;       /* -smp; 0: QEMU's default */
    GPtrArray *disks; /* RigVmDisk *, rig_vm_config_add_disk() */
    char *kernel;     /* direct kernel boot */
    char *initrd;
    char *append;
    char *pflash_code;       /* UEFI code (read-only pflash unit 0) */
    char *pflash_vars;       /* this VM's UEFI variables (pflash unit 1) */
    gboolean vga;            /* -device VGA */
    gint vnc_display;        /* -vnc 127.0.0.1:N,to=99 (first free display from
                              * N); < 0 (default): no VNC */
    char *serial_log;        /* serial port 0 written to this file */
    char *agent_socket;      /* guest agent port (org.qemu.guest_agent.0) on
                              * this unix socket, QEMU listening */
    GPtrArray *trace_events; /* char *: -trace enable=PATTERN each */
    char *trace_log;         /* -D: the trace backend's log file */
    gboolean daemonize;      /* -daemonize -pidfile, QMP socket QEMU listens
                              * on: rig_vm_spawn_daemon() */
    char *pidfile;
} RigVmConfig;

typedef struct RigVm RigVm;

/**
 * rig_vm_error_quark:
 *
 * Returns: the GQuark of the RIG_VM_ERROR domain.
 */
GQuark rig_vm_error_quark(void);

/**
 * rig_vm_default_qemu:
 *
 * Returns: (transfer none): $RIG_QEMU if set and non-empty, else the build's
 *   RIG_DEFAULT_QEMU (may be ""; ci/build-qemu provides it).
 */
const char *rig_vm_default_qemu(void);

/**
 * rig_vm_check_qemu:
 * @qemu: (nullable): path of a QEMU binary
 * @error: return location; RIG_VM_ERROR_QEMU_MISSING names the path and
 *   says to run ci/build-qemu (or to pass --qemu / set RIG_QEMU)
 *
 * Cheap check before any set-up: the file exists and is executable.
 *
 * Returns: TRUE when @qemu can be executed.
 */
gboolean rig_vm_check_qemu(const char *qemu, GError **error);

/**
 * rig_vm_config_new:
 *
 * Returns: (transfer full): a config with the RIG_VM_DEFAULT_* values,
 *   qtest off, no NICs; free with rig_vm_config_free().
 */
RigVmConfig *rig_vm_config_new(void);

/**
 * rig_vm_config_free:
 * @config: (nullable): a config
 *
 * Frees it and closes the NICs' tap fds.  NULL-safe.
 */
void rig_vm_config_free(RigVmConfig *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RigVmConfig, rig_vm_config_free)

/**
 * rig_vm_config_add_nic:
 * @config: a config
 * @id: device id
 * @tap_fd: tap fd whose ownership passes to @config, or -1 (then set
 *   tap_ifname)
 *
 * Returns: (transfer none): the new NIC, owned by @config, with defaults
 *   (guest_rsc_ext on, QEMU's rsc_interval, no option ROM) to adjust.
 */
RigVmNic *rig_vm_config_add_nic(RigVmConfig *config, const char *id,
                                int tap_fd);

/**
 * rig_vm_nic_queues:
 * @nic: a NIC
 *
 * Returns: its number of queue pairs (1 + queue_fds).
 */
guint rig_vm_nic_queues(const RigVmNic *nic);

/**
 * rig_vm_config_add_disk:
 * @config: a config
 * @path: image path
 * @format: "qcow2" or "raw"
 *
 * Returns: (transfer none): the new disk (not snapshot, IDE), owned by
 *   @config.
 */
RigVmDisk *rig_vm_config_add_disk(RigVmConfig *config, const char *path,
                                  const char *format);

/**
 * rig_vm_config_build_argv:
 * @config: a config
 * @qmp_path: QMP socket path the rig listens on
 * @qtest_path: (nullable): qtest socket path, or NULL without qtest
 * @halt_bios_path: (nullable): the halt-only firmware file, required when
 *   config->halt_firmware is set
 * @ret_fds: (out) (transfer full): for each tap NIC, the fd QEMU sees
 *   (source fd = the NIC's tap_fd, target fd = index 3 + n): pairs
 *   {source, target} flattened; set only on success
 * @error: return location for RIG_VM_ERROR_INVALID_CONFIG
 *
 * Pure: builds QEMU's argv from the description (exposed for tests and for
 * printing a reproducible command line).
 *
 * Returns: (transfer full): NULL-terminated argv (g_strfreev), or NULL.
 */
char **rig_vm_config_build_argv(const RigVmConfig *config, const char *qmp_path,
                                const char *qtest_path,
                                const char *halt_bios_path, GArray **ret_fds,
                                GError **error);

/**
 * rig_vm_start:
 * @config: (transfer none): what to start (not modified; tap fds are
 *   duplicated, the caller may free @config afterwards)
 * @error: return location; RIG_VM_ERROR_QEMU_MISSING names the path and
 *   says to run ci/build-qemu, RIG_VM_ERROR_EXITED quotes QEMU's stderr
 *
 * Spawns QEMU, accepts its QMP (and qtest) connection, waits for the
 * greeting and runs qmp_capabilities, all within start_timeout_ms.  On any
 * failure QEMU is killed and reaped and the runtime directory removed.
 *
 * Returns: (transfer full): the running VM; rig_vm_free() shuts it down.
 */
RigVm *rig_vm_start(const RigVmConfig *config, GError **error);

/**
 * rig_vm_spawn_daemon:
 * @config: (transfer none): a config with daemonize and pidfile set
 * @qmp_path: the QMP socket QEMU is to listen on
 * @log_path: QEMU's stdout and stderr until it daemonizes
 * @ret_pid: (out): the daemon's pid (from the pidfile); set only on success
 * @error: return location; RIG_VM_ERROR_EXITED when QEMU itself refused
 *   to start (the message quotes its log), RIG_VM_ERROR_TIMEOUT
 *
 * Starts a QEMU that outlives the rig (rig session).  If the rig dies
 * while QEMU starts, QEMU's foreground parent dies with it and the daemon
 * exits before it is ready, so no VM is left that its pidfile and the
 * caller do not know about.
 *
 * Returns: TRUE when the VM runs.
 */
gboolean rig_vm_spawn_daemon(const RigVmConfig *config, const char *qmp_path,
                             const char *log_path, GPid *ret_pid,
                             GError **error);

/**
 * rig_vm_free:
 * @vm: (nullable): a VM
 *
 * Shuts QEMU down if it still runs (QMP quit, then SIGTERM, then SIGKILL,
 * each with stop_timeout_ms), reaps it, closes the sockets and removes the
 * runtime directory.  NULL-safe.
 */
void rig_vm_free(RigVm *vm);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RigVm, rig_vm_free)

/**
 * rig_vm_shutdown:
 * @vm: a VM
 * @error: return location; set when QEMU needed SIGKILL or could not be
 *   reaped
 *
 * Same sequence as rig_vm_free() without freeing; idempotent.
 *
 * Returns: TRUE if QEMU ended on quit or SIGTERM (or had already exited).
 */
gboolean rig_vm_shutdown(RigVm *vm, GError **error);

/**
 * rig_vm_get_qmp:
 * @vm: a VM
 *
 * Returns: (transfer none): its QMP client, ready for commands.
 */
RigQmp *rig_vm_get_qmp(RigVm *vm);

/**
 * rig_vm_get_qtest_fd:
 * @vm: a VM started with qtest
 *
 * Returns: the connected qtest socket (owned by @vm), or -1.
 */
int rig_vm_get_qtest_fd(RigVm *vm);

/**
 * rig_vm_get_shared_ram:
 * @vm: a started VM
 * @ret_size: (out) (optional): bytes of the mapping
 *
 * Returns: (transfer none) (nullable): guest RAM (guest physical address 0
 *   at the returned pointer) when the config asked for shared_ram, else
 *   NULL.  Valid until rig_vm_free().
 */
void *rig_vm_get_shared_ram(RigVm *vm, gsize *ret_size);

/**
 * rig_vm_get_pid:
 * @vm: a VM
 *
 * Returns: QEMU's pid (still valid as a number after it exited).
 */
GPid rig_vm_get_pid(RigVm *vm);

/**
 * rig_vm_get_subprocess:
 * @vm: a VM
 *
 * For g_subprocess_wait_async() from the caller's main loop, to learn that
 * QEMU died.  Do not force_exit it: use rig_vm_shutdown().
 *
 * Returns: (transfer none): the QEMU process.
 */
GSubprocess *rig_vm_get_subprocess(RigVm *vm);

/**
 * rig_vm_reap_stale_runtime_dirs:
 *
 * Removes the runtime directories (g_get_tmp_dir()/rig-qemu-<pid>-XXXXXX,
 * sockets and log) and shared guest RAM (/dev/shm/rig-ram-<pid>-XXXXXX)
 * that a rig killed before its clean-up left, once their process is gone;
 * rig_vm_start() calls it, as rig_netns_new() reaps stale namespaces.
 *
 * Returns: how many were removed.
 */
guint rig_vm_reap_stale_runtime_dirs(void);

/**
 * rig_vm_get_runtime_dir:
 * @vm: a VM
 *
 * Returns: (transfer none): the private 0700 directory with the sockets and
 *   qemu.log (removed by rig_vm_free()).
 */
const char *rig_vm_get_runtime_dir(RigVm *vm);

/**
 * rig_vm_get_argv:
 * @vm: a VM
 *
 * Returns: (transfer none): the argv QEMU was started with.
 */
const char *const *rig_vm_get_argv(RigVm *vm);

/**
 * rig_vm_has_exited:
 * @vm: a VM
 *
 * Does not block.
 *
 * Returns: TRUE once QEMU has exited and was reaped.
 */
gboolean rig_vm_has_exited(RigVm *vm);

/**
 * rig_vm_describe_exit:
 * @vm: a VM that has exited (see rig_vm_has_exited())
 *
 * Returns: (transfer full): e.g. "exited with status 1" or "was killed by
 * signal 9 (Killed)", or "still running".
 */
char *rig_vm_describe_exit(RigVm *vm);

/**
 * rig_vm_get_log_tail:
 * @vm: a VM
 * @max_lines: how many lines at most
 *
 * Returns: (transfer full): the last lines of QEMU's stdout/stderr, "" when
 *   it printed nothing.
 */
char *rig_vm_get_log_tail(RigVm *vm, guint max_lines);

G_END_DECLS
