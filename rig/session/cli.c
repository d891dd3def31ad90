/*
 * `rig session` command line: see session.h and `rig session --help`.
 */
#include "session/session.h"

#include "session/offloads.h"
#include "session/profile.h"
#include "session/state.h"

#include <stdio.h>
#include <string.h>

#define EXIT_FAILED        1
#define EXIT_USAGE         2
#define EXIT_NOT_SUPPORTED 3
#define EXIT_INTERRUPTED   130

static const char SESSION_SUMMARY[] =
    "Commands:\n"
    "  up PROFILE --image VM=PATH...  start a studio and its clients from a\n"
    "                                 session profile "
    "(hck-profiles/studio-*.ini)\n"
    "                                 and return; prints how to reach each VM\n"
    "  status [--json]                processes, VNC, sockets, NICs, RSC "
    "options\n"
    "  stats [VM] [--json] [--reset]  RSC counters: QEMU (device) and Windows\n"
    "                                 (guest agent) side by side, and the\n"
    "                                 relations between them; --reset zeroes\n"
    "                                 NetKVM's rx counters first\n"
    "  set-interval VM NS             change rsc_interval of a running client\n"
    "                                 (the fixed QEMU), prints the value read\n"
    "                                 back\n"
    "  rsc-cleanup VM                 remove the HLK RSC test's helper "
    "drivers\n"
    "                                 (coalesce.sys, spartadrv.sys,\n"
    "                                 netcapdrv6.sys) through the guest agent\n"
    "  down [--all]                   stop the VMs, remove taps, bridges, "
    "netns\n"
    "  list                           ids of existing sessions\n"
    "  keep-offloads                  (internal, started by up) keeps TX\n"
    "                                 offload off on the session's taps\n"
    "\n"
    "Every command takes --id N (needed when several sessions exist) and\n"
    "--state-dir DIR (default $RIG_SESSION_DIR or /run/rsc-rig/sessions).\n"
    "Exit codes: 0 ok, 1 failure, 2 usage, 3 not supported (set-interval\n"
    "needs a restart), 130 interrupted.  All options: rig session COMMAND\n"
    "--help.  Profile keys: hck-profiles/README.md, \"Session profiles\".";

static int session_exit_code(const GError *error)
{
    /* A profile that does not validate is a usage problem too. */
    if (error->domain == SESSION_PROFILE_ERROR) {
        return EXIT_USAGE;
    }
    if (error->domain == SESSION_ERROR) {
        switch (error->code) {
        case SESSION_ERROR_USAGE:
            return EXIT_USAGE;
        case SESSION_ERROR_NOT_SUPPORTED:
            return EXIT_NOT_SUPPORTED;
        case SESSION_ERROR_INTERRUPTED:
            return EXIT_INTERRUPTED;
        default:
            return EXIT_FAILED;
        }
    }
    return EXIT_FAILED;
}

static int session_fail(GError *error)
{
    int code = session_exit_code(error);

    g_printerr("rig session: error: %s\n", error->message);
    g_error_free(error);
    return code;
}

typedef struct {
    gint id;
    char *state_dir;
    gboolean json;
    gboolean all;
    gboolean reset;
    char **images;
    char *qemu;
} CliOptions;

static gboolean session_parse(GOptionContext *ctx, int *argc, char ***argv,
                              int *ret_code)
{
    g_autoptr(GError) error = NULL;

    if (!g_option_context_parse(ctx, argc, argv, &error)) {
        g_printerr("rig session: %s (try --help)\n", error->message);
        *ret_code = EXIT_USAGE;
        return FALSE;
    }
    return TRUE;
}

static int cmd_up(CliOptions *o, int argc, char **argv)
{
    g_autoptr(GHashTable) images =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    SessionUpOptions up = {0};
    GError *error = NULL;
    guint id = 0;

    if (argc != 2) {
        g_printerr("rig session up: expected one PROFILE argument "
                   "(try --help)\n");
        return EXIT_USAGE;
    }
    for (gsize i = 0; o->images != NULL && o->images[i] != NULL; i++) {
        const char *eq = strchr(o->images[i], '=');

        if (eq == NULL || eq == o->images[i] || eq[1] == '\0') {
            g_printerr("rig session up: --image %s: expected VM=PATH, e.g. "
                       "--image studio=ST.qcow2\n",
                       o->images[i]);
            return EXIT_USAGE;
        }
        g_hash_table_replace(images, g_strndup(o->images[i], eq - o->images[i]),
                             g_strdup(eq + 1));
    }
    up.profile_path = argv[1];
    up.images = images;
    up.id = (guint)o->id;
    up.state_root = o->state_dir;
    up.qemu = o->qemu;
    if (!session_up(&up, &id, &error)) {
        return session_fail(error);
    }
    return 0;
}

static int cmd_down(CliOptions *o, int argc, char **argv)
{
    GError *error = NULL;
    g_autoptr(GArray) ids = NULL;
    int code = 0;

    if (argc != 1) {
        g_printerr("rig session down: unexpected argument %s\n", argv[1]);
        return EXIT_USAGE;
    }
    if (o->all) {
        ids = session_list_ids(o->state_dir);
    } else {
        guint id = 0;

        if (!session_resolve_id(o->state_dir, (guint)o->id, &id, &error)) {
            return session_fail(error);
        }
        ids = g_array_new(FALSE, FALSE, sizeof(guint));
        g_array_append_val(ids, id);
    }
    for (guint i = 0; i < ids->len; i++) {
        guint id = g_array_index(ids, guint, i);

        if (!session_down(o->state_dir, id, &error)) {
            code = session_fail(error);
            error = NULL;
            continue;
        }
        printf("session %u is down\n", id);
    }
    return code;
}

static int cmd_query(const char *cmd, CliOptions *o, int argc, char **argv)
{
    GError *error = NULL;
    guint id = 0;
    gboolean ok;

    if (!session_resolve_id(o->state_dir, (guint)o->id, &id, &error)) {
        return session_fail(error);
    }
    if (g_str_equal(cmd, "status")) {
        if (argc != 1) {
            g_printerr("rig session status: unexpected argument %s\n", argv[1]);
            return EXIT_USAGE;
        }
        ok = session_status(o->state_dir, id, o->json, &error);
    } else if (g_str_equal(cmd, "stats")) {
        if (argc > 2) {
            g_printerr("rig session stats: at most one VM argument\n");
            return EXIT_USAGE;
        }
        ok = session_stats(o->state_dir, id, argc == 2 ? argv[1] : NULL,
                           o->json, o->reset, &error);
    } else if (g_str_equal(cmd, "rsc-cleanup")) {
        if (argc != 2) {
            g_printerr("rig session rsc-cleanup: expected one VM (a client), "
                       "e.g. rsc-cleanup client1\n");
            return EXIT_USAGE;
        }
        ok = session_rsc_cleanup(o->state_dir, id, argv[1], &error);
    } else {
        guint64 ns = 0;

        if (argc != 3 || !g_ascii_string_to_unsigned(argv[2], 10, 1,
                                                     G_MAXUINT32, &ns, NULL)) {
            g_printerr("rig session set-interval: expected VM and a "
                       "positive interval in ns, e.g. set-interval client1 "
                       "1000000\n");
            return EXIT_USAGE;
        }
        ok = session_set_interval(o->state_dir, id, argv[1], ns, &error);
    }
    return ok ? 0 : session_fail(error);
}

/* Internal: started by `up`, argument the session directory + "/". */
static int cmd_keep_offloads(CliOptions *o, int argc, char **argv)
{
    g_autofree char *dir = NULL;
    g_autofree char *marker = NULL;

    if (o->id <= 0 || argc != 2) {
        g_printerr("rig session keep-offloads: started by `rig session "
                   "up` (--id N --state-dir DIR SESSION_DIR/)\n");
        return EXIT_USAGE;
    }
    dir = session_dir(o->state_dir, (guint)o->id);
    marker = g_strconcat(dir, "/", NULL);
    if (!g_str_equal(argv[1], marker)) {
        g_printerr("rig session keep-offloads: %s is not %s\n", argv[1],
                   marker);
        return EXIT_USAGE;
    }
    return session_keep_offloads_main(o->state_dir, (guint)o->id);
}

static int cmd_list(CliOptions *o)
{
    g_autoptr(GArray) ids = session_list_ids(o->state_dir);

    for (guint i = 0; i < ids->len; i++) {
        printf("%u\n", g_array_index(ids, guint, i));
    }
    return 0;
}

int session_cli_main(int argc, char **argv)
{
    static const char *const commands[] = {
        "up",   "down",        "status",        "stats", "set-interval",
        "list", "rsc-cleanup", "keep-offloads", NULL};
    CliOptions o = {0};
    GOptionEntry common[] = {
        {"id", 0, 0, G_OPTION_ARG_INT, &o.id,
         "session id (1..255); default: the only one / the lowest free", "N"},
        {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &o.state_dir,
         "session state root", "DIR"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &o.json,
         "machine-readable output (status, stats)", NULL},
        {"all", 0, 0, G_OPTION_ARG_NONE, &o.all, "down: every session", NULL},
        {"reset", 0, 0, G_OPTION_ARG_NONE, &o.reset,
         "stats: zero NetKVM's rx counters first (NetKvm_DiagReset)", NULL},
        {"image", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o.images,
         "up: disk image of a VM (repeat per VM), opened read-only", "VM=PATH"},
        {"qemu", 0, 0, G_OPTION_ARG_FILENAME, &o.qemu,
         "up: QEMU binary (default $RIG_QEMU or the patched build)", "PATH"},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    g_autoptr(GOptionContext) ctx = NULL;
    const char *cmd = argc > 1 ? argv[1] : NULL;
    int code = 0;

    if (cmd == NULL || g_str_equal(cmd, "--help") || g_str_equal(cmd, "-h") ||
        g_str_equal(cmd, "help")) {
        printf("Usage: rig session COMMAND [OPTION...]\n\n%s\n",
               SESSION_SUMMARY);
        return cmd == NULL ? EXIT_USAGE : 0;
    }
    if (!g_strv_contains(commands, cmd)) {
        g_printerr("rig session: unknown command \"%s\" (try rig session "
                   "--help)\n",
                   cmd);
        return EXIT_USAGE;
    }
    ctx = g_option_context_new(g_str_equal(cmd, "up")            ? "PROFILE"
                               : g_str_equal(cmd, "stats")       ? "[VM]"
                               : g_str_equal(cmd, "rsc-cleanup") ? "VM"
                               : g_str_equal(cmd, "set-interval")
                                   ? "VM NANOSECONDS"
                                   : "");
    g_option_context_set_summary(ctx, SESSION_SUMMARY);
    g_option_context_add_main_entries(ctx, common, NULL);
    argc--;
    argv++;
    if (!session_parse(ctx, &argc, &argv, &code)) {
        goto out;
    }
    if (o.id < 0 || o.id > SESSION_MAX_ID) {
        g_printerr("rig session: --id must be in 1..%d\n", SESSION_MAX_ID);
        code = EXIT_USAGE;
    } else if (g_str_equal(cmd, "up")) {
        code = cmd_up(&o, argc, argv);
    } else if (g_str_equal(cmd, "down")) {
        code = cmd_down(&o, argc, argv);
    } else if (g_str_equal(cmd, "list")) {
        code = cmd_list(&o);
    } else if (g_str_equal(cmd, "keep-offloads")) {
        code = cmd_keep_offloads(&o, argc, argv);
    } else {
        code = cmd_query(cmd, &o, argc, argv);
    }
out:
    g_free(o.state_dir);
    g_free(o.qemu);
    g_strfreev(o.images);
    return code;
}
