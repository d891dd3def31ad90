/*
 * What the commands that act on a running session (status, stats,
 * set-interval, rsc-cleanup) share: JSON output, the client a command
 * names, and the test NIC's RSC properties over QMP.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "qemu/qmp.h"
#include "session/state.h"

G_BEGIN_DECLS

#define SESSION_QMP_TIMEOUT_MS   5000
#define SESSION_AGENT_TIMEOUT_MS 3000
/* PowerShell's first start on a busy guest can take a while. */
#define SESSION_EXEC_TIMEOUT_MS 60000
/* Device id of every client's test NIC. */
#define SESSION_TEST_NIC "tst"

/**
 * session_print_json:
 * @node: a JSON value
 *
 * Prints it pretty, with a newline, and flushes stdout.
 */
void session_print_json(JsonNode *node);

/**
 * session_find_client:
 * @state: a state
 * @name: a VM name from the command line
 * @error: return location; SESSION_ERROR_NOT_FOUND when @name is not a
 *     client of the session (only clients have a test NIC)
 *
 * Returns: (transfer none): the client, or NULL.
 */
SessionVmState *session_find_client(SessionState *state, const char *name,
                                    GError **error);

/**
 * session_query_rsc_feature:
 * @qmp: a VM's QMP client
 * @features: "host-features" (QEMU offers RSC_EXT) or "guest-features"
 *     (the guest driver took it)
 * @error: return location for a GError
 *
 * Returns: (transfer full): a boolean node: VIRTIO_NET_F_RSC_EXT is in
 *     the test NIC's @features, or NULL.
 */
JsonNode *session_query_rsc_feature(RigQmp *qmp, const char *features,
                                    GError **error);

G_END_DECLS
