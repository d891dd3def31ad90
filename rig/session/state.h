/*
 * A session's state (STATE_ROOT/<id>/state.json) as typed structs: what
 * `rig session up` made, read back by every later command.  The file is
 * validated when it is loaded, because `down` kills the pids and deletes
 * the interfaces it names: a damaged or crafted file gives one error that
 * names it, never a crash, and no name read from it reaches a command
 * unchecked.  A state directory that another user could have written
 * (not owned by root or by us, or group/world-writable) is refused.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "session/profile.h"

G_BEGIN_DECLS

#define SESSION_STATE_VERSION 1
#define SESSION_STATE_FILE    "state.json"

/* One NIC of a VM. */
typedef struct {
    char *id;      /* device id: QOM /machine/peripheral/<id> */
    char *network; /* "control", "test", "world" or "extra" */
    char *model;
    char *mac;
    char *tap;    /* NULL: QEMU user networking (world) */
    char *bridge; /* the bridge the tap is enslaved to */
    guint queues; /* queue pairs (multi-queue tap and virtio-net) */
} SessionNicState;

/* One VM. */
typedef struct {
    char *name; /* "studio", "client1", ... */
    SessionRole role;
    guint index;
    char *image;
    char *qmp; /* sockets and files: all inside the session dir */
    char *qga;
    char *serial;
    char *log;
    char *pidfile;
    char *trace_log;      /* NULL: no trace events */
    gint64 pid;           /* 0: not known yet (read the pidfile) */
    char *accel;          /* "kvm"/"tcg" once started, else NULL */
    char *vnc;            /* "127.0.0.1:5910" once started, else NULL */
    guint64 rsc_interval; /* set-interval's value; 0: the session's */
    GPtrArray *nics;      /* SessionNicState * */
    GArray *forwards;     /* SessionForward, host ports resolved */
} SessionVmState;

typedef struct {
    guint id;
    char *dir;  /* STATE_ROOT/<id> */
    char *path; /* dir/state.json */
    char *profile;
    char *qemu;
    char *accel;
    char *netns;          /* NULL: the host's namespace */
    GPtrArray *bridges;   /* char *: bridges made in the host namespace */
    guint64 rsc_interval; /* the profile's */
    gboolean test_tap_tx_offload; /* the profile keeps it on test taps */
    gint64 keeper_pid;            /* `rig session keep-offloads`, 0: none */
    GPtrArray *vms;               /* SessionVmState * */
} SessionState;

/**
 * session_dir:
 * @state_root: (nullable): state root, NULL for session_state_root()
 * @id: session id
 *
 * Returns: (transfer full): STATE_ROOT/<id>.
 */
char *session_dir(const char *state_root, guint id);

/**
 * session_state_new:
 * @dir: the session's directory
 * @id: the session id
 *
 * Returns: (transfer full): an empty state (no VMs).
 */
SessionState *session_state_new(const char *dir, guint id);

/**
 * session_state_free:
 * @state: (nullable) (transfer full): a state
 */
void session_state_free(SessionState *state);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SessionState, session_state_free)

/**
 * session_vm_state_new:
 * @name: VM name
 *
 * Returns: (transfer full): a VM without NICs (session_vm_state_free()).
 */
SessionVmState *session_vm_state_new(const char *name);

/**
 * session_vm_state_free:
 * @vm: (nullable) (transfer full): a VM
 */
void session_vm_state_free(SessionVmState *vm);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SessionVmState, session_vm_state_free)

/**
 * session_vm_add_nic:
 * @vm: a VM
 *
 * Returns: (transfer none): a new, empty NIC of @vm (one queue).
 */
SessionNicState *session_vm_add_nic(SessionVmState *vm);

/**
 * session_state_load:
 * @state_root: (nullable): state root, NULL for the default
 * @id: session id
 * @error: return location; SESSION_ERROR_FAILED names the file and what
 *     in it is wrong
 *
 * Checks the state root and the session directory (see
 * session_check_private_dir()), reads and validates state.json.
 *
 * Returns: (transfer full): the state, or NULL.
 */
SessionState *session_state_load(const char *state_root, guint id,
                                 GError **error);

/**
 * session_state_from_json:
 * @node: a parsed state.json
 * @dir: the directory it came from
 * @id: the session id its directory name says
 * @error: return location; the message names dir/state.json
 *
 * Returns: (transfer full): the validated state, or NULL.
 */
SessionState *session_state_from_json(JsonNode *node, const char *dir, guint id,
                                      GError **error);

/**
 * session_state_to_json:
 * @state: a state
 *
 * Returns: (transfer full): state.json's content (json_node_unref).
 */
JsonNode *session_state_to_json(const SessionState *state);

/**
 * session_vm_state_to_json:
 * @vm: a VM
 *
 * Returns: (transfer full): the VM's object in state.json.
 */
JsonNode *session_vm_state_to_json(const SessionVmState *vm);

/**
 * session_state_save:
 * @state: a state
 * @error: return location for a GError
 *
 * Writes state.json atomically (0600).
 *
 * Returns: TRUE on success.
 */
gboolean session_state_save(const SessionState *state, GError **error);

/**
 * session_state_find_vm:
 * @state: a state
 * @name: VM name
 *
 * Returns: (transfer none) (nullable): the VM.
 */
SessionVmState *session_state_find_vm(SessionState *state, const char *name);

/**
 * session_vm_find_nic:
 * @vm: a VM
 * @network: "control", "test", ...
 *
 * Returns: (transfer none) (nullable): its first NIC on @network.
 */
SessionNicState *session_vm_find_nic(SessionVmState *vm, const char *network);

/**
 * session_check_private_dir:
 * @path: a directory
 * @error: return location; names the directory and the problem
 *
 * Returns: TRUE when @path is a directory (not a symlink) owned by root or
 *     the effective user and not writable by group or others.
 */
gboolean session_check_private_dir(const char *path, GError **error);

/**
 * session_ifname_valid:
 * @name: (nullable): an interface name read back from a state file
 *
 * Returns: TRUE for 1..15 bytes of [A-Za-z0-9_.-] not starting with '-'
 *     (nothing a command line could take as an option or a shell as
 *     syntax).
 */
gboolean session_ifname_valid(const char *name);

/**
 * session_print_vm_access:
 * @vm: a VM
 * @indent: prefix of every line
 *
 * Prints how to reach the VM (QMP, agent, serial log, trace log), its NICs
 * and port forwards: shared by `up` and `status`.
 */
void session_print_vm_access(const SessionVmState *vm, const char *indent);

G_END_DECLS
