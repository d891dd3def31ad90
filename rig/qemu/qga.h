/*
 * Client for the QEMU guest agent protocol (qemu-ga, virtio-win's
 * qemu-ga.exe): JSON commands over the host end of the agent's
 * virtio-serial channel (a QEMU unix-socket chardev) or over a qemu-ga
 * listening on a unix socket directly.
 *
 * Unlike QMP the agent sends no greeting and may hold stale replies from
 * an earlier client, so every connection starts with guest-sync-delimited
 * and every wait has a deadline: a VM without a running agent shows up as
 * RIG_QGA_ERROR_NO_AGENT, never as a hang.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#define RIG_QGA_ERROR (rig_qga_error_quark())

typedef enum {
    RIG_QGA_ERROR_CONNECT,      /* socket missing or refused */
    RIG_QGA_ERROR_NO_AGENT,     /* connected, but nobody answered in time */
    RIG_QGA_ERROR_PROTOCOL,     /* malformed or unexpected reply */
    RIG_QGA_ERROR_COMMAND,      /* the agent answered with an error object */
    RIG_QGA_ERROR_EXEC_TIMEOUT, /* guest-exec'd process still running */
    RIG_QGA_ERROR_IO,           /* socket error or EOF mid-conversation */
} QgaError;

typedef struct RigQgaClient RigQgaClient;

/* Outcome of rig_qga_client_exec(). */
typedef struct {
    gint exit_code;     /* valid when !signaled */
    gboolean signaled;  /* the process was killed by a signal */
    GBytes *out;        /* decoded stdout, never NULL */
    GBytes *err;        /* decoded stderr, never NULL */
    gboolean truncated; /* the agent cut stdout or stderr */
} RigQgaExecResult;

/**
 * rig_qga_error_quark:
 * Returns: the GQuark of RIG_QGA_ERROR.
 */
GQuark rig_qga_error_quark(void);

/**
 * rig_qga_client_connect:
 * @socket_path: unix socket of the agent channel
 * @timeout_ms: deadline for the connection and the initial
 *     guest-sync-delimited handshake (also the default for each reply)
 * @error: return location for a RIG_QGA_ERROR
 *
 * Connects and synchronises with the agent.
 *
 * Returns: (transfer full): a client to free with rig_qga_client_free(), or
 *     NULL with @error set (RIG_QGA_ERROR_NO_AGENT when the socket accepted
 *     the connection but no agent answered).
 */
RigQgaClient *rig_qga_client_connect(const char *socket_path, guint timeout_ms,
                                     GError **error);

/**
 * rig_qga_client_free:
 * @client: (nullable) (transfer full): the client; closes its socket
 */
void rig_qga_client_free(RigQgaClient *client);

/**
 * rig_qga_client_execute:
 * @client: a connected client
 * @command: agent command name, e.g. "guest-info"
 * @arguments: (nullable) (transfer none): a JSON object of arguments
 * @timeout_ms: deadline for the reply
 * @error: return location for a RIG_QGA_ERROR
 *
 * Returns: (transfer full): the "return" member of the reply (free with
 *     json_node_unref()), or NULL with @error set; an agent error object
 *     becomes RIG_QGA_ERROR_COMMAND carrying the agent's "desc".
 */
JsonNode *rig_qga_client_execute(RigQgaClient *client, const char *command,
                                 JsonNode *arguments, guint timeout_ms,
                                 GError **error);

/**
 * rig_qga_client_exec:
 * @client: a connected client
 * @path: program to run in the guest
 * @argv: (nullable) (array zero-terminated=1): arguments after @path
 * @input: (nullable) (transfer none): bytes for the program's stdin
 * @timeout_ms: deadline for the program to exit
 * @ret_result: (out) (transfer full): the outcome, set only on success;
 *     free with rig_qga_exec_result_free()
 * @error: return location for a RIG_QGA_ERROR
 *
 * Runs a program with guest-exec, capturing its output, and polls
 * guest-exec-status until it exits; decodes the base64 out-data/err-data.
 * A process that outlives @timeout_ms is RIG_QGA_ERROR_EXEC_TIMEOUT (the agent
 * protocol cannot kill it; it keeps running in the guest).
 *
 * Returns: TRUE on success (whatever the exit code).
 */
gboolean rig_qga_client_exec(RigQgaClient *client, const char *path,
                             const char *const *argv, GBytes *input,
                             guint timeout_ms, RigQgaExecResult **ret_result,
                             GError **error);

/**
 * rig_qga_exec_result_free:
 * @result: (nullable) (transfer full): a result of rig_qga_client_exec()
 */
void rig_qga_exec_result_free(RigQgaExecResult *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RigQgaClient, rig_qga_client_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RigQgaExecResult, rig_qga_exec_result_free)
