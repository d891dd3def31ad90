/*
 * QMP client over a connected stream socket (QEMU's monitor in control
 * mode).  Synchronous: every call blocks with a deadline.  Events that
 * arrive while a command waits for its reply are queued in arrival order and
 * never lost: with an event handler set they are dispatched to it before the
 * command returns; without one they stay queued (the newest
 * RIG_QMP_EVENT_BACKLOG) for rig_qmp_wait_event(), so an event that races
 * ahead of a command's reply (SHUTDOWN before quit's return) is still found.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "qemu/qmp-message.h"

G_BEGIN_DECLS

/* Default deadline of greeting, commands and event waits. */
#define RIG_QMP_DEFAULT_TIMEOUT_MS 10000
/* Events kept for rig_qmp_wait_event() when no handler is set. */
#define RIG_QMP_EVENT_BACKLOG 1024

typedef struct RigQmp RigQmp;

/**
 * RigQmpEventFunc:
 * @qmp: the client that received the event
 * @event: (transfer none): the event (kind RIG_QMP_MESSAGE_EVENT), valid
 *   only during the call
 * @user_data: data passed to rig_qmp_set_event_handler()
 *
 * Called for every event, in arrival order.  It may call rig_qmp_execute();
 * events arriving meanwhile are queued and dispatched after it returns.
 */
typedef void (*RigQmpEventFunc)(RigQmp *qmp, const RigQmpMessage *event,
                                gpointer user_data);

/**
 * rig_qmp_new_from_fd:
 * @fd: a connected stream socket; ownership passes to the client
 *
 * Wraps @fd without reading from it.  Call rig_qmp_handshake() next.
 *
 * Returns: (transfer full): a new client, free with rig_qmp_free().
 */
RigQmp *rig_qmp_new_from_fd(int fd);

/**
 * rig_qmp_connect_unix:
 * @path: a QMP socket QEMU listens on (-chardev socket,server=on)
 * @timeout_ms: deadline of the handshake and of later commands
 * @error: return location; RIG_QMP_ERROR_DISCONNECTED when nothing listens
 *
 * Connects, waits for the greeting and runs qmp_capabilities: how a
 * command reaches a daemonized QEMU (`rig session`) after the rig that
 * started it has exited.
 *
 * Returns: (transfer full): a client ready for commands, or NULL.
 */
RigQmp *rig_qmp_connect_unix(const char *path, guint timeout_ms,
                             GError **error);

/**
 * rig_qmp_free:
 * @qmp: (nullable): a client
 *
 * Closes the socket and frees queued events.  NULL-safe.
 */
void rig_qmp_free(RigQmp *qmp);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RigQmp, rig_qmp_free)

/**
 * rig_qmp_set_timeout:
 * @qmp: a client
 * @timeout_ms: deadline of each later blocking call, in milliseconds (> 0)
 */
void rig_qmp_set_timeout(RigQmp *qmp, guint timeout_ms);

/**
 * rig_qmp_set_event_handler:
 * @qmp: a client
 * @func: (nullable): callback for events; NULL drops events
 * @user_data: passed to @func, not owned
 */
void rig_qmp_set_event_handler(RigQmp *qmp, RigQmpEventFunc func,
                               gpointer user_data);

/**
 * rig_qmp_get_fd:
 * @qmp: a client
 *
 * For callers that watch the socket from a main loop (g_unix_fd_add) and
 * then call rig_qmp_poll_events().
 *
 * Returns: the socket (still owned by @qmp).
 */
int rig_qmp_get_fd(RigQmp *qmp);

/**
 * rig_qmp_handshake:
 * @qmp: a client whose peer has not sent anything yet
 * @ret_greeting: (out) (optional) (transfer full): the greeting's "QMP"
 *   object; set only on success
 * @error: return location for a GError
 *
 * Waits for the greeting (within the timeout), then sends
 * qmp_capabilities and waits for its reply.
 *
 * Returns: TRUE when the monitor is ready for commands.
 */
gboolean rig_qmp_handshake(RigQmp *qmp, JsonNode **ret_greeting,
                           GError **error);

/**
 * rig_qmp_execute:
 * @qmp: a client after rig_qmp_handshake()
 * @command: the QMP command name
 * @arguments: (nullable) (transfer none): a JSON object of arguments
 * @error: return location; a QMP error reply gives its class as the code
 *   (see RigQmpError) and "<Class>: <desc>" as the message
 *
 * Sends one command and waits for the reply with the same id.
 *
 * Returns: (transfer full): the "return" value (free with json_node_unref),
 *   or NULL with @error set.
 */
JsonNode *rig_qmp_execute(RigQmp *qmp, const char *command, JsonNode *arguments,
                          GError **error);

/**
 * rig_qmp_wait_event:
 * @qmp: a client
 * @name: event name to wait for, e.g. "SHUTDOWN"
 * @ret_event: (out) (optional) (transfer full): the event; set only on
 *   success
 * @error: return location for a GError (RIG_QMP_ERROR_TIMEOUT...)
 *
 * Takes the oldest queued event called @name, or waits for the next one; it
 * is handed to @ret_event instead of the event handler.  Other events are
 * dispatched (or stay queued) as usual.
 *
 * Returns: TRUE when the event arrived before the timeout.
 */
gboolean rig_qmp_wait_event(RigQmp *qmp, const char *name,
                            RigQmpMessage **ret_event, GError **error);

/**
 * rig_qmp_poll_events:
 * @qmp: a client
 * @timeout_ms: how long to wait for input: 0 does not block
 * @error: return location for a GError (RIG_QMP_ERROR_DISCONNECTED...)
 *
 * Reads what the peer sent and dispatches the events.
 *
 * Returns: TRUE unless the connection failed.
 */
gboolean rig_qmp_poll_events(RigQmp *qmp, guint timeout_ms, GError **error);

/**
 * rig_qmp_qom_get:
 * @qmp: a client
 * @path: QOM path, e.g. "/machine/peripheral/net0"
 * @property: property name
 * @error: return location for a GError
 *
 * Runs qom-get.
 *
 * Returns: (transfer full): the property value (json_node_unref), or NULL.
 */
JsonNode *rig_qmp_qom_get(RigQmp *qmp, const char *path, const char *property,
                          GError **error);

/**
 * rig_qmp_qom_has_property:
 * @qmp: a client
 * @path: QOM path
 * @property: property name
 * @ret_found: (out): whether @path has @property; set only on success
 * @error: return location; RIG_QMP_ERROR_DEVICE_NOT_FOUND if no @path
 *
 * Runs qom-list on @path and looks for @property.
 *
 * Returns: TRUE when the lookup itself succeeded.
 */
gboolean rig_qmp_qom_has_property(RigQmp *qmp, const char *path,
                                  const char *property, gboolean *ret_found,
                                  GError **error);

/**
 * rig_qmp_find_device_property:
 * @qmp: a client
 * @device_id: the -device id=, e.g. "net0"
 * @property: property name
 * @error: return location; RIG_QMP_ERROR_NOT_SUPPORTED when neither path
 *   has the property, RIG_QMP_ERROR_DEVICE_NOT_FOUND for an unknown id
 *
 * Looks for @property on "/machine/peripheral/<id>" (the PCI proxy) and
 * then on "/machine/peripheral/<id>/virtio-backend" (the virtio device).
 *
 * Returns: (transfer full): the first QOM path that has @property, or NULL.
 */
char *rig_qmp_find_device_property(RigQmp *qmp, const char *device_id,
                                   const char *property, GError **error);

G_END_DECLS
