/*
 * HCK studio sessions (`rig session`): a studio and N client VMs started
 * from a session profile, daemonized so that they outlive the rig, with
 * their networks, and the commands that act on them later.  A session's
 * state lives in STATE_ROOT/<id>/ (default /run/rsc-rig/sessions; env
 * RIG_SESSION_DIR): state.json plus each VM's QMP and guest-agent sockets,
 * serial log, QEMU log and pidfile.  The session id (1..255, like VirtHCK's
 * UNIQUE_ID) keeps names, MACs and sockets of coexisting sessions apart.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SESSION_ERROR (session_error_quark())

typedef enum {
    SESSION_ERROR_FAILED,
    SESSION_ERROR_USAGE,         /* wrong arguments: exit code 2 */
    SESSION_ERROR_NOT_FOUND,     /* no such session or VM */
    SESSION_ERROR_NOT_SUPPORTED, /* e.g. rsc_interval needs a restart */
    SESSION_ERROR_INTERRUPTED,   /* SIGINT/SIGTERM during `up` */
} SessionError;

#define SESSION_DEFAULT_STATE_ROOT "/run/rsc-rig/sessions"
#define SESSION_MAX_ID             255

typedef struct {
    const char *profile_path;
    GHashTable *images;     /* VM name -> disk image path (not owned) */
    guint id;               /* 0: the lowest free id */
    const char *state_root; /* NULL: session_state_root() */
    const char *qemu;       /* NULL: $RIG_QEMU, else the build's default */
} SessionUpOptions;

/**
 * session_error_quark:
 * Returns: the GQuark of SESSION_ERROR.
 */
GQuark session_error_quark(void);

/**
 * session_state_root:
 * Returns: (transfer none): $RIG_SESSION_DIR, else
 *     SESSION_DEFAULT_STATE_ROOT.
 */
const char *session_state_root(void);

/**
 * session_up:
 * @options: what to start
 * @ret_id: (out): the session id; set only on success
 * @error: return location for a GError
 *
 * Starts every VM of the profile daemonized, with its networks, prints how
 * to reach each VM and returns.  On any failure, and on SIGINT/SIGTERM
 * while it runs, everything started so far is removed again.
 *
 * Returns: TRUE when the whole session runs.
 */
gboolean session_up(const SessionUpOptions *options, guint *ret_id,
                    GError **error);

/**
 * session_down:
 * @state_root: (nullable): state root, NULL for the default
 * @id: session id
 * @error: return location for a GError
 *
 * Stops every VM (QMP quit, then SIGTERM, then SIGKILL), deletes the
 * session's taps, bridges and namespace and its state directory.  Works on
 * a half-dead session (a QEMU killed by hand, a stale pid).
 *
 * Returns: TRUE when nothing of the session is left.
 */
gboolean session_down(const char *state_root, guint id, GError **error);

/**
 * session_list_ids:
 * @state_root: (nullable): state root, NULL for the default
 *
 * Returns: (transfer full): the ids of existing sessions, ascending
 *     (g_array_unref).
 */
GArray *session_list_ids(const char *state_root);

/**
 * session_resolve_id:
 * @state_root: (nullable): state root
 * @id: an id, or 0 for "the only session"
 * @ret_id: (out): the id; set only on success
 * @error: return location; SESSION_ERROR_USAGE when 0 is ambiguous
 *
 * Returns: TRUE on success.
 */
gboolean session_resolve_id(const char *state_root, guint id, guint *ret_id,
                            GError **error);

/**
 * session_status:
 * @state_root: (nullable): state root
 * @id: session id
 * @json: print JSON instead of text
 * @error: return location for a GError
 *
 * Prints each VM's process state, run state (QMP), VNC, sockets, serial
 * log, NICs and the test NICs' RSC properties.
 *
 * Returns: TRUE on success (also when a VM is down: that is reported).
 */
gboolean session_status(const char *state_root, guint id, gboolean json,
                        GError **error);

/**
 * session_stats:
 * @state_root: (nullable): state root
 * @id: session id
 * @vm: (nullable): one VM, or NULL for every client
 * @json: print JSON instead of text
 * @error: return location for a GError
 *
 * Prints the device view (QEMU's rsc-stats over QMP) and the guest view
 * (Windows RSC statistics through the guest agent) side by side, and
 * checks the relations that hold between them (see session-stats.h).  A
 * missing agent, PowerShell or driver is a message in the output, not an
 * error.  With @reset, NetKVM's rx counters are zeroed first
 * (NetKvm_DiagReset), e.g. before an HLK test.
 *
 * Returns: TRUE on success.
 */
gboolean session_stats(const char *state_root, guint id, const char *vm,
                       gboolean json, gboolean reset, GError **error);

/**
 * session_rsc_cleanup:
 * @state_root: (nullable): state root
 * @id: session id
 * @vm: a client
 * @error: return location; the guest agent's or pnputil's failure
 *
 * Removes the helper drivers the HLK "Run RSC Tests" leaves behind
 * (coalesce.sys, spartadrv.sys, netcapdrv6.sys: the driver packages whose
 * .inf names them, with pnputil, and the .sys files), through the guest
 * agent, as VirtHCK's guest_tools/RSC-cleanup.cmd does by hand.  The test
 * can not run again before they are gone; a reboot of the guest is still
 * recommended.
 *
 * Returns: TRUE when nothing of them is left.
 */
gboolean session_rsc_cleanup(const char *state_root, guint id, const char *vm,
                             GError **error);

/**
 * session_set_interval:
 * @state_root: (nullable): state root
 * @id: session id
 * @vm: a client
 * @interval_ns: the new rsc_interval
 * @error: return location; SESSION_ERROR_NOT_SUPPORTED when this QEMU
 *     cannot change it at run time (the message says to restart)
 *
 * Returns: TRUE when the running device took the new value.
 */
gboolean session_set_interval(const char *state_root, guint id, const char *vm,
                              guint64 interval_ns, GError **error);

/**
 * session_cli_main:
 * @argc: argument count, argv[0] being "session"
 * @argv: arguments
 *
 * The `rig session` command line (`rig session --help`).
 *
 * Returns: the process exit code: 0 success, 1 failure, 2 usage error,
 *     3 not supported (set-interval needs a restart), 130 interrupted.
 */
int session_cli_main(int argc, char **argv);

G_END_DECLS
