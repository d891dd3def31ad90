/*
 * Session profiles (hck-profiles/studio-*.ini): what `rig session up`
 * starts, an HCK studio and N clients with their control, test and world
 * networks.  Every key has a default (see hck-profiles/README.md, "Session
 * profiles"); unknown groups and keys are errors, so that a typo cannot
 * silently fall back to a default.  Errors name the file, group and key.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SESSION_PROFILE_ERROR (session_profile_error_quark())

typedef enum {
    SESSION_PROFILE_ERROR_IO,      /* cannot read the file */
    SESSION_PROFILE_ERROR_SYNTAX,  /* not an INI file */
    SESSION_PROFILE_ERROR_INVALID, /* a group or key is wrong */
} SessionProfileError;

#define SESSION_MAX_CLIENTS         8
#define SESSION_MAX_QUEUES          16
#define SESSION_DEFAULT_CLIENTS     2
#define SESSION_DEFAULT_CPUS        2
#define SESSION_DEFAULT_MEMORY_MIB  2048
#define SESSION_DEFAULT_MACHINE     "q35"
#define SESSION_DEFAULT_CONTROL_NIC "e1000e"
#define SESSION_DEFAULT_WORLD_NIC   "e1000e"
#define SESSION_DEFAULT_TEST_NIC    "virtio-net-pci"
/* QEMU's own default drain period of the RSC timer. */
#define SESSION_DEFAULT_RSC_INTERVAL_NS 300000

typedef enum {
    SESSION_FIRMWARE_SEABIOS,
    SESSION_FIRMWARE_OVMF,
} SessionFirmware;

typedef enum {
    SESSION_ACCEL_AUTO, /* KVM when /dev/kvm works, else TCG + warning */
    SESSION_ACCEL_KVM,
    SESSION_ACCEL_TCG,
} SessionAccel;

typedef enum {
    SESSION_DISK_SNAPSHOT, /* -snapshot semantics: writes go to a temp file */
    SESSION_DISK_OVERLAY,  /* qcow2 overlay in the session's state dir */
} SessionDiskMode;

typedef enum {
    SESSION_ROLE_STUDIO,
    SESSION_ROLE_CLIENT,
} SessionRole;

/* A host port forward of the world network: 127.0.0.1:host -> guest. */
typedef struct {
    guint16 host_port; /* 0: the rig picks a free port at `up` */
    guint16 guest_port;
} SessionForward;

/* One VM of the profile. */
typedef struct {
    char *name; /* "studio", "client1", ... */
    SessionRole role;
    guint index; /* 0 for the studio, 1..N for clients */
    guint cpus;
    guint memory_mib;
    char *image_format; /* "qcow2" or "raw" */
    char *kernel;       /* direct kernel boot (Linux test guests), or NULL */
    char *initrd;
    char *append;
    guint8 test_mac[6];    /* clients only: the test NIC's MAC */
    gboolean test_mac_set; /* from the profile, not derived from the id */
    char **trace_events;   /* QEMU trace event patterns, or NULL */
    /* Clients only (what HCK engineers set per client in VirtHCK's
     * hck_setup.cfg and AutoHCK's device JSON): */
    guint queues;     /* test NIC queue pairs (CLIENTx_N_QUEUES); 1 */
    guint link_speed; /* test NIC speed= in Mbit/s; 0: QEMU's default */
    char *extra_nic;  /* model of an extra NIC on the control network
                       * (file transfer), or NULL */
    gboolean world;   /* a world NIC (CLIENT_WORLD_ACCESS) */
} SessionVmSpec;

typedef struct {
    char *path;
    guint clients;
    char *machine;
    SessionFirmware firmware;
    SessionAccel accel;
    char *cpu_model; /* -cpu; NULL ("auto"): host under KVM, max under TCG */
    SessionDiskMode disk_mode;
    char *disk_bus;    /* "ahci" or "virtio" */
    gboolean netns;    /* networks inside a private namespace */
    char *host_bridge; /* control network on this host bridge, or NULL */
    char *control_nic;
    char *test_nic;
    gboolean guest_rsc_ext;
    guint64 rsc_interval_ns;
    char *test_device_options;    /* extra -device properties, or NULL */
    gboolean test_tap_tx_offload; /* keep TX offload on the test taps
                                   * (default off, as VirtHCK's TAP_TX_OFF) */
    gboolean world;
    char *world_nic;
    GArray *forwards; /* SessionForward */
    GPtrArray *vms;   /* SessionVmSpec *: studio first, then clients */
} SessionProfile;

/**
 * session_profile_error_quark:
 * Returns: the GQuark of SESSION_PROFILE_ERROR.
 */
GQuark session_profile_error_quark(void);

/**
 * session_profile_load:
 * @path: an INI file
 * @error: return location; messages read "FILE: [group] key: problem"
 *
 * Returns: (transfer full): the validated profile (session_profile_free()),
 *     or NULL with @error set.
 */
SessionProfile *session_profile_load(const char *path, GError **error);

/**
 * session_profile_load_data:
 * @data: INI text
 * @name: file name used in error messages
 * @error: return location for a SESSION_PROFILE_ERROR
 *
 * Returns: (transfer full): as session_profile_load().
 */
SessionProfile *session_profile_load_data(const char *data, const char *name,
                                          GError **error);

/**
 * session_profile_free:
 * @profile: (nullable) (transfer full): a profile
 */
void session_profile_free(SessionProfile *profile);

/**
 * session_profile_find_vm:
 * @profile: a profile
 * @name: "studio", "client1", ...
 *
 * Returns: (transfer none) (nullable): the VM, or NULL.
 */
SessionVmSpec *session_profile_find_vm(SessionProfile *profile,
                                       const char *name);

/**
 * session_mac_format:
 * @mac: six bytes
 *
 * Returns: (transfer full): "52:54:00:..", lower-case hex.
 */
char *session_mac_format(const guint8 mac[6]);

/**
 * session_mac_for:
 * @session_id: the session id (1..255)
 * @network: 1 control, 2 test, 3 world
 * @vm_index: 0 studio, 1..N clients
 * @ret_mac: (out): 52:54:00:<id>:<network>:<vm_index>; the test NICs of
 *     two clients therefore differ in the last byte, as the HLK RSC test
 *     requires
 */
void session_mac_for(guint session_id, guint network, guint vm_index,
                     guint8 ret_mac[6]);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SessionProfile, session_profile_free)

G_END_DECLS
