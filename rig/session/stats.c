/*
 * `rig session stats`: QEMU's view of RSC (its rsc-stats over QMP) next to
 * Windows' (RscStatistics, Get-NetAdapterRsc, NetKVM's NetKvm_Diag and
 * NetKvm_Config through the guest agent), and the relations that hold
 * between them when NetKVM counts as it does (wlh/ParaNdis6_Impl.cpp):
 *   CoalescingEvents = rx.CoalescedWin + rx.CoalescedHost  (one event per
 *       coalesced frame, RSC_INFO or host GSO)
 *   CoalescedPackets = QEMU coalesced (v4 + v6) + rx.CoalescedWin  when
 *       rx.CoalescedHost is 0: QEMU counts each segment merged into a
 *       cached one, a frame of N segments adds N - 1, NetKVM adds N
 * CoalescedBytes are whole IP datagrams (headers included), not TCP
 * payload.  Both sides count from the VM's start; `--reset` zeroes only
 * NetKVM's rx counters (NetKvm_DiagReset), so after it the second
 * relation holds for the changes of QEMU's counter, not its value.
 */
#include "session/session.h"

#include <stdio.h>
#include <string.h>

#include "qemu/qga.h"
#include "qemu/rsc-stats.h"
#include "session/process.h"
#include "session/query.h"
#include "session/state.h"
#include "session/winstats.h"

/* Widths of the device and guest columns of `stats` (text). */
#define STATS_COLUMN_WIDTH 44
#define STATS_GUEST_WIDTH  52

typedef struct {
    char *name;
    char *mac;
    gboolean device_ok;
    RigRscStats device;
    int negotiated; /* RSC_EXT taken by the guest driver: 1, 0, -1 unknown */
    char *device_problem;
    SessionWinReport *guest;
    char *guest_problem;
    gboolean reset_done;
    char *reset_problem;
    int events_relation;   /* 1 holds, 0 does not, -1 not known */
    int segments_relation; /* idem */
} StatsEntry;

static void stats_entry_free(StatsEntry *e)
{
    g_free(e->name);
    g_free(e->mac);
    g_free(e->device_problem);
    session_win_report_free(e->guest);
    g_free(e->guest_problem);
    g_free(e->reset_problem);
    g_free(e);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(StatsEntry, stats_entry_free)

static char *stats_agent_problem(const GError *error);

static const char *vm_test_mac(SessionVmState *vm)
{
    SessionNicState *nic = session_vm_find_nic(vm, "test");

    return nic != NULL ? nic->mac : NULL;
}

/* Runs @script with powershell.exe through the guest agent. */
static gboolean stats_run_powershell(SessionVmState *vm, const char *script,
                                     RigQgaExecResult **ret_result,
                                     char **ret_problem)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(RigQgaClient) qga = NULL;
    g_autofree char *encoded = session_winstats_encode_command(script);
    const char *const args[] = {
        "-NoProfile", "-NonInteractive", "-ExecutionPolicy",
        "Bypass",     "-EncodedCommand", encoded,
        NULL};

    qga = rig_qga_client_connect(vm->qga, SESSION_AGENT_TIMEOUT_MS, &error);
    if (qga == NULL ||
        !rig_qga_client_exec(qga, "powershell.exe", args, NULL,
                             SESSION_EXEC_TIMEOUT_MS, ret_result, &error)) {
        *ret_problem = stats_agent_problem(error);
        return FALSE;
    }
    return TRUE;
}

/* Turns agent failures into one sentence that says what is missing. */
static char *stats_agent_problem(const GError *error)
{
    if (g_error_matches(error, RIG_QGA_ERROR, RIG_QGA_ERROR_NO_AGENT)) {
        return g_strdup("no guest agent answers: install and start the QEMU "
                        "guest agent in the guest (virtio-win guest tools, "
                        "service \"QEMU Guest Agent\")");
    }
    if (g_error_matches(error, RIG_QGA_ERROR, RIG_QGA_ERROR_COMMAND)) {
        return g_strdup_printf("the guest agent cannot run powershell.exe "
                               "(not a Windows guest?): %s",
                               error->message);
    }
    if (g_error_matches(error, RIG_QGA_ERROR, RIG_QGA_ERROR_EXEC_TIMEOUT)) {
        return g_strdup_printf("PowerShell did not finish: %s", error->message);
    }
    return g_strdup_printf("guest agent: %s", error->message);
}

static void stats_guest_view(StatsEntry *e, SessionVmState *vm)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(RigQgaExecResult) result = NULL;
    g_autofree char *script = session_winstats_script(e->mac);
    g_autofree char *out = NULL;
    gsize len = 0;
    const char *data;

    if (!stats_run_powershell(vm, script, &result, &e->guest_problem)) {
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

/* NetKvm_DiagReset type=1 before the counters are read. */
static void stats_reset(StatsEntry *e, SessionVmState *vm)
{
    g_autoptr(RigQgaExecResult) result = NULL;
    g_autofree char *script = session_winstats_reset_script(e->mac);
    g_autofree char *problem = NULL;
    g_autofree char *out = NULL;
    gsize len = 0;
    const char *data;

    if (!stats_run_powershell(vm, script, &result, &problem)) {
        e->reset_problem = g_steal_pointer(&problem);
        return;
    }
    data = g_bytes_get_data(result->out, &len);
    out = g_strstrip(g_strndup(data, len));
    if (strstr(out, "##RIG reset ok") != NULL) {
        e->reset_done = TRUE;
        return;
    }
    e->reset_problem =
        g_strdup_printf("NetKvm_DiagReset failed: %s",
                        out[0] != '\0' ? out : "(PowerShell printed nothing)");
}

/* The relations of the header comment, each ok / failed / not known. */
static void stats_check_relations(StatsEntry *e)
{
    SessionWinReport *g = e->guest;

    e->events_relation = -1;
    e->segments_relation = -1;
    if (g == NULL || g->statistics_state != SESSION_WIN_OK ||
        g->diag_state != SESSION_WIN_OK) {
        return;
    }
    e->events_relation = g->statistics.coalescing_events ==
                         g->diag.coalesced_win + g->diag.coalesced_host;
    if (e->device_ok && g->diag.coalesced_host == 0 && !e->reset_done) {
        guint64 qemu = e->device.ipv4.coalesced + e->device.ipv6.coalesced;

        e->segments_relation =
            g->statistics.coalesced_packets == qemu + g->diag.coalesced_win;
    }
}

static StatsEntry *stats_collect(SessionVmState *vm, const char *marker,
                                 gboolean reset)
{
    g_autoptr(StatsEntry) e = g_new0(StatsEntry, 1);
    g_autoptr(GError) error = NULL;
    g_autoptr(RigQmp) qmp = NULL;

    e->name = g_strdup(vm->name);
    e->mac = g_strdup(vm_test_mac(vm));
    e->events_relation = -1;
    e->segments_relation = -1;
    if (e->mac == NULL) {
        e->device_problem = g_strdup("the state records no test NIC");
        e->guest_problem = g_strdup("the state records no test NIC");
        return g_steal_pointer(&e);
    }
    if (!session_pid_alive(vm->pid, marker)) {
        e->device_problem = g_strdup("QEMU is not running");
        e->guest_problem = g_strdup("QEMU is not running");
        return g_steal_pointer(&e);
    }
    if (reset) {
        stats_reset(e, vm);
    }
    qmp = rig_qmp_connect_unix(vm->qmp, SESSION_QMP_TIMEOUT_MS, &error);
    e->negotiated = -1;
    if (qmp != NULL && rig_qmp_read_rsc_stats(qmp, SESSION_TEST_NIC, &e->device,
                                              NULL, &error)) {
        g_autoptr(JsonNode) neg =
            session_query_rsc_feature(qmp, "guest-features", NULL);

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
    stats_check_relations(e);
    return g_steal_pointer(&e);
}

static void stats_add_relation(JsonBuilder *b, const char *name, int value)
{
    json_builder_set_member_name(b, name);
    if (value < 0) {
        json_builder_add_null_value(b);
    } else {
        json_builder_add_boolean_value(b, value == 1);
    }
}

static const char *relation_text(int value)
{
    return value < 0 ? "not known" : value ? "holds" : "DOES NOT HOLD";
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
        if (e->reset_done || e->reset_problem != NULL) {
            json_builder_set_member_name(b, "reset");
            json_builder_begin_object(b);
            json_builder_set_member_name(b, "done");
            json_builder_add_boolean_value(b, e->reset_done);
            if (e->reset_problem != NULL) {
                json_builder_set_member_name(b, "problem");
                json_builder_add_string_value(b, e->reset_problem);
            }
            json_builder_end_object(b);
        }
        json_builder_set_member_name(b, "relations");
        json_builder_begin_object(b);
        stats_add_relation(b, "events_equal_win_plus_host", e->events_relation);
        stats_add_relation(b, "segments_equal_qemu_coalesced_plus_win",
                           e->segments_relation);
        json_builder_end_object(b);
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
        if (g->diag.checksum_ok_known) {
            g_ptr_array_add(
                lines, g_strdup_printf("  ChecksumOK    %" G_GUINT64_FORMAT,
                                       g->diag.checksum_ok));
        }
        if (g->diag.ctrl_known) {
            g_ptr_array_add(
                lines,
                g_strdup_printf("NetKvm_Diag ctrl Commands %" G_GUINT64_FORMAT
                                " failed %" G_GUINT64_FORMAT
                                " timed out %" G_GUINT64_FORMAT,
                                g->diag.commands, g->diag.commands_failed,
                                g->diag.commands_timed_out));
        }
    } else {
        g_ptr_array_add(lines,
                        g_strdup_printf("NetKvm_Diag: %s", g->diag_problem));
    }
    if (g->config_state == SESSION_WIN_OK) {
        g_ptr_array_add(
            lines, g_strdup_printf(
                       "NetKvm_Config RscEnabledv4 %" G_GUINT64_FORMAT
                       " v6 %" G_GUINT64_FORMAT,
                       g->config.rsc_enabled_v4, g->config.rsc_enabled_v6));
    } else if (g->config_state == SESSION_WIN_FAILED) {
        g_ptr_array_add(
            lines, g_strdup_printf("NetKvm_Config: %s", g->config_problem));
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
        if (e->reset_done) {
            printf("  NetKVM rx counters were reset (NetKvm_DiagReset) "
                   "before this reading\n");
        } else if (e->reset_problem != NULL) {
            printf("  reset: %s\n", e->reset_problem);
        }
        printf("  CoalescingEvents = CoalescedWin + CoalescedHost: %s\n",
               relation_text(e->events_relation));
        printf("  CoalescedPackets = QEMU coalesced + CoalescedWin: %s\n",
               relation_text(e->segments_relation));
    }
    fflush(stdout);
}

static void stats_entry_free_gpointer(gpointer e)
{
    stats_entry_free(e);
}

gboolean session_stats(const char *state_root, guint id, const char *vm,
                       gboolean json, gboolean reset, GError **error)
{
    g_autoptr(SessionState) state = session_state_load(state_root, id, error);
    g_autoptr(GPtrArray) entries =
        g_ptr_array_new_with_free_func(stats_entry_free_gpointer);
    g_autofree char *marker = NULL;

    if (state == NULL) {
        return FALSE;
    }
    marker = g_strconcat(state->dir, "/", NULL);
    if (vm != NULL) {
        SessionVmState *client = session_find_client(state, vm, error);

        if (client == NULL) {
            return FALSE;
        }
        g_ptr_array_add(entries, stats_collect(client, marker, reset));
    } else {
        for (guint i = 0; i < state->vms->len; i++) {
            SessionVmState *v = g_ptr_array_index(state->vms, i);

            if (v->role == SESSION_ROLE_CLIENT) {
                g_ptr_array_add(entries, stats_collect(v, marker, reset));
            }
        }
    }
    if (json) {
        g_autoptr(JsonNode) out = stats_to_json(entries);

        session_print_json(out);
    } else {
        stats_print_text(entries);
    }
    return TRUE;
}
