/*
 * Session processes: see process.h.
 */
#include "session/process.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "qemu/qmp.h"
#include "session/session.h"

#define QUIT_TIMEOUT_MS 5000
#define TERM_TIMEOUT_MS 3000

static char *read_cmdline(gint64 pid)
{
    g_autofree char *stat_path =
        g_strdup_printf("/proc/%" G_GINT64_FORMAT "/stat", pid);
    g_autofree char *cmd_path =
        g_strdup_printf("/proc/%" G_GINT64_FORMAT "/cmdline", pid);
    g_autofree char *stat = NULL;
    g_autofree char *cmdline = NULL;
    gsize len = 0;
    const char *paren;

    if (!g_file_get_contents(stat_path, &stat, NULL, NULL) ||
        !g_file_get_contents(cmd_path, &cmdline, &len, NULL)) {
        return NULL;
    }
    paren = strrchr(stat, ')');
    if (paren == NULL || paren[1] == '\0' || paren[2] == 'Z' ||
        paren[2] == 'X') {
        return NULL;
    }
    for (gsize i = 0; i < len; i++) {
        if (cmdline[i] == '\0') {
            cmdline[i] = ' ';
        }
    }
    return g_steal_pointer(&cmdline);
}

gboolean session_pid_alive(gint64 pid, const char *marker)
{
    g_autofree char *cmdline = NULL;

    if (pid <= 0) {
        return FALSE;
    }
    cmdline = read_cmdline(pid);
    return cmdline != NULL && (marker == NULL || strstr(cmdline, marker));
}

gint64 session_read_pidfile(const char *path)
{
    g_autofree char *text = NULL;
    guint64 pid = 0;

    if (!g_file_get_contents(path, &text, NULL, NULL) ||
        !g_ascii_string_to_unsigned(g_strstrip(text), 10, 1, G_MAXINT32, &pid,
                                    NULL)) {
        return 0;
    }
    return (gint64)pid;
}

GArray *session_find_processes(const char *marker)
{
    GArray *pids = g_array_new(FALSE, FALSE, sizeof(gint64));
    g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
    const char *name;

    while (proc != NULL && (name = g_dir_read_name(proc)) != NULL) {
        guint64 pid;

        if (g_ascii_string_to_unsigned(name, 10, 1, G_MAXINT32, &pid, NULL) &&
            (pid_t)pid != getpid() && session_pid_alive((gint64)pid, marker)) {
            gint64 v = (gint64)pid;

            g_array_append_val(pids, v);
        }
    }
    return pids;
}

static gboolean wait_gone(gint64 pid, const char *marker, guint timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    while (session_pid_alive(pid, marker)) {
        if (g_get_monotonic_time() >= deadline) {
            return FALSE;
        }
        g_usleep(20000);
    }
    return TRUE;
}

gboolean session_stop_process(gint64 pid, const char *marker,
                              const char *qmp_path, const char *what,
                              GError **error)
{
    if (!session_pid_alive(pid, marker)) {
        return TRUE;
    }
    if (qmp_path != NULL) {
        g_autoptr(RigQmp) qmp =
            rig_qmp_connect_unix(qmp_path, QUIT_TIMEOUT_MS, NULL);

        if (qmp != NULL) {
            g_autoptr(JsonNode) ret = rig_qmp_execute(qmp, "quit", NULL, NULL);
        }
        if (wait_gone(pid, marker, QUIT_TIMEOUT_MS)) {
            return TRUE;
        }
    }
    kill((pid_t)pid, SIGTERM);
    if (wait_gone(pid, marker, TERM_TIMEOUT_MS)) {
        return TRUE;
    }
    kill((pid_t)pid, SIGKILL);
    if (wait_gone(pid, marker, TERM_TIMEOUT_MS)) {
        return TRUE;
    }
    g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                "%s (pid %" G_GINT64_FORMAT ") survived SIGKILL", what, pid);
    return FALSE;
}
