/*
 * Guest view of RSC on Windows: see winstats.h.
 */
#include "session/winstats.h"

#include <string.h>

/* Section markers the script prints on lines of their own. */
#define MARK         "##RIG "
#define SEC_STATS    "rsc-statistics"
#define SEC_SETTING  "rsc-setting"
#define SEC_DIAG     "netkvm-diag"
#define SEC_CONFIG   "netkvm-config"
#define MARK_ERROR   "error "
#define MARK_ADAPTER "adapter "
#define MARK_DESC    "description "
#define MARK_NO_NIC  "no-adapter"

GQuark session_winstats_error_quark(void)
{
    return g_quark_from_static_string("rig-session-winstats-error-quark");
}

char *session_winstats_script(const char *mac)
{
    g_autofree char *dashed = g_ascii_strup(mac, -1);

    g_strdelimit(dashed, ":", '-');
    /*
     * Each cmdlet in its own try block, so that a missing driver or WMI
     * class costs one section, not the report.  -Depth 3 keeps the
     * counters of nested objects as numbers.
     */
    return g_strdup_printf(
        "$ErrorActionPreference = 'Stop'\n"
        "$ProgressPreference = 'SilentlyContinue'\n"
        "$a = Get-NetAdapter | Where-Object { $_.MacAddress -eq '%s' } |"
        " Select-Object -First 1\n"
        "if ($null -eq $a) { '" MARK MARK_NO_NIC " %s'; exit 3 }\n"
        "'" MARK MARK_ADAPTER "' + $a.Name\n"
        "'" MARK MARK_DESC "' + $a.InterfaceDescription\n"
        "'" MARK SEC_STATS "'\n"
        "try { (Get-NetAdapterStatistics -Name $a.Name).RscStatistics |"
        " ConvertTo-Json -Depth 3 }"
        " catch { '" MARK MARK_ERROR "' + $_.Exception.Message }\n"
        "'" MARK SEC_SETTING "'\n"
        "try { Get-NetAdapterRsc -Name $a.Name | ConvertTo-Json -Depth 3 }"
        " catch { '" MARK MARK_ERROR "' + $_.Exception.Message }\n"
        "'" MARK SEC_DIAG "'\n"
        "try { Get-CimInstance -Namespace root\\wmi -ClassName NetKvm_Diag |"
        " Where-Object { $_.InstanceName -eq $a.InterfaceDescription } |"
        " Select-Object rx, ctrl | ConvertTo-Json -Depth 3 }"
        " catch { '" MARK MARK_ERROR "' + $_.Exception.Message }\n"
        "'" MARK SEC_CONFIG "'\n"
        "try { Get-CimInstance -Namespace root\\wmi -ClassName NetKvm_Config |"
        " Where-Object { $_.InstanceName -eq $a.InterfaceDescription } |"
        " Select-Object RscEnabledv4, RscEnabledv6 | ConvertTo-Json }"
        " catch { '" MARK MARK_ERROR "' + $_.Exception.Message }\n"
        "'" MARK "end'\n",
        dashed, dashed);
}

char *session_winstats_reset_script(const char *mac)
{
    g_autofree char *dashed = g_ascii_strup(mac, -1);

    g_strdelimit(dashed, ":", '-');
    return g_strdup_printf(
        "$ErrorActionPreference = 'Stop'\n"
        "$a = Get-NetAdapter | Where-Object { $_.MacAddress -eq '%s' } |"
        " Select-Object -First 1\n"
        "if ($null -eq $a) { '" MARK MARK_NO_NIC " %s'; exit 3 }\n"
        "try { $r = Get-CimInstance -Namespace root\\wmi -ClassName"
        " NetKvm_DiagReset | Where-Object { $_.InstanceName -eq"
        " $a.InterfaceDescription }\n"
        "  if ($null -eq $r) { throw 'no NetKvm_DiagReset for this adapter"
        " (not NetKVM, or a NetKVM before 2024)' }\n"
        "  $r | Set-CimInstance -Arguments @{type=1}; '" MARK "reset ok' }"
        " catch { '" MARK MARK_ERROR "' + $_.Exception.Message; exit 4 }\n",
        dashed, dashed);
}

char *session_winstats_encode_command(const char *script)
{
    g_autoptr(GError) error = NULL;
    gsize len = 0;
    g_autofree char *utf16 =
        g_convert(script, -1, "UTF-16LE", "UTF-8", NULL, &len, &error);

    g_assert(utf16 != NULL); /* UTF-8 to UTF-16 cannot fail for our text */
    return g_base64_encode((const guchar *)utf16, len);
}

static JsonNode *winstats_parse_json(const char *json, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) local = NULL;
    JsonNode *root;

    if (g_str_has_prefix(json, "\xEF\xBB\xBF")) {
        json += 3;
    }
    if (!json_parser_load_from_data(parser, json, -1, &local)) {
        g_set_error(error, SESSION_WINSTATS_ERROR, SESSION_WINSTATS_ERROR_JSON,
                    "not JSON: %s", local->message);
        return NULL;
    }
    root = json_parser_get_root(parser);
    if (root == NULL || JSON_NODE_HOLDS_NULL(root)) {
        g_set_error(error, SESSION_WINSTATS_ERROR,
                    SESSION_WINSTATS_ERROR_MISSING, "empty output");
        return NULL;
    }
    return json_node_ref(root);
}

/* An object, or the first object of an array (one adapter expected). */
static JsonObject *winstats_object(JsonNode *node, const char *what,
                                   GError **error)
{
    if (JSON_NODE_HOLDS_ARRAY(node)) {
        JsonArray *array = json_node_get_array(node);

        if (json_array_get_length(array) == 0) {
            g_set_error(error, SESSION_WINSTATS_ERROR,
                        SESSION_WINSTATS_ERROR_MISSING, "%s: empty list", what);
            return NULL;
        }
        node = json_array_get_element(array, 0);
    }
    if (!JSON_NODE_HOLDS_OBJECT(node)) {
        g_set_error(error, SESSION_WINSTATS_ERROR, SESSION_WINSTATS_ERROR_SHAPE,
                    "%s: expected a JSON object", what);
        return NULL;
    }
    return json_node_get_object(node);
}

/* Counters are numbers; a string of digits is accepted too. */
static gboolean winstats_get_u64(JsonObject *obj, const char *what,
                                 const char *member, guint64 *ret_value,
                                 GError **error)
{
    JsonNode *node = json_object_get_member(obj, member);

    if (node != NULL && JSON_NODE_HOLDS_VALUE(node)) {
        GType type = json_node_get_value_type(node);

        if (type == G_TYPE_INT64 && json_node_get_int(node) >= 0) {
            *ret_value = (guint64)json_node_get_int(node);
            return TRUE;
        }
        if (type == G_TYPE_DOUBLE && json_node_get_double(node) >= 0) {
            *ret_value = (guint64)json_node_get_double(node);
            return TRUE;
        }
        if (type == G_TYPE_STRING &&
            g_ascii_string_to_unsigned(json_node_get_string(node), 10, 0,
                                       G_MAXUINT64, ret_value, NULL)) {
            return TRUE;
        }
    }
    g_set_error(error, SESSION_WINSTATS_ERROR, SESSION_WINSTATS_ERROR_SHAPE,
                "%s: %s is %s", what, member,
                node == NULL ? "missing" : "not a non-negative number");
    return FALSE;
}

static gboolean winstats_get_bool(JsonObject *obj, const char *what,
                                  const char *member, gboolean *ret_value,
                                  GError **error)
{
    JsonNode *node = json_object_get_member(obj, member);

    if (node != NULL && JSON_NODE_HOLDS_VALUE(node) &&
        json_node_get_value_type(node) == G_TYPE_BOOLEAN) {
        *ret_value = json_node_get_boolean(node);
        return TRUE;
    }
    g_set_error(error, SESSION_WINSTATS_ERROR, SESSION_WINSTATS_ERROR_SHAPE,
                "%s: %s is %s", what, member,
                node == NULL ? "missing" : "not true/false");
    return FALSE;
}

gboolean session_winstats_parse_statistics(const char *json,
                                           SessionWinRscStatistics *ret_stats,
                                           GError **error)
{
    static const char what[] = "RscStatistics";
    g_autoptr(JsonNode) root = winstats_parse_json(json, error);
    SessionWinRscStatistics stats = {0};
    JsonObject *obj;

    if (root == NULL) {
        return FALSE;
    }
    obj = winstats_object(root, what, error);
    if (obj == NULL) {
        return FALSE;
    }
    /* The whole Get-NetAdapterStatistics object: descend into the member. */
    if (json_object_has_member(obj, "RscStatistics")) {
        JsonNode *member = json_object_get_member(obj, "RscStatistics");

        if (JSON_NODE_HOLDS_VALUE(member) &&
            json_node_get_value_type(member) == G_TYPE_STRING) {
            g_set_error(error, SESSION_WINSTATS_ERROR,
                        SESSION_WINSTATS_ERROR_SHAPE,
                        "%s was flattened to the string \"%s\" by "
                        "ConvertTo-Json's default -Depth 2: convert "
                        "(Get-NetAdapterStatistics).RscStatistics itself or "
                        "pass -Depth 3",
                        what, json_node_get_string(member));
            return FALSE;
        }
        if (JSON_NODE_HOLDS_NULL(member)) {
            g_set_error(error, SESSION_WINSTATS_ERROR,
                        SESSION_WINSTATS_ERROR_MISSING,
                        "%s is null: the adapter reports no RSC statistics "
                        "(driver without RSC support?)",
                        what);
            return FALSE;
        }
        obj = winstats_object(member, what, error);
        if (obj == NULL) {
            return FALSE;
        }
    }
    if (!winstats_get_u64(obj, what, "CoalescedPackets",
                          &stats.coalesced_packets, error) ||
        !winstats_get_u64(obj, what, "CoalescedBytes", &stats.coalesced_bytes,
                          error) ||
        !winstats_get_u64(obj, what, "CoalescingEvents",
                          &stats.coalescing_events, error) ||
        !winstats_get_u64(obj, what, "CoalescingExceptions",
                          &stats.coalescing_exceptions, error)) {
        return FALSE;
    }
    *ret_stats = stats;
    return TRUE;
}

gboolean session_winstats_parse_setting(const char *json,
                                        SessionWinRscSetting *ret_setting,
                                        GError **error)
{
    static const char what[] = "Get-NetAdapterRsc";
    g_autoptr(JsonNode) root = winstats_parse_json(json, error);
    SessionWinRscSetting setting = {0};
    guint64 v4 = 0;
    guint64 v6 = 0;
    JsonObject *obj;

    if (root == NULL) {
        return FALSE;
    }
    obj = winstats_object(root, what, error);
    if (obj == NULL) {
        return FALSE;
    }
    if (!winstats_get_bool(obj, what, "IPv4Enabled", &setting.ipv4_enabled,
                           error) ||
        !winstats_get_bool(obj, what, "IPv6Enabled", &setting.ipv6_enabled,
                           error) ||
        !winstats_get_bool(obj, what, "IPv4OperationalState",
                           &setting.ipv4_operational, error) ||
        !winstats_get_bool(obj, what, "IPv6OperationalState",
                           &setting.ipv6_operational, error) ||
        !winstats_get_u64(obj, what, "IPv4FailureReason", &v4, error) ||
        !winstats_get_u64(obj, what, "IPv6FailureReason", &v6, error)) {
        return FALSE;
    }
    setting.ipv4_failure_reason = (guint)MIN(v4, G_MAXUINT);
    setting.ipv6_failure_reason = (guint)MIN(v6, G_MAXUINT);
    *ret_setting = setting;
    return TRUE;
}

gboolean session_winstats_parse_diag(const char *json,
                                     SessionWinNetkvmDiag *ret_diag,
                                     GError **error)
{
    static const char what[] = "NetKvm_Diag rx";
    g_autoptr(JsonNode) root = winstats_parse_json(json, error);
    SessionWinNetkvmDiag diag = {0};
    JsonObject *obj;

    if (root == NULL) {
        return FALSE;
    }
    obj = winstats_object(root, what, error);
    if (obj == NULL) {
        return FALSE;
    }
    if (json_object_has_member(obj, "ctrl")) {
        static const char cwhat[] = "NetKvm_Diag ctrl";
        JsonObject *ctrl =
            winstats_object(json_object_get_member(obj, "ctrl"), cwhat, error);

        if (ctrl == NULL ||
            !winstats_get_u64(ctrl, cwhat, "Commands", &diag.commands, error) ||
            !winstats_get_u64(ctrl, cwhat, "CommandsFailed",
                              &diag.commands_failed, error) ||
            !winstats_get_u64(ctrl, cwhat, "CommandsTimedOut",
                              &diag.commands_timed_out, error)) {
            return FALSE;
        }
        diag.ctrl_known = TRUE;
    }
    if (json_object_has_member(obj, "rx")) {
        obj = winstats_object(json_object_get_member(obj, "rx"), what, error);
        if (obj == NULL) {
            return FALSE;
        }
    }
    if (json_object_has_member(obj, "ChecksumOK")) {
        if (!winstats_get_u64(obj, what, "ChecksumOK", &diag.checksum_ok,
                              error)) {
            return FALSE;
        }
        diag.checksum_ok_known = TRUE;
    }
    if (!winstats_get_u64(obj, what, "CoalescedWin", &diag.coalesced_win,
                          error) ||
        !winstats_get_u64(obj, what, "CoalescedHost", &diag.coalesced_host,
                          error)) {
        return FALSE;
    }
    *ret_diag = diag;
    return TRUE;
}

gboolean session_winstats_parse_config(const char *json,
                                       SessionWinNetkvmConfig *ret_config,
                                       GError **error)
{
    static const char what[] = "NetKvm_Config";
    g_autoptr(JsonNode) root = winstats_parse_json(json, error);
    SessionWinNetkvmConfig config = {0};
    JsonObject *obj;

    if (root == NULL) {
        return FALSE;
    }
    obj = winstats_object(root, what, error);
    if (obj == NULL ||
        !winstats_get_u64(obj, what, "RscEnabledv4", &config.rsc_enabled_v4,
                          error) ||
        !winstats_get_u64(obj, what, "RscEnabledv6", &config.rsc_enabled_v6,
                          error)) {
        return FALSE;
    }
    *ret_config = config;
    return TRUE;
}

typedef enum {
    SECTION_NONE,
    SECTION_STATS,
    SECTION_SETTING,
    SECTION_DIAG,
    SECTION_CONFIG,
} Section;

static void winstats_finish_section(SessionWinReport *report, Section section,
                                    GString *body, const char *failure)
{
    SessionWinState *state;
    char **problem;
    g_autoptr(GError) error = NULL;
    gboolean ok = FALSE;

    switch (section) {
    case SECTION_STATS:
        state = &report->statistics_state;
        problem = &report->statistics_problem;
        break;
    case SECTION_SETTING:
        state = &report->setting_state;
        problem = &report->setting_problem;
        break;
    case SECTION_DIAG:
        state = &report->diag_state;
        problem = &report->diag_problem;
        break;
    case SECTION_CONFIG:
        state = &report->config_state;
        problem = &report->config_problem;
        break;
    case SECTION_NONE:
    default:
        return;
    }
    if (failure != NULL) {
        *state = SESSION_WIN_FAILED;
        *problem = g_strdup(failure);
        return;
    }
    if (section == SECTION_STATS) {
        ok = session_winstats_parse_statistics(body->str, &report->statistics,
                                               &error);
    } else if (section == SECTION_SETTING) {
        ok =
            session_winstats_parse_setting(body->str, &report->setting, &error);
    } else if (section == SECTION_CONFIG) {
        ok = session_winstats_parse_config(body->str, &report->config, &error);
    } else {
        ok = session_winstats_parse_diag(body->str, &report->diag, &error);
        if (!ok && g_error_matches(error, SESSION_WINSTATS_ERROR,
                                   SESSION_WINSTATS_ERROR_MISSING)) {
            g_clear_error(&error);
            g_set_error(&error, SESSION_WINSTATS_ERROR,
                        SESSION_WINSTATS_ERROR_MISSING,
                        "NetKvm_Diag has no instance for this adapter "
                        "(not the NetKVM driver, or a NetKVM without the "
                        "diagnostic WMI class)");
        }
    }
    *state = ok ? SESSION_WIN_OK : SESSION_WIN_FAILED;
    if (!ok) {
        *problem = g_strdup(error->message);
    }
}

SessionWinReport *session_winstats_parse_report(const char *output,
                                                GError **error)
{
    g_autoptr(SessionWinReport) report = g_new0(SessionWinReport, 1);
    g_auto(GStrv) lines = NULL;
    g_autoptr(GString) body = g_string_new(NULL);
    g_autofree char *failure = NULL;
    Section section = SECTION_NONE;
    gboolean seen_end = FALSE;

    if (g_str_has_prefix(output, "\xEF\xBB\xBF")) {
        output += 3;
    }
    lines = g_strsplit(output, "\n", -1);
    for (gsize i = 0; lines[i] != NULL && !seen_end; i++) {
        char *line = lines[i];
        gsize len = strlen(line);
        Section next = SECTION_NONE;
        const char *mark;

        if (len > 0 && line[len - 1] == '\r') {
            line[len - 1] = '\0';
        }
        if (!g_str_has_prefix(line, MARK)) {
            if (section != SECTION_NONE) {
                g_string_append(body, line);
                g_string_append_c(body, '\n');
            }
            continue;
        }
        mark = line + strlen(MARK);
        if (g_str_has_prefix(mark, MARK_NO_NIC)) {
            g_set_error(error, SESSION_WINSTATS_ERROR,
                        SESSION_WINSTATS_ERROR_MISSING,
                        "the guest has no network adapter with MAC %s "
                        "(test NIC driver not installed?)",
                        g_strstrip(line + strlen(MARK MARK_NO_NIC)));
            return NULL;
        }
        if (g_str_has_prefix(mark, MARK_ERROR)) {
            g_free(failure);
            failure = g_strdup(mark + strlen(MARK_ERROR));
            continue;
        }
        if (g_str_has_prefix(mark, MARK_ADAPTER)) {
            g_free(report->adapter);
            report->adapter = g_strdup(mark + strlen(MARK_ADAPTER));
            continue;
        }
        if (g_str_has_prefix(mark, MARK_DESC)) {
            g_free(report->description);
            report->description = g_strdup(mark + strlen(MARK_DESC));
            continue;
        }
        if (g_str_equal(mark, SEC_STATS)) {
            next = SECTION_STATS;
        } else if (g_str_equal(mark, SEC_SETTING)) {
            next = SECTION_SETTING;
        } else if (g_str_equal(mark, SEC_DIAG)) {
            next = SECTION_DIAG;
        } else if (g_str_equal(mark, SEC_CONFIG)) {
            next = SECTION_CONFIG;
        } else if (g_str_equal(mark, "end")) {
            seen_end = TRUE;
        } else {
            continue;
        }
        winstats_finish_section(report, section, body, failure);
        g_string_truncate(body, 0);
        g_clear_pointer(&failure, g_free);
        section = next;
    }
    if (!seen_end) {
        /* Output cut short: what was collected so far still counts. */
        winstats_finish_section(report, section, body, failure);
    }
    if (report->adapter == NULL) {
        g_set_error(error, SESSION_WINSTATS_ERROR,
                    SESSION_WINSTATS_ERROR_MISSING,
                    "the guest's output is not from the rig's statistics "
                    "script (no adapter line)");
        return NULL;
    }
    return g_steal_pointer(&report);
}

void session_win_report_free(SessionWinReport *report)
{
    if (report == NULL) {
        return;
    }
    g_free(report->adapter);
    g_free(report->description);
    g_free(report->statistics_problem);
    g_free(report->setting_problem);
    g_free(report->diag_problem);
    g_free(report->config_problem);
    g_free(report);
}

const char *session_win_failure_reason_name(guint reason)
{
    return reason == 0 ? "NoFailure" : NULL;
}

static void winstats_add_state(JsonBuilder *b, SessionWinState state,
                               const char *problem)
{
    json_builder_set_member_name(b, "state");
    json_builder_add_string_value(b, state == SESSION_WIN_OK       ? "ok"
                                     : state == SESSION_WIN_FAILED ? "failed"
                                                                   : "absent");
    if (problem != NULL) {
        json_builder_set_member_name(b, "problem");
        json_builder_add_string_value(b, problem);
    }
}

static void winstats_add_u64(JsonBuilder *b, const char *name, guint64 value)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, (gint64)MIN(value, (guint64)G_MAXINT64));
}

static void winstats_add_bool(JsonBuilder *b, const char *name, gboolean v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_boolean_value(b, v);
}

JsonNode *session_win_report_to_json(const SessionWinReport *report)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "adapter");
    json_builder_add_string_value(b, report->adapter);
    json_builder_set_member_name(b, "description");
    json_builder_add_string_value(b, report->description);

    json_builder_set_member_name(b, "rsc_statistics");
    json_builder_begin_object(b);
    winstats_add_state(b, report->statistics_state, report->statistics_problem);
    if (report->statistics_state == SESSION_WIN_OK) {
        winstats_add_u64(b, "CoalescedPackets",
                         report->statistics.coalesced_packets);
        winstats_add_u64(b, "CoalescedBytes",
                         report->statistics.coalesced_bytes);
        winstats_add_u64(b, "CoalescingEvents",
                         report->statistics.coalescing_events);
        winstats_add_u64(b, "CoalescingExceptions",
                         report->statistics.coalescing_exceptions);
    }
    json_builder_end_object(b);

    json_builder_set_member_name(b, "rsc_setting");
    json_builder_begin_object(b);
    winstats_add_state(b, report->setting_state, report->setting_problem);
    if (report->setting_state == SESSION_WIN_OK) {
        winstats_add_bool(b, "IPv4Enabled", report->setting.ipv4_enabled);
        winstats_add_bool(b, "IPv6Enabled", report->setting.ipv6_enabled);
        winstats_add_bool(b, "IPv4OperationalState",
                          report->setting.ipv4_operational);
        winstats_add_bool(b, "IPv6OperationalState",
                          report->setting.ipv6_operational);
        winstats_add_u64(b, "IPv4FailureReason",
                         report->setting.ipv4_failure_reason);
        winstats_add_u64(b, "IPv6FailureReason",
                         report->setting.ipv6_failure_reason);
    }
    json_builder_end_object(b);

    json_builder_set_member_name(b, "netkvm_diag");
    json_builder_begin_object(b);
    winstats_add_state(b, report->diag_state, report->diag_problem);
    if (report->diag_state == SESSION_WIN_OK) {
        winstats_add_u64(b, "CoalescedWin", report->diag.coalesced_win);
        winstats_add_u64(b, "CoalescedHost", report->diag.coalesced_host);
        if (report->diag.checksum_ok_known) {
            winstats_add_u64(b, "ChecksumOK", report->diag.checksum_ok);
        }
        if (report->diag.ctrl_known) {
            winstats_add_u64(b, "Commands", report->diag.commands);
            winstats_add_u64(b, "CommandsFailed", report->diag.commands_failed);
            winstats_add_u64(b, "CommandsTimedOut",
                             report->diag.commands_timed_out);
        }
    }
    json_builder_end_object(b);

    json_builder_set_member_name(b, "netkvm_config");
    json_builder_begin_object(b);
    winstats_add_state(b, report->config_state, report->config_problem);
    if (report->config_state == SESSION_WIN_OK) {
        winstats_add_u64(b, "RscEnabledv4", report->config.rsc_enabled_v4);
        winstats_add_u64(b, "RscEnabledv6", report->config.rsc_enabled_v6);
    }
    json_builder_end_object(b);

    json_builder_end_object(b);
    return json_builder_get_root(b);
}
