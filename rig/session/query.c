/*
 * `rig session status` and `set-interval`, and what `stats` shares with
 * them: see session.h and query.h.
 */
#include "session/query.h"

#include <stdio.h>
#include <string.h>

#include "qemu/rsc-stats.h"
#include "session/process.h"
#include "session/session.h"
#include "session/state.h"

void session_print_json(JsonNode *node)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *text = NULL;

    json_generator_set_root(gen, node);
    json_generator_set_pretty(gen, TRUE);
    text = json_generator_to_data(gen, NULL);
    printf("%s\n", text);
    fflush(stdout);
}

SessionVmState *session_find_client(SessionState *state, const char *name,
                                    GError **error)
{
    SessionVmState *vm = session_state_find_vm(state, name);

    if (vm == NULL || vm->role != SESSION_ROLE_CLIENT) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_NOT_FOUND,
                    "%s is not a client of session %u (only clients have a "
                    "test NIC)",
                    name, state->id);
        return NULL;
    }
    return vm;
}

/* qom-get of a test NIC property, wherever (proxy or backend) it lives. */
static JsonNode *query_nic_property(RigQmp *qmp, const char *property,
                                    GError **error)
{
    g_autofree char *path =
        rig_qmp_find_device_property(qmp, SESSION_TEST_NIC, property, error);

    if (path == NULL) {
        return NULL;
    }
    return rig_qmp_qom_get(qmp, path, property, error);
}

JsonNode *session_query_rsc_feature(RigQmp *qmp, const char *features,
                                    GError **error)
{
    g_autoptr(JsonNode) args = json_node_new(JSON_NODE_OBJECT);
    g_autoptr(JsonNode) status = NULL;
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *text = NULL;
    JsonObject *a = json_object_new();
    JsonObject *obj;

    json_object_set_string_member(
        a, "path", "/machine/peripheral/" SESSION_TEST_NIC "/virtio-backend");
    json_node_take_object(args, a);
    status = rig_qmp_execute(qmp, "x-query-virtio-status", args, error);
    if (status == NULL) {
        return NULL;
    }
    obj = json_node_get_object(status);
    if (!json_object_has_member(obj, features)) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "x-query-virtio-status has no %s", features);
        return NULL;
    }
    json_generator_set_root(gen, json_object_get_member(obj, features));
    text = json_generator_to_data(gen, NULL);
    return json_node_init_boolean(json_node_alloc(),
                                  strstr(text, "VIRTIO_NET_F_RSC_EXT") != NULL);
}

/* The test NIC's RSC options and whether RSC_EXT was offered and taken. */
static JsonObject *status_test_nic(RigQmp *qmp)
{
    static const char *const props[] = {"guest_rsc_ext", "rsc_interval",
                                        "vectors", NULL};
    /* Offered by QEMU; taken by the guest driver (NetKVM does). */
    static const char *const features[][2] = {
        {"rsc_ext_offered", "host-features"},
        {"rsc_ext_negotiated", "guest-features"}};
    JsonObject *t = json_object_new();

    for (gsize i = 0; props[i] != NULL; i++) {
        g_autoptr(GError) local = NULL;
        JsonNode *v = query_nic_property(qmp, props[i], &local);

        json_object_set_member(t, props[i],
                               v != NULL ? v : json_node_new(JSON_NODE_NULL));
    }
    for (gsize i = 0; i < G_N_ELEMENTS(features); i++) {
        g_autoptr(GError) local = NULL;
        JsonNode *v = session_query_rsc_feature(qmp, features[i][1], &local);

        json_object_set_member(t, features[i][0],
                               v != NULL ? v : json_node_new(JSON_NODE_NULL));
    }
    return t;
}

static JsonNode *status_vm(const SessionVmState *vm, const char *marker)
{
    JsonNode *node = session_vm_state_to_json(vm);
    JsonObject *o = json_node_get_object(node);
    gboolean alive = session_pid_alive(vm->pid, marker);
    g_autoptr(RigQmp) qmp = NULL;
    g_autoptr(GError) error = NULL;

    json_object_set_string_member(o, "process", alive ? "running" : "gone");
    if (alive) {
        qmp = rig_qmp_connect_unix(vm->qmp, SESSION_QMP_TIMEOUT_MS, &error);
    }
    if (qmp != NULL) {
        g_autoptr(JsonNode) st =
            rig_qmp_execute(qmp, "query-status", NULL, &error);

        if (st != NULL && JSON_NODE_HOLDS_OBJECT(st)) {
            json_object_set_string_member(
                o, "run_state",
                json_object_get_string_member_with_default(
                    json_node_get_object(st), "status", "?"));
        }
        if (vm->role == SESSION_ROLE_CLIENT) {
            json_object_set_object_member(o, "test_nic", status_test_nic(qmp));
        }
    }
    if (error != NULL) {
        json_object_set_string_member(o, "problem", error->message);
    }
    return node;
}

/* @yes or @no for a boolean member, "?" for null or missing. */
static const char *status_flag(JsonNode *node, const char *yes, const char *no)
{
    if (node == NULL || !JSON_NODE_HOLDS_VALUE(node)) {
        return "?";
    }
    return json_node_get_boolean(node) ? yes : no;
}

static void status_print_text(const SessionState *state, JsonObject *root)
{
    JsonArray *vms = json_object_get_array_member(root, "vms");

    printf("session %u (%s, profile %s)\n", state->id,
           state->accel != NULL ? state->accel : "?",
           state->profile != NULL ? state->profile : "?");
    if (state->netns != NULL) {
        printf("  namespace %s\n", state->netns);
    }
    for (guint i = 0; i < json_array_get_length(vms); i++) {
        JsonObject *vm = json_array_get_object_element(vms, i);

        printf("  %-8s %s%s%s, pid %" G_GINT64_FORMAT " (%s), VNC %s\n",
               json_object_get_string_member(vm, "name"),
               json_object_get_string_member(vm, "process"),
               json_object_has_member(vm, "run_state") ? "/" : "",
               json_object_get_string_member_with_default(vm, "run_state", ""),
               json_object_get_int_member(vm, "pid"),
               json_object_get_string_member_with_default(vm, "accel", "?"),
               json_object_get_string_member_with_default(vm, "vnc", "?"));
        session_print_vm_access(g_ptr_array_index(state->vms, i),
                                "           ");
        if (json_object_has_member(vm, "test_nic")) {
            JsonObject *t = json_object_get_object_member(vm, "test_nic");
            JsonNode *ext = json_object_get_member(t, "guest_rsc_ext");
            JsonNode *iv = json_object_get_member(t, "rsc_interval");
            JsonNode *off = json_object_get_member(t, "rsc_ext_offered");
            JsonNode *neg = json_object_get_member(t, "rsc_ext_negotiated");
            g_autofree char *interval =
                JSON_NODE_HOLDS_VALUE(iv)
                    ? g_strdup_printf("%" G_GINT64_FORMAT,
                                      json_node_get_int(iv))
                    : g_strdup("?");

            printf("           RSC: guest_rsc_ext=%s rsc_interval=%s ns, "
                   "RSC_EXT offered=%s, negotiated by the guest=%s\n",
                   status_flag(ext, "on", "off"), interval,
                   status_flag(off, "yes", "no"),
                   status_flag(neg, "yes", "no"));
        }
        if (json_object_has_member(vm, "problem")) {
            printf("           problem: %s\n",
                   json_object_get_string_member(vm, "problem"));
        }
    }
    fflush(stdout);
}

gboolean session_status(const char *state_root, guint id, gboolean json,
                        GError **error)
{
    g_autoptr(SessionState) state = session_state_load(state_root, id, error);
    g_autoptr(JsonNode) out = NULL;
    g_autofree char *marker = NULL;
    JsonObject *root;
    JsonArray *vms;

    if (state == NULL) {
        return FALSE;
    }
    marker = g_strconcat(state->dir, "/", NULL);
    out = session_state_to_json(state);
    root = json_node_get_object(out);
    json_object_set_string_member(root, "state_dir", state->dir);
    vms = json_array_new();
    for (guint i = 0; i < state->vms->len; i++) {
        json_array_add_element(
            vms, status_vm(g_ptr_array_index(state->vms, i), marker));
    }
    json_object_set_array_member(root, "vms", vms);
    if (json) {
        session_print_json(out);
    } else {
        status_print_text(state, root);
    }
    return TRUE;
}

/* ---- set-interval -------------------------------------------------- */

gboolean session_set_interval(const char *state_root, guint id, const char *vm,
                              guint64 interval_ns, GError **error)
{
    g_autoptr(SessionState) state = session_state_load(state_root, id, error);
    g_autoptr(RigQmp) qmp = NULL;
    g_autoptr(GError) local = NULL;
    guint64 now = 0;
    SessionVmState *client;

    if (state == NULL) {
        return FALSE;
    }
    client = session_find_client(state, vm, error);
    if (client == NULL) {
        return FALSE;
    }
    qmp = rig_qmp_connect_unix(client->qmp, SESSION_QMP_TIMEOUT_MS, error);
    if (qmp == NULL) {
        return FALSE;
    }
    /* qom-set on the running device, then the value read back. */
    if (!rig_qmp_set_rsc_interval(qmp, SESSION_TEST_NIC, interval_ns, &local)) {
        if (g_error_matches(local, RIG_QMP_ERROR,
                            RIG_QMP_ERROR_NOT_SUPPORTED) ||
            g_error_matches(local, RIG_QMP_ERROR,
                            RIG_QMP_ERROR_GENERIC_ERROR)) {
            g_set_error(error, SESSION_ERROR, SESSION_ERROR_NOT_SUPPORTED,
                        "this QEMU cannot change rsc_interval of a running "
                        "device (%s; the fixed build from ci/build-qemu "
                        "can): set [test] rsc_interval = %" G_GUINT64_FORMAT
                        " in the profile and restart the session (rig "
                        "session down, then up)",
                        local->message, interval_ns);
        } else {
            g_propagate_error(error, g_steal_pointer(&local));
        }
        return FALSE;
    }
    if (!rig_qmp_read_rsc_interval(qmp, SESSION_TEST_NIC, &now, error)) {
        return FALSE;
    }
    client->rsc_interval = now;
    if (!session_state_save(state, error)) {
        return FALSE;
    }
    printf("%s: rsc_interval is now %" G_GUINT64_FORMAT " ns (read back from "
           "the running device)\n",
           vm, now);
    return TRUE;
}
