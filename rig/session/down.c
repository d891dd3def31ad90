/*
 * `rig session down`: see session.h and teardown.h.
 */
#include "session/teardown.h"

#include <glib/gstdio.h>

#include "session/net.h"
#include "session/process.h"
#include "session/session.h"

static void keep_first(GError **first, GError *error)
{
    if (*first == NULL) {
        *first = error;
    } else {
        g_error_free(error);
    }
}

/* Every process whose command line names the session directory. */
static void stop_stragglers(const char *marker, GError **first)
{
    g_autoptr(GArray) pids = session_find_processes(marker);

    for (guint i = 0; i < pids->len; i++) {
        gint64 pid = g_array_index(pids, gint64, i);
        GError *local = NULL;

        g_printerr("rig session: stopping pid %" G_GINT64_FORMAT
                   ", a process of the session the state did not record\n",
                   pid);
        if (!session_stop_process(pid, marker, NULL, "a session process",
                                  &local)) {
            keep_first(first, local);
        }
    }
}

gboolean session_teardown(SessionState *state, GError **error)
{
    g_autofree char *marker = g_strconcat(state->dir, "/", NULL);
    g_autoptr(GArray) left = NULL;
    GError *first = NULL;

    for (guint i = 0; i < state->vms->len; i++) {
        SessionVmState *vm = g_ptr_array_index(state->vms, i);
        g_autofree char *what = g_strdup_printf("QEMU of %s", vm->name);
        gint64 pids[2] = {vm->pid, session_read_pidfile(vm->pidfile)};
        GError *local = NULL;

        for (int p = 0; p < 2; p++) {
            if (pids[p] > 0 && (p == 0 || pids[1] != pids[0]) &&
                !session_stop_process(pids[p], marker, vm->qmp, what, &local)) {
                keep_first(&first, local);
                local = NULL;
            }
        }
    }
    if (state->keeper_pid > 0) {
        GError *local = NULL;

        if (!session_stop_process(state->keeper_pid, marker, NULL,
                                  "the session's keep-offloads process",
                                  &local)) {
            keep_first(&first, local);
        }
    }
    stop_stragglers(marker, &first);
    if (state->netns != NULL) {
        GError *local = NULL;

        if (!session_net_delete_netns(state->netns, &local)) {
            keep_first(&first, local);
        }
    }
    /* Bridges the rig made in the host namespace (netns = false). */
    for (guint i = 0; i < state->bridges->len; i++) {
        GError *local = NULL;

        if (!session_net_delete_link(g_ptr_array_index(state->bridges, i),
                                     &local)) {
            keep_first(&first, local);
        }
    }
    left = session_find_processes(marker);
    if (left->len > 0 && first == NULL) {
        g_set_error(
            &first, SESSION_ERROR, SESSION_ERROR_FAILED,
            "%u process(es) of session %u still run (pid %" G_GINT64_FORMAT
            "): state kept in %s",
            left->len, state->id, g_array_index(left, gint64, 0), state->dir);
    }
    if (first != NULL) {
        g_propagate_error(error, first);
        return FALSE;
    }
    return TRUE;
}

void session_remove_dir(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = g_build_filename(dir, name, NULL);

        g_unlink(path);
    }
    g_rmdir(dir);
}

gboolean session_down(const char *state_root, guint id, GError **error)
{
    const char *root = state_root != NULL ? state_root : session_state_root();
    g_autofree char *dir = session_dir(state_root, id);
    g_autoptr(SessionState) state = NULL;

    if (!session_check_private_dir(root, error) ||
        !session_check_private_dir(dir, error)) {
        return FALSE;
    }
    state = session_state_load(state_root, id, error);
    if (state == NULL) {
        /*
         * A damaged state file names nothing we may act on, but the
         * session's QEMUs are still known by their command lines.
         */
        g_autofree char *marker = g_strconcat(dir, "/", NULL);
        GError *ignored = NULL;

        stop_stragglers(marker, &ignored);
        g_clear_error(&ignored);
        return FALSE;
    }
    if (!session_teardown(state, error)) {
        return FALSE;
    }
    session_remove_dir(state->dir);
    return TRUE;
}
