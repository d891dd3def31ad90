#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guest/guest-error.h"
#include "guest/rig-guest-cli.h"
#include "qemu/qmp.h"
#include "qemu/rsc-stats.h"

/*
 * rig-guest --script: the integration tests' worker.  One command per
 * stdin line (shell quoting), one JSON object per stdout line: {"ok": true,
 * ...} or {"ok": false, "error", "code", "domain", "command"}.
 */

static JsonBuilder *reply_begin(void)
{
    JsonBuilder *b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "ok");
    json_builder_add_boolean_value(b, TRUE);
    return b;
}

static void reply_end(JsonBuilder *b)
{
    g_autoptr(JsonNode) node = NULL;

    json_builder_end_object(b);
    node = json_builder_get_root(b);
    rig_guest_cli_print_json(node);
    g_object_unref(b);
}

static void reply_error(const char *cmd, const GError *error)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) node = NULL;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "ok");
    json_builder_add_boolean_value(b, FALSE);
    json_builder_set_member_name(b, "command");
    json_builder_add_string_value(b, cmd);
    json_builder_set_member_name(b, "error");
    json_builder_add_string_value(b, error->message);
    json_builder_set_member_name(b, "code");
    json_builder_add_int_value(b, error->code);
    json_builder_set_member_name(b, "domain");
    json_builder_add_string_value(b, g_quark_to_string(error->domain));
    json_builder_end_object(b);
    node = json_builder_get_root(b);
    rig_guest_cli_print_json(node);
}

static gboolean parse_u64_arg(char **argv, int i, guint64 *ret, GError **error)
{
    const char *text = argv[i];
    char *end = NULL;
    guint64 v;

    for (int k = 1; k < i; k++) {
        if (!argv[k]) {
            text = NULL;
            break;
        }
    }
    if (!text || !g_ascii_isdigit(text[0])) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "%s: argument %d must be a number (0x for hex)", argv[0],
                    i);
        return FALSE;
    }
    errno = 0;
    v = g_ascii_strtoull(text, &end, 0);
    if (errno != 0 || *end != '\0') {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "%s: argument %d '%s' is not a number", argv[0], i, text);
        return FALSE;
    }
    *ret = v;
    return TRUE;
}

static RigQmp *need_qmp(Session *s, GError **error)
{
    if (!s->vm) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "QMP is only available when rig-guest started QEMU");
        return NULL;
    }
    return rig_vm_get_qmp(s->vm);
}

static gboolean read_rsc_received(Session *s, guint64 *ret, GError **error)
{
    RigQmp *qmp = need_qmp(s, error);
    RigRscStats st;

    if (!qmp || !rig_qmp_read_rsc_stats(qmp, NIC_ID, &st, NULL, error)) {
        return FALSE;
    }
    *ret = st.ipv4.received + st.ipv6.received;
    return TRUE;
}

static void add_new_frames(JsonBuilder *b, Session *s, guint from)
{
    GPtrArray *frames = rig_guest_net_get_frames(s->net);

    json_builder_set_member_name(b, "frames");
    json_builder_begin_array(b);
    for (guint i = from; i < frames->len; i++) {
        json_builder_add_value(
            b, rig_guest_frame_to_json(frames->pdata[i], s->opt->keep_data));
    }
    json_builder_end_array(b);
}

static gboolean cmd_recv(Session *s, char **argv, const char *line,
                         GError **error)
{
    JsonBuilder *b;
    guint64 a = 0;
    guint64 c = 0;
    guint from = rig_guest_net_get_frames(s->net)->len;
    guint got;

    if (!parse_u64_arg(argv, 1, &a, error) ||
        !parse_u64_arg(argv, 2, &c, error) ||
        !rig_guest_net_receive(s->net, (guint)a, (guint)c, &got, error)) {
        return FALSE;
    }
    b = reply_begin();
    json_builder_set_member_name(b, "received");
    json_builder_add_int_value(b, got);
    add_new_frames(b, s, from);
    reply_end(b);
    return TRUE;
}

static gboolean cmd_step(Session *s, char **argv, const char *line,
                         GError **error)
{
    JsonBuilder *b;
    guint64 a = 0;

    if (!parse_u64_arg(argv, 1, &a, error) ||
        !rig_guest_net_clock_step(s->net, (gint64)a, error)) {
        return FALSE;
    }
    b = reply_begin();
    json_builder_set_member_name(b, "vclock_ns");
    json_builder_add_int_value(b, rig_guest_net_get_vclock(s->net));
    reply_end(b);
    return TRUE;
}

static gboolean cmd_post(Session *s, char **argv, const char *line,
                         GError **error)
{
    JsonBuilder *b;
    guint64 a = 0;
    guint posted;

    if (!parse_u64_arg(argv, 1, &a, error) ||
        !rig_guest_net_post_rx(s->net, (guint)MIN(a, G_MAXUINT), &posted,
                               error)) {
        return FALSE;
    }
    b = reply_begin();
    json_builder_set_member_name(b, "posted");
    json_builder_add_int_value(b, posted);
    reply_end(b);
    return TRUE;
}

static gboolean cmd_starve(Session *s, char **argv, const char *line,
                           GError **error)
{
    guint64 a = 0;
    guint64 c = 0;

    if (!parse_u64_arg(argv, 1, &a, error) ||
        !parse_u64_arg(argv, 2, &c, error)) {
        return FALSE;
    }
    rig_guest_net_starve(s->net, (guint)a, c);
    reply_end(reply_begin());
    return TRUE;
}

/* The offloads now acked and QEMU's resulting RSC state per family. */
static void add_offloads(JsonBuilder *b, Session *s)
{
    g_autofree char *hex =
        g_strdup_printf("0x%016" G_GINT64_MODIFIER "x",
                        (guint64)rig_guest_net_get_offloads(s->net));

    json_builder_set_member_name(b, "offloads");
    json_builder_add_string_value(b, hex);
    json_builder_set_member_name(b, "rsc_ipv4");
    json_builder_add_boolean_value(b, rig_guest_net_rsc_active(s->net, 4));
    json_builder_set_member_name(b, "rsc_ipv6");
    json_builder_add_boolean_value(b, rig_guest_net_rsc_active(s->net, 6));
}

static gboolean reply_offloads(Session *s)
{
    JsonBuilder *b = reply_begin();

    add_offloads(b, s);
    reply_end(b);
    return TRUE;
}

static gboolean cmd_offloads(Session *s, char **argv, const char *line,
                             GError **error)
{
    guint64 a = 0;

    if (!parse_u64_arg(argv, 1, &a, error) ||
        !rig_guest_net_set_offloads(s->net, a, error)) {
        return FALSE;
    }
    return reply_offloads(s);
}

static gboolean cmd_rsc(Session *s, char **argv, const char *line,
                        GError **error)
{
    int on;
    int ipv4 = -1;
    int ipv6 = -1;

    if (!argv[1] ||
        (!g_str_equal(argv[1], "on") && !g_str_equal(argv[1], "off")) ||
        (argv[2] && !g_str_equal(argv[2], "4") && !g_str_equal(argv[2], "6"))) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "rsc on|off [4|6]: turn RSC on or off for both families "
                    "or one");
        return FALSE;
    }
    on = g_str_equal(argv[1], "on");
    if (!argv[2] || g_str_equal(argv[2], "4")) {
        ipv4 = on;
    }
    if (!argv[2] || g_str_equal(argv[2], "6")) {
        ipv6 = on;
    }
    if (!rig_guest_net_set_rsc(s->net, ipv4, ipv6, error)) {
        return FALSE;
    }
    return reply_offloads(s);
}

static gboolean cmd_d0(Session *s, char **argv, const char *line,
                       GError **error)
{
    if (!rig_guest_net_enter_d0(s->net, error)) {
        return FALSE;
    }
    return reply_offloads(s);
}

static gboolean cmd_reset(Session *s, char **argv, const char *line,
                          GError **error)
{
    JsonBuilder *b;
    g_autofree char *features = NULL;

    if (!rig_guest_net_reset(s->net, error)) {
        return FALSE;
    }
    features = g_strdup_printf("0x%016" G_GINT64_MODIFIER "x",
                               (guint64)rig_guest_net_get_features(s->net));
    b = reply_begin();
    json_builder_set_member_name(b, "resets");
    json_builder_add_int_value(b, (gint64)rig_guest_net_get_resets(s->net));
    json_builder_set_member_name(b, "features");
    json_builder_add_string_value(b, features);
    add_offloads(b, s);
    json_builder_set_member_name(b, "rx_free");
    json_builder_add_int_value(b,
                               (gint64)rig_guest_net_free_rx_buffers(s->net));
    reply_end(b);
    return TRUE;
}

static gboolean cmd_stats(Session *s, char **argv, const char *line,
                          GError **error)
{
    JsonBuilder *b;

    g_autoptr(JsonNode) st =
        rig_guest_net_stats_to_json(s->net, g_str_equal(argv[0], "frames"));

    b = reply_begin();
    json_builder_set_member_name(b, "stats");
    json_builder_add_value(b, g_steal_pointer(&st));
    reply_end(b);
    return TRUE;
}

static gboolean cmd_log(Session *s, char **argv, const char *line,
                        GError **error)
{
    JsonBuilder *b;
    GPtrArray *frames = rig_guest_net_get_frames(s->net);

    b = reply_begin();
    json_builder_set_member_name(b, "log");
    json_builder_begin_array(b);
    for (guint i = 0; i < frames->len; i++) {
        g_autofree char *entry = rig_guest_frame_log_line(frames->pdata[i]);

        json_builder_add_string_value(b, entry);
    }
    json_builder_end_array(b);
    reply_end(b);
    return TRUE;
}

static gboolean cmd_send(Session *s, char **argv, const char *line,
                         GError **error)
{
    g_autofree uint8_t *frame = NULL;
    size_t n;

    if (!argv[1] || strlen(argv[1]) % 2 != 0) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "send needs the frame as an even number of hex "
                    "digits");
        return FALSE;
    }
    n = strlen(argv[1]) / 2;
    frame = g_malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        int hi = g_ascii_xdigit_value(argv[1][2 * i]);
        int lo = g_ascii_xdigit_value(argv[1][2 * i + 1]);

        if (hi < 0 || lo < 0) {
            g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                        "send: not hex at byte %zu", i);
            return FALSE;
        }
        frame[i] = (uint8_t)(hi << 4 | lo);
    }
    if (!rig_guest_net_send(s->net, frame, n, error)) {
        return FALSE;
    }
    reply_end(reply_begin());
    return TRUE;
}

static gboolean cmd_poke(Session *s, char **argv, const char *line,
                         GError **error)
{
    guint64 width = 0;
    guint64 addr = 0;
    guint64 value = 0;

    /* Fault injection: play a buggy device writing guest RAM. */
    if (!parse_u64_arg(argv, 1, &width, error) ||
        !parse_u64_arg(argv, 2, &addr, error) ||
        !parse_u64_arg(argv, 3, &value, error)) {
        return FALSE;
    }
    if (width != 1 && width != 2 && width != 4 && width != 8) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "poke: width must be 1, 2, 4 or 8");
        return FALSE;
    }
    if (!rig_qtest_write(s->qtest, (int)width, addr, value, error)) {
        return FALSE;
    }
    reply_end(reply_begin());
    return TRUE;
}

static gboolean cmd_rsc_received(Session *s, char **argv, const char *line,
                                 GError **error)
{
    JsonBuilder *b;
    guint64 a = 0;

    if (!read_rsc_received(s, &a, error)) {
        return FALSE;
    }
    b = reply_begin();
    json_builder_set_member_name(b, "received");
    json_builder_add_int_value(b, (gint64)a);
    reply_end(b);
    return TRUE;
}

static gboolean cmd_wait_rsc_received(Session *s, char **argv, const char *line,
                                      GError **error)
{
    JsonBuilder *b;
    guint64 a = 0;
    guint64 c = 0;
    gint64 deadline;
    guint64 now = 0;

    if (!parse_u64_arg(argv, 1, &a, error) ||
        !parse_u64_arg(argv, 2, &c, error)) {
        return FALSE;
    }
    deadline = g_get_monotonic_time() + (gint64)c * 1000;
    for (;;) {
        if (!read_rsc_received(s, &now, error)) {
            return FALSE;
        }
        if (now >= a) {
            break;
        }
        if (g_get_monotonic_time() >= deadline) {
            g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_TIMEOUT,
                        "rsc-stats received is %" G_GUINT64_FORMAT
                        ", not %" G_GUINT64_FORMAT " after %" G_GUINT64_FORMAT
                        " ms",
                        now, a, c);
            return FALSE;
        }
        g_usleep(1000);
    }
    b = reply_begin();
    json_builder_set_member_name(b, "received");
    json_builder_add_int_value(b, (gint64)now);
    reply_end(b);
    return TRUE;
}

static gboolean cmd_rsc_stats(Session *s, char **argv, const char *line,
                              GError **error)
{
    JsonBuilder *b;
    RigQmp *qmp = need_qmp(s, error);
    RigRscStats st;

    if (!qmp || !rig_qmp_read_rsc_stats(qmp, NIC_ID, &st, NULL, error)) {
        return FALSE;
    }
    b = reply_begin();
    json_builder_set_member_name(b, "rsc_stats");
    json_builder_add_value(b, rig_rsc_stats_to_json(&st));
    reply_end(b);
    return TRUE;
}

static gboolean cmd_qmp(Session *s, char **argv, const char *line,
                        GError **error)
{
    JsonBuilder *b;
    RigQmp *qmp = need_qmp(s, error);
    g_autoptr(JsonNode) args = NULL;
    g_autoptr(JsonNode) ret = NULL;

    if (!qmp) {
        return FALSE;
    }
    if (!argv[1]) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "qmp needs a command name");
        return FALSE;
    }
    if (argv[2]) {
        /* JSON keeps its quotes: take the raw text after the name. */
        const char *text = strstr(line, argv[1]) + strlen(argv[1]);

        args = json_from_string(text, error);
        if (!args) {
            return FALSE;
        }
    }
    ret = rig_qmp_execute(qmp, argv[1], args, error);
    if (!ret) {
        return FALSE;
    }
    b = reply_begin();
    json_builder_set_member_name(b, "return");
    json_builder_add_value(b, g_steal_pointer(&ret));
    reply_end(b);
    return TRUE;
}

static const struct {
    const char *name;
    gboolean (*run)(Session *s, char **argv, const char *line, GError **error);
} commands[] = {
    {"recv", cmd_recv},
    {"step", cmd_step},
    {"post", cmd_post},
    {"starve", cmd_starve},
    {"offloads", cmd_offloads},
    {"rsc", cmd_rsc},
    {"d0", cmd_d0},
    {"reset", cmd_reset},
    {"stats", cmd_stats},
    {"frames", cmd_stats},
    {"log", cmd_log},
    {"send", cmd_send},
    {"poke", cmd_poke},
    {"rsc-received", cmd_rsc_received},
    {"wait-rsc-received", cmd_wait_rsc_received},
    {"rsc-stats", cmd_rsc_stats},
    {"qmp", cmd_qmp},
};

static gboolean script_command(Session *s, char **argv, const char *line,
                               GError **error)
{
    for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (g_str_equal(argv[0], commands[i].name)) {
            return commands[i].run(s, argv, line, error);
        }
    }
    g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                "unknown command '%s' (recv N MS, step NS, post N, starve "
                "FRAMES US, offloads MASK, rsc on|off [4|6], d0, reset, stats, "
                "frames, log, send HEX, "
                "poke WIDTH ADDR VALUE, rsc-received, wait-rsc-received N MS, "
                "rsc-stats, qmp CMD [JSON], quit)",
                argv[0]);
    return FALSE;
}

int rig_guest_cli_run_script(Session *s)
{
    g_autoptr(GIOChannel) in = g_io_channel_unix_new(STDIN_FILENO);
    gboolean quit = FALSE;

    while (!quit) {
        g_autofree char *line = NULL;
        g_auto(GStrv) argv = NULL;
        g_autoptr(GError) error = NULL;
        GIOStatus st = g_io_channel_read_line(in, &line, NULL, NULL, &error);

        if (st == G_IO_STATUS_EOF) {
            break;
        }
        if (st != G_IO_STATUS_NORMAL) {
            fprintf(stderr, "rig-guest: reading commands: %s\n",
                    error ? error->message : "failed");
            return EXIT_CANNOT_RUN;
        }
        g_strstrip(line);
        if (line[0] == '\0' || line[0] == '#') {
            continue;
        }
        if (!g_shell_parse_argv(line, NULL, &argv, &error)) {
            reply_error(line, error);
            continue;
        }
        if (g_str_equal(argv[0], "quit")) {
            quit = TRUE;
            reply_end(reply_begin());
        } else if (!script_command(s, argv, line, &error)) {
            reply_error(argv[0], error);
        }
    }
    return 0;
}
