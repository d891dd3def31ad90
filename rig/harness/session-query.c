/*
 * `rig session status`, `stats` and `set-interval`: see session.h.
 */
#include "harness/session-private.h"

#include <stdio.h>
#include <string.h>

#include "harness/session-winstats.h"
#include "qemu/qga.h"
#include "qemu/rsc-stats.h"

#define QUERY_QMP_TIMEOUT_MS   5000
#define QUERY_AGENT_TIMEOUT_MS 3000
/* PowerShell's first start on a busy guest can take a while. */
#define QUERY_EXEC_TIMEOUT_MS 60000
#define TEST_NIC              "tst"
/* Widths of the device and guest columns of `stats` (text). */
#define STATS_COLUMN_WIDTH 44
#define STATS_GUEST_WIDTH  52

static void print_json(JsonNode *node)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *text = NULL;

    json_generator_set_root(gen, node);
    json_generator_set_pretty(gen, TRUE);
    text = json_generator_to_data(gen, NULL);
    printf("%s\n", text);
    fflush(stdout);
}

static gboolean vm_is_client(JsonObject *vm)
{
    return g_str_equal(json_object_get_string_member(vm, "role"), "client");
}

/* qom-get of a test NIC property, wherever (proxy or backend) it lives. */
static JsonNode *query_nic_property(RigQmp *qmp, const char *property,
                                    GError **error)
{
    g_autofree char *path =
        rig_qmp_find_device_property(qmp, TEST_NIC, property, error);

    if (path == NULL) {
        return NULL;
    }
    return rig_qmp_qom_get(qmp, path, property, error);
}

/*
 * Whether VIRTIO_NET_F_RSC_EXT is in the test NIC's @features
 * ("host-features": QEMU offers it; "guest-features": the driver took it).
 */
static JsonNode *query_rsc_feature(RigQmp *qmp, const char *features,
                                   GError **error)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) args = NULL;
    g_autoptr(JsonNode) status = NULL;
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *text = NULL;
    JsonObject *obj;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "path");
    json_builder_add_string_value(b, "/machine/peripheral/" TEST_NIC
                                     "/virtio-backend");
    json_builder_end_object(b);
    args = json_builder_get_root(b);
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

static void status_vm(JsonBuilder *b, JsonObject *vm, const char *marker)
{
    gint64 pid = json_object_get_int_member_with_default(vm, "pid", 0);
    gboolean alive = session_pid_alive(pid, marker);
    g_autoptr(RigQmp) qmp = NULL;
    g_autoptr(GError) error = NULL;
    GList *members = json_object_get_members(vm);

    json_builder_begin_object(b);
    for (GList *l = members; l != NULL; l = l->next) {
        json_builder_set_member_name(b, l->data);
        json_builder_add_value(
            b, json_node_copy(json_object_get_member(vm, l->data)));
    }
    g_list_free(members);
    json_builder_set_member_name(b, "process");
    json_builder_add_string_value(b, alive ? "running" : "gone");
    if (alive) {
        qmp = session_qmp_connect(json_object_get_string_member(vm, "qmp"),
                                  QUERY_QMP_TIMEOUT_MS, &error);
    }
    if (qmp != NULL) {
        g_autoptr(JsonNode) st =
            rig_qmp_execute(qmp, "query-status", NULL, &error);

        if (st != NULL && JSON_NODE_HOLDS_OBJECT(st)) {
            json_builder_set_member_name(b, "run_state");
            json_builder_add_string_value(
                b, json_object_get_string_member_with_default(
                       json_node_get_object(st), "status", "?"));
        }
        if (vm_is_client(vm)) {
            static const char *const props[] = {"guest_rsc_ext", "rsc_interval",
                                                NULL};
            /* Offered by QEMU; taken by the guest driver (NetKVM does). */
            static const char *const features[][2] = {
                {"rsc_ext_offered", "host-features"},
                {"rsc_ext_negotiated", "guest-features"}};

            json_builder_set_member_name(b, "test_nic");
            json_builder_begin_object(b);
            for (gsize i = 0; props[i] != NULL; i++) {
                g_autoptr(GError) local = NULL;
                g_autoptr(JsonNode) v =
                    query_nic_property(qmp, props[i], &local);

                json_builder_set_member_name(b, props[i]);
                if (v != NULL) {
                    json_builder_add_value(b, g_steal_pointer(&v));
                } else {
                    json_builder_add_null_value(b);
                }
            }
            for (gsize i = 0; i < G_N_ELEMENTS(features); i++) {
                g_autoptr(GError) local = NULL;
                JsonNode *v = query_rsc_feature(qmp, features[i][1], &local);

                json_builder_set_member_name(b, features[i][0]);
                if (v != NULL) {
                    json_builder_add_value(b, v);
                } else {
                    json_builder_add_null_value(b);
                }
            }
            json_builder_end_object(b);
        }
    }
    if (error != NULL) {
        json_builder_set_member_name(b, "problem");
        json_builder_add_string_value(b, error->message);
    }
    json_builder_end_object(b);
}

/* @yes or @no for a boolean member, "?" for null or missing. */
static const char *status_flag(JsonNode *node, const char *yes, const char *no)
{
    if (node == NULL || !JSON_NODE_HOLDS_VALUE(node)) {
        return "?";
    }
    return json_node_get_boolean(node) ? yes : no;
}

void session_print_vm_access(JsonObject *vm, const char *indent)
{
    JsonArray *nics = json_object_get_array_member(vm, "nics");
    JsonArray *fwd = json_object_has_member(vm, "forwards")
                         ? json_object_get_array_member(vm, "forwards")
                         : NULL;

    printf("%sQMP %s\n%sagent %s\n%sserial log %s\n", indent,
           json_object_get_string_member(vm, "qmp"), indent,
           json_object_get_string_member(vm, "qga"), indent,
           json_object_get_string_member(vm, "serial"));
    for (guint j = 0; j < json_array_get_length(nics); j++) {
        JsonObject *nic = json_array_get_object_element(nics, j);

        printf("%s%s NIC %s %s%s%s\n", indent,
               json_object_get_string_member(nic, "network"),
               json_object_get_string_member(nic, "model"),
               json_object_get_string_member(nic, "mac"),
               json_object_has_member(nic, "tap") ? " tap " : "",
               json_object_get_string_member_with_default(nic, "tap", ""));
    }
    for (guint j = 0; fwd != NULL && j < json_array_get_length(fwd); j++) {
        JsonObject *f = json_array_get_object_element(fwd, j);

        printf("%sforward 127.0.0.1:%" G_GINT64_FORMAT
               " -> guest port %" G_GINT64_FORMAT "\n",
               indent, json_object_get_int_member(f, "host"),
               json_object_get_int_member(f, "guest"));
    }
}

static void status_print_text(JsonObject *root)
{
    JsonArray *vms = json_object_get_array_member(root, "vms");

    printf("session %" G_GINT64_FORMAT " (%s, profile %s)\n",
           json_object_get_int_member(root, "id"),
           json_object_get_string_member(root, "accel"),
           json_object_get_string_member(root, "profile"));
    if (json_object_get_string_member_with_default(root, "netns", NULL)) {
        printf("  namespace %s\n",
               json_object_get_string_member(root, "netns"));
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
        session_print_vm_access(vm, "           ");
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
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) out = NULL;
    JsonObject *root;
    JsonArray *vms;
    GList *members;

    if (state == NULL) {
        return FALSE;
    }
    root = session_state_object(state);
    vms = session_state_vms(state);
    json_builder_begin_object(b);
    members = json_object_get_members(root);
    for (GList *l = members; l != NULL; l = l->next) {
        if (g_str_equal(l->data, "vms")) {
            continue;
        }
        json_builder_set_member_name(b, l->data);
        json_builder_add_value(
            b, json_node_copy(json_object_get_member(root, l->data)));
    }
    g_list_free(members);
    json_builder_set_member_name(b, "state_dir");
    json_builder_add_string_value(b, state->dir);
    json_builder_set_member_name(b, "vms");
    json_builder_begin_array(b);
    for (guint i = 0; i < json_array_get_length(vms); i++) {
        status_vm(b, json_array_get_object_element(vms, i), state->dir);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    out = json_builder_get_root(b);
    if (json) {
        print_json(out);
    } else {
        status_print_text(json_node_get_object(out));
    }
    return TRUE;
}

/* ---- stats ---------------------------------------------------------- */

typedef struct {
    char *name;
    char *mac;
    gboolean device_ok;
    RigRscStats device;
    int negotiated; /* RSC_EXT taken by the guest driver: 1, 0, -1 unknown */
    char *device_problem;
    SessionWinReport *guest;
    char *guest_problem;
} StatsEntry;

static void stats_entry_free(StatsEntry *e)
{
    g_free(e->name);
    g_free(e->mac);
    g_free(e->device_problem);
    session_win_report_free(e->guest);
    g_free(e->guest_problem);
    g_free(e);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(StatsEntry, stats_entry_free)

static const char *vm_test_mac(JsonObject *vm)
{
    JsonArray *nics = json_object_get_array_member(vm, "nics");

    for (guint i = 0; i < json_array_get_length(nics); i++) {
        JsonObject *nic = json_array_get_object_element(nics, i);

        if (g_str_equal(json_object_get_string_member(nic, "network"),
                        "test")) {
            return json_object_get_string_member(nic, "mac");
        }
    }
    return NULL;
}

/* Turns agent failures into one sentence that says what is missing. */
static char *stats_agent_problem(const GError *error)
{
    if (g_error_matches(error, QGA_ERROR, QGA_ERROR_NO_AGENT)) {
        return g_strdup("no guest agent answers: install and start the QEMU "
                        "guest agent in the guest (virtio-win guest tools, "
                        "service \"QEMU Guest Agent\")");
    }
    if (g_error_matches(error, QGA_ERROR, QGA_ERROR_COMMAND)) {
        return g_strdup_printf("the guest agent cannot run powershell.exe "
                               "(not a Windows guest?): %s",
                               error->message);
    }
    if (g_error_matches(error, QGA_ERROR, QGA_ERROR_EXEC_TIMEOUT)) {
        return g_strdup_printf("PowerShell did not finish: %s", error->message);
    }
    return g_strdup_printf("guest agent: %s", error->message);
}

static void stats_guest_view(StatsEntry *e, JsonObject *vm)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(QgaClient) qga = NULL;
    g_autoptr(QgaExecResult) result = NULL;
    g_autofree char *script = session_winstats_script(e->mac);
    g_autofree char *encoded = session_winstats_encode_command(script);
    const char *const args[] = {
        "-NoProfile", "-NonInteractive", "-ExecutionPolicy",
        "Bypass",     "-EncodedCommand", encoded,
        NULL};
    g_autofree char *out = NULL;
    gsize len = 0;
    const char *data;

    qga = qga_client_connect(json_object_get_string_member(vm, "qga"),
                             QUERY_AGENT_TIMEOUT_MS, &error);
    if (qga == NULL ||
        !qga_client_exec(qga, "powershell.exe", args, NULL,
                         QUERY_EXEC_TIMEOUT_MS, &result, &error)) {
        e->guest_problem = stats_agent_problem(error);
        return;
    }
    data = g_bytes_get_data(result->out, &len);
    out = g_strndup(data, len);
    e->guest = session_winstats_parse_report(out, &error);
    if (e->guest == NULL) {
        gsize elen = 0;
        const char *err = g_bytes_get_data(result->err, &elen);
        g_autofree char *err_text =
            elen > 0 ? g_strndup(err, MIN(elen, 300)) : g_strdup("");

        e->guest_problem = g_strdup_printf(
            "%s (PowerShell exit %d%s%s)", error->message, result->exit_code,
            elen > 0 ? ": " : "", g_strstrip(err_text));
    }
}

static StatsEntry *stats_collect(JsonObject *vm, const char *marker)
{
    g_autoptr(StatsEntry) e = g_new0(StatsEntry, 1);
    g_autoptr(GError) error = NULL;
    g_autoptr(RigQmp) qmp = NULL;

    e->name = g_strdup(json_object_get_string_member(vm, "name"));
    e->mac = g_strdup(vm_test_mac(vm));
    if (!session_pid_alive(json_object_get_int_member(vm, "pid"), marker)) {
        e->device_problem = g_strdup("QEMU is not running");
        e->guest_problem = g_strdup("QEMU is not running");
        return g_steal_pointer(&e);
    }
    qmp = session_qmp_connect(json_object_get_string_member(vm, "qmp"),
                              QUERY_QMP_TIMEOUT_MS, &error);
    e->negotiated = -1;
    if (qmp != NULL &&
        rig_qmp_read_rsc_stats(qmp, TEST_NIC, &e->device, NULL, &error)) {
        g_autoptr(JsonNode) neg =
            query_rsc_feature(qmp, "guest-features", NULL);

        e->device_ok = TRUE;
        if (neg != NULL) {
            e->negotiated = json_node_get_boolean(neg) ? 1 : 0;
        }
    } else if (g_error_matches(error, RIG_QMP_ERROR,
                               RIG_QMP_ERROR_NOT_SUPPORTED)) {
        e->device_problem = g_strdup("this QEMU has no rsc-stats property "
                                     "(not the patched build from "
                                     "ci/build-qemu)");
    } else {
        e->device_problem = g_strdup(error->message);
    }
    stats_guest_view(e, vm);
    return g_steal_pointer(&e);
}

static JsonNode *stats_to_json(GPtrArray *entries)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_array(b);
    for (guint i = 0; i < entries->len; i++) {
        StatsEntry *e = g_ptr_array_index(entries, i);

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "vm");
        json_builder_add_string_value(b, e->name);
        json_builder_set_member_name(b, "test_mac");
        json_builder_add_string_value(b, e->mac);
        json_builder_set_member_name(b, "device");
        if (e->device_ok) {
            JsonNode *dev = rig_rsc_stats_to_json(&e->device);

            json_object_set_member(
                json_node_get_object(dev), "rsc_ext_negotiated",
                e->negotiated < 0 ? json_node_new(JSON_NODE_NULL)
                                  : json_node_init_boolean(json_node_alloc(),
                                                           e->negotiated == 1));
            json_builder_add_value(b, dev);
        } else {
            json_builder_begin_object(b);
            json_builder_set_member_name(b, "problem");
            json_builder_add_string_value(b, e->device_problem);
            json_builder_end_object(b);
        }
        json_builder_set_member_name(b, "guest");
        if (e->guest != NULL) {
            json_builder_add_value(b, session_win_report_to_json(e->guest));
        } else {
            json_builder_begin_object(b);
            json_builder_set_member_name(b, "problem");
            json_builder_add_string_value(b, e->guest_problem);
            json_builder_end_object(b);
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    return json_builder_get_root(b);
}

static char *stats_family_line(const char *family, gboolean enabled,
                               gboolean operational, guint reason)
{
    const char *name = session_win_failure_reason_name(reason);
    g_autofree char *code = g_strdup_printf("failure reason %u", reason);

    return g_strdup_printf("  %s enabled=%s operational=%s %s", family,
                           enabled ? "yes" : "no", operational ? "yes" : "no",
                           name != NULL ? name : code);
}

/*
 * Adds @text to @lines word-wrapped at @width columns (continuation lines
 * indented), so that a long sentence stays in its column of the
 * side-by-side view.
 */
static void stats_add_wrapped(GPtrArray *lines, const char *text, gsize width)
{
    g_auto(GStrv) words = g_strsplit(text, " ", -1);
    g_autoptr(GString) line = g_string_new(NULL);
    gboolean empty = TRUE; /* no word on @line yet */

    for (gsize i = 0; words[i] != NULL; i++) {
        if (!empty && line->len + 1 + strlen(words[i]) > width) {
            g_ptr_array_add(lines, g_strdup(line->str));
            g_string_assign(line, "  ");
            empty = TRUE;
        }
        if (!empty) {
            g_string_append_c(line, ' ');
        }
        g_string_append(line, words[i]);
        empty = FALSE;
    }
    g_ptr_array_add(lines, g_strdup(line->str));
}

static void stats_guest_lines(StatsEntry *e, GPtrArray *lines)
{
    SessionWinReport *g = e->guest;

    if (g == NULL) {
        g_autofree char *text =
            g_strdup_printf("unavailable: %s", e->guest_problem);

        stats_add_wrapped(lines, text, STATS_GUEST_WIDTH);
        return;
    }
    g_ptr_array_add(lines, g_strdup_printf("adapter %s", g->adapter));
    if (g->statistics_state == SESSION_WIN_OK) {
        g_ptr_array_add(lines, g_strdup("RscStatistics"));
        g_ptr_array_add(
            lines, g_strdup_printf("  CoalescedPackets     %" G_GUINT64_FORMAT,
                                   g->statistics.coalesced_packets));
        g_ptr_array_add(
            lines, g_strdup_printf("  CoalescedBytes       %" G_GUINT64_FORMAT,
                                   g->statistics.coalesced_bytes));
        g_ptr_array_add(
            lines, g_strdup_printf("  CoalescingEvents     %" G_GUINT64_FORMAT,
                                   g->statistics.coalescing_events));
        g_ptr_array_add(
            lines, g_strdup_printf("  CoalescingExceptions %" G_GUINT64_FORMAT,
                                   g->statistics.coalescing_exceptions));
    } else {
        g_ptr_array_add(
            lines, g_strdup_printf("RscStatistics: %s", g->statistics_problem));
    }
    if (g->setting_state == SESSION_WIN_OK) {
        SessionWinRscSetting *s = &g->setting;

        g_ptr_array_add(lines, g_strdup("Get-NetAdapterRsc"));
        g_ptr_array_add(lines, stats_family_line("IPv4", s->ipv4_enabled,
                                                 s->ipv4_operational,
                                                 s->ipv4_failure_reason));
        g_ptr_array_add(lines, stats_family_line("IPv6", s->ipv6_enabled,
                                                 s->ipv6_operational,
                                                 s->ipv6_failure_reason));
    } else {
        g_ptr_array_add(lines, g_strdup_printf("Get-NetAdapterRsc: %s",
                                               g->setting_problem));
    }
    if (g->diag_state == SESSION_WIN_OK) {
        g_ptr_array_add(lines, g_strdup("NetKvm_Diag rx"));
        g_ptr_array_add(lines,
                        g_strdup_printf("  CoalescedWin  %" G_GUINT64_FORMAT,
                                        g->diag.coalesced_win));
        g_ptr_array_add(lines,
                        g_strdup_printf("  CoalescedHost %" G_GUINT64_FORMAT,
                                        g->diag.coalesced_host));
    } else {
        g_ptr_array_add(lines,
                        g_strdup_printf("NetKvm_Diag: %s", g->diag_problem));
    }
}

static void stats_print_text(GPtrArray *entries)
{
    for (guint i = 0; i < entries->len; i++) {
        StatsEntry *e = g_ptr_array_index(entries, i);
        g_autoptr(GPtrArray) left = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GPtrArray) right = g_ptr_array_new_with_free_func(g_free);

        printf("%s (test NIC %s)\n", e->name, e->mac);
        printf("  %-*s %s\n", STATS_COLUMN_WIDTH,
               "device view (QEMU rsc-stats)",
               "guest view (Windows, via the guest agent)");
        if (e->device_ok) {
            g_ptr_array_add(
                left, g_strdup_printf("%-22s %10s %10s", "", "ipv4", "ipv6"));
            for (int s = 0; s < RSC_STATS_N_FIELDS; s++) {
                g_ptr_array_add(left,
                                g_strdup_printf("%-22s %10" G_GUINT64_FORMAT
                                                " %10" G_GUINT64_FORMAT,
                                                rsc_stats_field_name(s),
                                                e->device.ipv4.counter[s],
                                                e->device.ipv6.counter[s]));
            }
            if (e->negotiated == 0) {
                g_ptr_array_add(left, g_strdup("(RSC_EXT not negotiated by "
                                               "the guest driver:"));
                g_ptr_array_add(left, g_strdup(" QEMU coalesces nothing)"));
            }
        } else {
            g_autofree char *text =
                g_strdup_printf("unavailable: %s", e->device_problem);

            stats_add_wrapped(left, text, STATS_COLUMN_WIDTH);
        }
        stats_guest_lines(e, right);
        for (guint l = 0; l < MAX(left->len, right->len); l++) {
            printf("  %-*s %s\n", STATS_COLUMN_WIDTH,
                   l < left->len ? (char *)g_ptr_array_index(left, l) : "",
                   l < right->len ? (char *)g_ptr_array_index(right, l) : "");
        }
    }
    fflush(stdout);
}

static void stats_entry_free_gpointer(gpointer e)
{
    stats_entry_free(e);
}

gboolean session_stats(const char *state_root, guint id, const char *vm,
                       gboolean json, GError **error)
{
    g_autoptr(SessionState) state = session_state_load(state_root, id, error);
    g_autoptr(GPtrArray) entries =
        g_ptr_array_new_with_free_func(stats_entry_free_gpointer);
    JsonArray *vms;

    if (state == NULL) {
        return FALSE;
    }
    if (vm != NULL) {
        JsonObject *obj = session_state_find_vm(state, vm);

        if (obj == NULL || !vm_is_client(obj)) {
            g_set_error(error, SESSION_ERROR, SESSION_ERROR_NOT_FOUND,
                        "%s is not a client of session %u (only clients "
                        "have a test NIC)",
                        vm, id);
            return FALSE;
        }
        g_ptr_array_add(entries, stats_collect(obj, state->dir));
    } else {
        vms = session_state_vms(state);
        for (guint i = 0; i < json_array_get_length(vms); i++) {
            JsonObject *obj = json_array_get_object_element(vms, i);

            if (vm_is_client(obj)) {
                g_ptr_array_add(entries, stats_collect(obj, state->dir));
            }
        }
    }
    if (json) {
        g_autoptr(JsonNode) out = stats_to_json(entries);

        print_json(out);
    } else {
        stats_print_text(entries);
    }
    return TRUE;
}

/* ---- set-interval -------------------------------------------------- */

gboolean session_set_interval(const char *state_root, guint id, const char *vm,
                              guint64 interval_ns, GError **error)
{
    g_autoptr(SessionState) state = session_state_load(state_root, id, error);
    g_autoptr(RigQmp) qmp = NULL;
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) args = NULL;
    g_autoptr(JsonNode) ret = NULL;
    g_autoptr(GError) local = NULL;
    g_autofree char *path = NULL;
    guint64 now = 0;
    JsonObject *obj;

    if (state == NULL) {
        return FALSE;
    }
    obj = session_state_find_vm(state, vm);
    if (obj == NULL || !vm_is_client(obj)) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_NOT_FOUND,
                    "%s is not a client of session %u", vm, id);
        return FALSE;
    }
    qmp = session_qmp_connect(json_object_get_string_member(obj, "qmp"),
                              QUERY_QMP_TIMEOUT_MS, error);
    if (qmp == NULL) {
        return FALSE;
    }
    path = rig_qmp_find_device_property(qmp, TEST_NIC, "rsc_interval", error);
    if (path == NULL) {
        return FALSE;
    }
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "path");
    json_builder_add_string_value(b, path);
    json_builder_set_member_name(b, "property");
    json_builder_add_string_value(b, "rsc_interval");
    json_builder_set_member_name(b, "value");
    json_builder_add_int_value(b, (gint64)interval_ns);
    json_builder_end_object(b);
    args = json_builder_get_root(b);
    ret = rig_qmp_execute(qmp, "qom-set", args, &local);
    if (ret == NULL) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_NOT_SUPPORTED,
                    "this QEMU cannot change rsc_interval of a running "
                    "device (%s): set [test] rsc_interval = %" G_GUINT64_FORMAT
                    " in the profile and restart the session (rig session "
                    "down, then up)",
                    local->message, interval_ns);
        return FALSE;
    }
    if (!rig_qmp_read_rsc_interval(qmp, TEST_NIC, &now, error)) {
        return FALSE;
    }
    if (now != interval_ns) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_NOT_SUPPORTED,
                    "qom-set was accepted but rsc_interval still reads "
                    "%" G_GUINT64_FORMAT
                    " ns: restart the session with the new "
                    "value in the profile",
                    now);
        return FALSE;
    }
    json_object_set_int_member(obj, "rsc_interval", (gint64)interval_ns);
    if (!session_state_save(state, error)) {
        return FALSE;
    }
    printf("%s: rsc_interval is now %" G_GUINT64_FORMAT " ns\n", vm,
           interval_ns);
    return TRUE;
}
