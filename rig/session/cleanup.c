/*
 * `rig session rsc-cleanup`: see session.h and cleanup.h.
 */
#include "session/cleanup.h"

#include <stdio.h>
#include <string.h>

#include "qemu/qga.h"
#include "session/query.h"
#include "session/session.h"
#include "session/state.h"
#include "session/winstats.h"

#define MARK "##RIG "

char *session_cleanup_script(void)
{
    return g_strdup(
        "$ErrorActionPreference = 'Continue'\n"
        "$sys = @('coalesce.sys', 'spartadrv.sys', 'netcapdrv6.sys')\n"
        "$inf = Join-Path $env:windir 'INF'\n"
        "$drv = Join-Path $env:windir 'System32\\drivers'\n"
        "foreach ($f in Get-ChildItem -Path $inf -Filter 'oem*.inf') {\n"
        "  $text = Get-Content -Raw -LiteralPath $f.FullName\n"
        "  foreach ($s in $sys) {\n"
        "    if ($text -notmatch [regex]::Escape($s)) { continue }\n"
        "    $out = & pnputil.exe /delete-driver $f.Name /uninstall /force"
        " 2>&1 | Out-String\n"
        "    if ($LASTEXITCODE -eq 0) { '" MARK "removed ' + $f.Name + ' ' +"
        " $s }\n"
        "    else { '" MARK "failed ' + $f.Name + ': ' + $out.Trim() }\n"
        "  }\n"
        "}\n"
        "foreach ($s in $sys) {\n"
        "  $p = Join-Path $drv $s\n"
        "  if (Test-Path -LiteralPath $p) {\n"
        "    try { Remove-Item -Force -LiteralPath $p -ErrorAction Stop;"
        " '" MARK "deleted ' + $s }\n"
        "    catch { '" MARK "failed ' + $s + ': ' + $_.Exception.Message }\n"
        "  }\n"
        "}\n"
        "$left = 0\n"
        "foreach ($f in Get-ChildItem -Path $inf -Filter 'oem*.inf') {\n"
        "  $text = Get-Content -Raw -LiteralPath $f.FullName\n"
        "  foreach ($s in $sys) { if ($text -match [regex]::Escape($s))"
        " { $left++ } }\n"
        "}\n"
        "foreach ($s in $sys) { if (Test-Path -LiteralPath (Join-Path $drv"
        " $s)) { $left++ } }\n"
        "'" MARK "left ' + $left\n"
        "'" MARK "end'\n");
}

gboolean session_cleanup_parse(const char *output, char **ret_removed,
                               GError **error)
{
    g_auto(GStrv) lines = g_strsplit(output, "\n", -1);
    g_autoptr(GString) removed = g_string_new(NULL);
    g_autoptr(GString) failed = g_string_new(NULL);
    gint64 left = -1;
    gboolean end = FALSE;

    for (gsize i = 0; lines[i] != NULL; i++) {
        const char *mark;

        g_strstrip(lines[i]);
        if (!g_str_has_prefix(lines[i], MARK)) {
            continue;
        }
        mark = lines[i] + strlen(MARK);
        if (g_str_has_prefix(mark, "removed ") ||
            g_str_has_prefix(mark, "deleted ")) {
            g_string_append_printf(removed, "%s\n", mark);
        } else if (g_str_has_prefix(mark, "failed ")) {
            g_string_append_printf(failed, "%s%s", failed->len > 0 ? "; " : "",
                                   mark + strlen("failed "));
        } else if (g_str_has_prefix(mark, "left ")) {
            left = g_ascii_strtoll(mark + strlen("left "), NULL, 10);
        } else if (g_str_equal(mark, "end")) {
            end = TRUE;
        }
    }
    if (!end || left < 0) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "the cleanup script did not run to its end%s%s",
                    failed->len > 0 ? ": " : "", failed->str);
        return FALSE;
    }
    if (left > 0 || failed->len > 0) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "%" G_GINT64_FORMAT " of the RSC test's helper drivers "
                    "are still installed%s%s (reboot the guest and run "
                    "rsc-cleanup again)",
                    left, failed->len > 0 ? ": " : "", failed->str);
        return FALSE;
    }
    *ret_removed = g_string_free(g_steal_pointer(&removed), FALSE);
    return TRUE;
}

gboolean session_rsc_cleanup(const char *state_root, guint id, const char *vm,
                             GError **error)
{
    g_autoptr(SessionState) state = session_state_load(state_root, id, error);
    g_autoptr(RigQgaClient) qga = NULL;
    g_autoptr(RigQgaExecResult) result = NULL;
    g_autofree char *script = session_cleanup_script();
    g_autofree char *encoded = NULL;
    g_autofree char *out = NULL;
    g_autofree char *removed = NULL;
    SessionVmState *client;
    const char *data;
    gsize len = 0;

    if (state == NULL) {
        return FALSE;
    }
    client = session_find_client(state, vm, error);
    if (client == NULL) {
        return FALSE;
    }
    encoded = session_winstats_encode_command(script);
    {
        const char *const args[] = {
            "-NoProfile", "-NonInteractive", "-ExecutionPolicy",
            "Bypass",     "-EncodedCommand", encoded,
            NULL};

        qga = rig_qga_client_connect(client->qga, SESSION_AGENT_TIMEOUT_MS,
                                     error);
        if (qga == NULL ||
            !rig_qga_client_exec(qga, "powershell.exe", args, NULL,
                                 SESSION_EXEC_TIMEOUT_MS, &result, error)) {
            g_prefix_error(error, "%s: guest agent: ", vm);
            return FALSE;
        }
    }
    data = g_bytes_get_data(result->out, &len);
    out = g_strndup(data, len);
    if (!session_cleanup_parse(out, &removed, error)) {
        g_prefix_error(error, "%s: ", vm);
        return FALSE;
    }
    printf("%s: %s", vm,
           removed[0] != '\0' ? "removed:\n"
                              : "no RSC test helper driver "
                                "was installed\n");
    if (removed[0] != '\0') {
        g_auto(GStrv) lines = g_strsplit(g_strchomp(removed), "\n", -1);

        for (gsize i = 0; lines[i] != NULL; i++) {
            printf("  %s\n", lines[i]);
        }
        printf("a reboot of %s before the next \"Run RSC Tests\" is "
               "recommended\n",
               vm);
    }
    fflush(stdout);
    return TRUE;
}
