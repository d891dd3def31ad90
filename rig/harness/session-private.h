/*
 * Shared between the session sources (session.c, session-query.c,
 * session-cli.c); not an API for other modules.
 */
#ifndef RIG_HARNESS_SESSION_PRIVATE_H
#define RIG_HARNESS_SESSION_PRIVATE_H

#include <glib.h>
#include <json-glib/json-glib.h>

#include "harness/session.h"
#include "qemu/qmp.h"

G_BEGIN_DECLS

/* A session's state.json, loaded. */
typedef struct {
    guint id;
    char *dir;      /* STATE_ROOT/<id> */
    JsonNode *root; /* the state object */
} SessionState;

/**
 * session_state_load:
 * @state_root: (nullable): state root
 * @id: session id
 * @error: return location for a GError
 *
 * Returns: (transfer full): the state, or NULL.
 */
SessionState *session_state_load(const char *state_root, guint id,
                                 GError **error);

/**
 * session_state_save:
 * @state: a state
 * @error: return location for a GError
 *
 * Writes state.json atomically.
 *
 * Returns: TRUE on success.
 */
gboolean session_state_save(SessionState *state, GError **error);

/**
 * session_state_free:
 * @state: (nullable) (transfer full): a state
 */
void session_state_free(SessionState *state);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SessionState, session_state_free)

/**
 * session_state_object:
 * @state: a state
 * Returns: (transfer none): its root object.
 */
JsonObject *session_state_object(SessionState *state);

/**
 * session_state_vms:
 * @state: a state
 * Returns: (transfer none): the "vms" array.
 */
JsonArray *session_state_vms(SessionState *state);

/**
 * session_state_find_vm:
 * @state: a state
 * @name: VM name
 * Returns: (transfer none) (nullable): the VM's object.
 */
JsonObject *session_state_find_vm(SessionState *state, const char *name);

/**
 * session_dir:
 * @state_root: (nullable): state root
 * @id: session id
 * Returns: (transfer full): STATE_ROOT/<id>.
 */
char *session_dir(const char *state_root, guint id);

/**
 * session_compare_uint:
 * @a: a guint *
 * @b: a guint *
 * Returns: <0, 0, >0 as *a is less, equal, greater than *b.
 */
gint session_compare_uint(gconstpointer a, gconstpointer b);

/**
 * session_pid_alive:
 * @pid: a pid
 * @marker: (nullable): a string the process's command line must contain
 * Returns: TRUE if the process runs (not a zombie) and matches @marker.
 */
gboolean session_pid_alive(gint64 pid, const char *marker);

/**
 * session_print_vm_access:
 * @vm: (transfer none): one VM of the state file
 * @indent: prefix of every line
 *
 * Prints how to reach the VM (QMP, agent, serial log), its NICs and port
 * forwards: shared by `up` and `status`.
 */
void session_print_vm_access(JsonObject *vm, const char *indent);

/**
 * session_qmp_connect:
 * @path: QMP socket of a VM (QEMU listens)
 * @timeout_ms: deadline of the handshake and later commands
 * @error: return location for a GError
 * Returns: (transfer full): a client after qmp_capabilities, or NULL.
 */
RigQmp *session_qmp_connect(const char *path, guint timeout_ms, GError **error);

G_END_DECLS

#endif /* RIG_HARNESS_SESSION_PRIVATE_H */
