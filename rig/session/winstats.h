/*
 * The guest's view of RSC on a Windows client, read through the guest
 * agent: one PowerShell script (session_winstats_script()) prints, per
 * section, the ConvertTo-Json output of
 *   (Get-NetAdapterStatistics).RscStatistics   CoalescedPackets/Bytes,
 *                                              CoalescingEvents/Exceptions
 *   Get-NetAdapterRsc                          enabled, operational state,
 *                                              failure reason per family
 *   NetKvm_Diag (root\wmi) .rx                 CoalescedWin / CoalescedHost
 * and this module parses it.  The parsers take the objects in the shape
 * Windows PowerShell 5.1 prints them (CIM instances with CimClass,
 * CimInstanceProperties and CimSystemProperties members, a depth-limited
 * nested object turned into a string), pick the members they need and
 * ignore the rest.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define SESSION_WINSTATS_ERROR (session_winstats_error_quark())

typedef enum {
    SESSION_WINSTATS_ERROR_JSON,    /* not JSON */
    SESSION_WINSTATS_ERROR_SHAPE,   /* JSON, but not the expected object */
    SESSION_WINSTATS_ERROR_MISSING, /* the guest reported no such data */
} SessionWinstatsError;

/* State of one section of the report. */
typedef enum {
    SESSION_WIN_ABSENT, /* section missing from the output */
    SESSION_WIN_OK,
    SESSION_WIN_FAILED, /* the cmdlet failed or printed nothing usable */
} SessionWinState;

typedef struct {
    guint64 coalesced_packets;
    guint64 coalesced_bytes;
    guint64 coalescing_events;
    guint64 coalescing_exceptions;
} SessionWinRscStatistics;

typedef struct {
    gboolean ipv4_enabled;
    gboolean ipv6_enabled;
    gboolean ipv4_operational;
    gboolean ipv6_operational;
    guint ipv4_failure_reason; /* MSFT_NetAdapterRscSettingData value */
    guint ipv6_failure_reason;
} SessionWinRscSetting;

/*
 * NetKvm_Diag (wlh/ParaNdis6_Impl.cpp counts them on receive): each
 * coalesced *frame* counts once, however many segments it holds.
 */
typedef struct {
    guint64 coalesced_win;  /* frames with RSC_INFO: QEMU's RSC_EXT path */
    guint64 coalesced_host; /* GSO frames without RSC_INFO: host GSO */
    gboolean checksum_ok_known;
    guint64 checksum_ok; /* rx.ChecksumOK */
    gboolean ctrl_known; /* the ctrl member was reported */
    guint64 commands;    /* ctrl.Commands: control-queue commands sent */
    guint64 commands_failed;
    guint64 commands_timed_out;
} SessionWinNetkvmDiag;

/* NetKvm_Config: the driver's RSC settings. */
typedef struct {
    guint64 rsc_enabled_v4; /* RscEnabledv4 */
    guint64 rsc_enabled_v6; /* RscEnabledv6 */
} SessionWinNetkvmConfig;

/* Everything one run of the script reported. */
typedef struct {
    char *adapter;     /* adapter name, e.g. "Ethernet 2"; NULL: none */
    char *description; /* e.g. "Red Hat VirtIO Ethernet Adapter #2" */
    SessionWinState statistics_state;
    SessionWinRscStatistics statistics;
    char *statistics_problem; /* why not OK, or NULL */
    SessionWinState setting_state;
    SessionWinRscSetting setting;
    char *setting_problem;
    SessionWinState diag_state;
    SessionWinNetkvmDiag diag;
    char *diag_problem;
    SessionWinState config_state;
    SessionWinNetkvmConfig config;
    char *config_problem;
} SessionWinReport;

/**
 * session_winstats_error_quark:
 * Returns: the GQuark of SESSION_WINSTATS_ERROR.
 */
GQuark session_winstats_error_quark(void);

/**
 * session_winstats_script:
 * @mac: the test NIC's MAC, "52:54:00:.."
 *
 * Returns: (transfer full): the PowerShell script whose output
 *     session_winstats_parse_report() reads.
 */
char *session_winstats_script(const char *mac);

/**
 * session_winstats_reset_script:
 * @mac: the test NIC's MAC
 *
 * Returns: (transfer full): PowerShell that zeroes NetKVM's rx counters of
 *     that adapter (NetKvm_DiagReset type=1, as NetKVM's
 *     DebugTools/WMI/netkvm-wmi.cmd "reset rx" does) and prints
 *     "##RIG reset ok", or "##RIG error MESSAGE".
 */
char *session_winstats_reset_script(const char *mac);

/**
 * session_winstats_parse_config:
 * @json: ConvertTo-Json of a NetKvm_Config instance
 * @ret_config: (out): set only on success
 * @error: return location for a SESSION_WINSTATS_ERROR
 *
 * Returns: TRUE on success.
 */
gboolean session_winstats_parse_config(const char *json,
                                       SessionWinNetkvmConfig *ret_config,
                                       GError **error);

/**
 * session_winstats_encode_command:
 * @script: PowerShell source
 *
 * Returns: (transfer full): @script as UTF-16LE base64, the argument of
 *     powershell.exe -EncodedCommand (no quoting problems through
 *     guest-exec).
 */
char *session_winstats_encode_command(const char *script);

/**
 * session_winstats_parse_statistics:
 * @json: ConvertTo-Json of (Get-NetAdapterStatistics).RscStatistics, or of
 *     Get-NetAdapterStatistics itself (the member is then looked up)
 * @ret_stats: (out): set only on success
 * @error: return location for a SESSION_WINSTATS_ERROR
 *
 * Returns: TRUE on success.
 */
gboolean session_winstats_parse_statistics(const char *json,
                                           SessionWinRscStatistics *ret_stats,
                                           GError **error);

/**
 * session_winstats_parse_setting:
 * @json: ConvertTo-Json of Get-NetAdapterRsc
 * @ret_setting: (out): set only on success
 * @error: return location for a SESSION_WINSTATS_ERROR
 *
 * Returns: TRUE on success.
 */
gboolean session_winstats_parse_setting(const char *json,
                                        SessionWinRscSetting *ret_setting,
                                        GError **error);

/**
 * session_winstats_parse_diag:
 * @json: ConvertTo-Json of a NetKvm_Diag instance (rx and, when present,
 *     ctrl), or of its rx member alone
 * @ret_diag: (out): set only on success
 * @error: return location for a SESSION_WINSTATS_ERROR
 *
 * Returns: TRUE on success.
 */
gboolean session_winstats_parse_diag(const char *json,
                                     SessionWinNetkvmDiag *ret_diag,
                                     GError **error);

/**
 * session_winstats_parse_report:
 * @output: what session_winstats_script() printed (CRLF or LF, with or
 *     without a UTF-8 BOM)
 * @error: return location; SESSION_WINSTATS_ERROR_MISSING when the output
 *     is not from the script at all
 *
 * Sections that failed are reported in the result, not as an error.
 *
 * Returns: (transfer full): the report (session_win_report_free()), or
 *     NULL with @error set.
 */
SessionWinReport *session_winstats_parse_report(const char *output,
                                                GError **error);

/**
 * session_win_report_free:
 * @report: (nullable) (transfer full): a report
 */
void session_win_report_free(SessionWinReport *report);

/**
 * session_win_failure_reason_name:
 * @reason: an IPv4FailureReason / IPv6FailureReason value
 *
 * Only 0 ("NoFailure") is named: the other values are printed as numbers
 * rather than with names we could not check against a Windows guest.
 *
 * Returns: (transfer none) (nullable): "NoFailure" for 0, else NULL.
 */
const char *session_win_failure_reason_name(guint reason);

/**
 * session_win_report_to_json:
 * @report: a report
 *
 * Returns: (transfer full): the report as a JSON object (json_node_unref).
 */
JsonNode *session_win_report_to_json(const SessionWinReport *report);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SessionWinReport, session_win_report_free)

G_END_DECLS
