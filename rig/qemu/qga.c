/*
 * QEMU guest agent client: see qga.h.
 */
#include "qemu/qga.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qemu/unix-socket.h"

/* The agent's "flush your parser" byte, and the marker it sends back. */
#define QGA_SENTINEL 0xFF
/* Longest reply line we accept: guest-exec-status carries the output. */
#define QGA_MAX_LINE    (64 * 1024 * 1024)
#define QGA_POLL_MIN_MS 20
#define QGA_POLL_MAX_MS 250

struct RigQgaClient {
    int fd;
    char *path;
    guint timeout_ms;
    GByteArray *rx;
};

GQuark rig_qga_error_quark(void)
{
    return g_quark_from_static_string("rig-qga-error-quark");
}

static gboolean qga_wait(RigQgaClient *client, short events, gint64 deadline,
                         GError **error)
{
    for (;;) {
        struct pollfd pfd = {.fd = client->fd, .events = events};
        int left = rig_remaining_ms(deadline);
        int r;

        if (left == 0) {
            g_set_error(error, RIG_QGA_ERROR, RIG_QGA_ERROR_NO_AGENT,
                        "no reply from the guest agent on %s within the "
                        "deadline: is the agent (qemu-ga, or the virtio-win "
                        "guest agent service) installed and running in the "
                        "guest?",
                        client->path);
            return FALSE;
        }
        r = poll(&pfd, 1, left);
        if (r > 0) {
            return TRUE;
        }
        if (r < 0 && errno != EINTR) {
            g_set_error(error, RIG_QGA_ERROR, RIG_QGA_ERROR_IO,
                        "poll on %s: %s", client->path, g_strerror(errno));
            return FALSE;
        }
    }
}

static gboolean qga_send(RigQgaClient *client, const char *data, gsize len,
                         gint64 deadline, GError **error)
{
    while (len > 0) {
        ssize_t n = send(client->fd, data, len, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                if (!qga_wait(client, POLLOUT, deadline, error)) {
                    return FALSE;
                }
                continue;
            }
            g_set_error(error, RIG_QGA_ERROR, RIG_QGA_ERROR_IO,
                        "writing to the guest agent on %s: %s", client->path,
                        g_strerror(errno));
            return FALSE;
        }
        data += n;
        len -= (gsize)n;
    }
    return TRUE;
}

/* Reads whatever is available into client->rx, waiting until @deadline. */
static gboolean qga_fill(RigQgaClient *client, gint64 deadline, GError **error)
{
    guint8 buf[65536];

    for (;;) {
        ssize_t n = recv(client->fd, buf, sizeof(buf), 0);

        if (n > 0) {
            if (client->rx->len + (gsize)n > QGA_MAX_LINE) {
                g_set_error(error, RIG_QGA_ERROR, RIG_QGA_ERROR_PROTOCOL,
                            "guest agent reply on %s exceeds %d bytes",
                            client->path, QGA_MAX_LINE);
                return FALSE;
            }
            g_byte_array_append(client->rx, buf, (guint)n);
            return TRUE;
        }
        if (n == 0) {
            g_set_error(error, RIG_QGA_ERROR, RIG_QGA_ERROR_IO,
                        "the guest agent socket %s was closed (VM stopped, "
                        "or another client took the channel)",
                        client->path);
            return FALSE;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN) {
            g_set_error(error, RIG_QGA_ERROR, RIG_QGA_ERROR_IO,
                        "reading from the guest agent on %s: %s", client->path,
                        g_strerror(errno));
            return FALSE;
        }
        if (!qga_wait(client, POLLIN, deadline, error)) {
            return FALSE;
        }
    }
}

/*
 * Takes the next non-empty line out of client->rx (sentinel bytes are
 * dropped); reads more until one is complete.
 */
static char *qga_read_line(RigQgaClient *client, gint64 deadline,
                           GError **error)
{
    for (;;) {
        guint8 *data = client->rx->data;
        guint len = client->rx->len;
        guint start = 0;
        guint i;

        while (start < len &&
               (data[start] == QGA_SENTINEL || g_ascii_isspace(data[start]))) {
            start++;
        }
        for (i = start; i < len; i++) {
            if (data[i] == '\n') {
                char *line = g_strndup((const char *)data + start, i - start);

                g_byte_array_remove_range(client->rx, 0, i + 1);
                return line;
            }
        }
        if (start > 0) {
            g_byte_array_remove_range(client->rx, 0, start);
        }
        if (!qga_fill(client, deadline, error)) {
            return NULL;
        }
    }
}

static JsonNode *qga_parse_reply(RigQgaClient *client, const char *line,
                                 GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) local = NULL;
    JsonNode *root;

    if (!json_parser_load_from_data(parser, line, -1, &local)) {
        g_set_error(error, RIG_QGA_ERROR, RIG_QGA_ERROR_PROTOCOL,
                    "malformed reply from the guest agent on %s: %s",
                    client->path, local->message);
        return NULL;
    }
    root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, RIG_QGA_ERROR, RIG_QGA_ERROR_PROTOCOL,
                    "reply from the guest agent on %s is not an object",
                    client->path);
        return NULL;
    }
    return json_node_ref(root);
}

/* Resynchronises: discards stale replies up to the agent's sentinel. */
static gboolean qga_sync(RigQgaClient *client, guint timeout_ms, GError **error)
{
    gint64 deadline = rig_deadline_in_ms(timeout_ms);
    gint64 id = g_random_int_range(1, G_MAXINT32);
    g_autofree char *request =
        g_strdup_printf("%c{\"execute\":\"guest-sync-delimited\",\"arguments\":"
                        "{\"id\":%" G_GINT64_FORMAT "}}\n",
                        QGA_SENTINEL, id);
    gboolean seen_sentinel = FALSE;

    g_byte_array_set_size(client->rx, 0);
    if (!qga_send(client, request, strlen(request), deadline, error)) {
        return FALSE;
    }
    for (;;) {
        g_autofree char *line = NULL;
        g_autoptr(JsonNode) reply = NULL;
        JsonObject *obj;

        while (!seen_sentinel) {
            guint8 *hit =
                client->rx->len > 0
                    ? memchr(client->rx->data, QGA_SENTINEL, client->rx->len)
                    : NULL;

            if (hit != NULL) {
                g_byte_array_remove_range(client->rx, 0,
                                          (guint)(hit - client->rx->data) + 1);
                seen_sentinel = TRUE;
                break;
            }
            g_byte_array_set_size(client->rx, 0);
            if (!qga_fill(client, deadline, error)) {
                return FALSE;
            }
        }
        line = qga_read_line(client, deadline, error);
        if (line == NULL) {
            return FALSE;
        }
        reply = qga_parse_reply(client, line, NULL);
        if (reply == NULL) {
            continue;
        }
        obj = json_node_get_object(reply);
        if (json_object_has_member(obj, "return") &&
            JSON_NODE_HOLDS_VALUE(json_object_get_member(obj, "return")) &&
            json_object_get_int_member(obj, "return") == id) {
            return TRUE;
        }
    }
}

RigQgaClient *rig_qga_client_connect(const char *socket_path, guint timeout_ms,
                                     GError **error)
{
    g_autoptr(RigQgaClient) client = g_new0(RigQgaClient, 1);
    int fd;

    client->fd = -1;
    client->path = g_strdup(socket_path);
    client->timeout_ms = timeout_ms;
    client->rx = g_byte_array_new();
    fd = rig_unix_connect(socket_path, TRUE);
    if (fd == -ENAMETOOLONG) {
        g_set_error(error, RIG_QGA_ERROR, RIG_QGA_ERROR_CONNECT,
                    "guest agent socket path too long: %s", socket_path);
        return NULL;
    }
    if (fd < 0) {
        g_set_error(error, RIG_QGA_ERROR, RIG_QGA_ERROR_CONNECT,
                    "cannot connect to the guest agent socket %s: %s",
                    socket_path, g_strerror(-fd));
        return NULL;
    }
    client->fd = fd;
    if (!qga_sync(client, timeout_ms, error)) {
        return NULL;
    }
    return g_steal_pointer(&client);
}

void rig_qga_client_free(RigQgaClient *client)
{
    if (client == NULL) {
        return;
    }
    if (client->fd >= 0) {
        close(client->fd);
    }
    g_byte_array_unref(client->rx);
    g_free(client->path);
    g_free(client);
}

JsonNode *rig_qga_client_execute(RigQgaClient *client, const char *command,
                                 JsonNode *arguments, guint timeout_ms,
                                 GError **error)
{
    gint64 deadline = rig_deadline_in_ms(timeout_ms);
    g_autoptr(JsonBuilder) builder = json_builder_new();
    g_autoptr(JsonNode) request = NULL;
    g_autofree char *text = NULL;
    g_autofree char *line = NULL;
    g_autoptr(JsonNode) reply = NULL;
    JsonObject *obj;

    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "execute");
    json_builder_add_string_value(builder, command);
    if (arguments != NULL) {
        json_builder_set_member_name(builder, "arguments");
        json_builder_add_value(builder, json_node_copy(arguments));
    }
    json_builder_end_object(builder);
    request = json_builder_get_root(builder);
    text = json_to_string(request, FALSE);
    if (!qga_send(client, text, strlen(text), deadline, error) ||
        !qga_send(client, "\n", 1, deadline, error)) {
        return NULL;
    }
    line = qga_read_line(client, deadline, error);
    if (line == NULL) {
        return NULL;
    }
    reply = qga_parse_reply(client, line, error);
    if (reply == NULL) {
        return NULL;
    }
    obj = json_node_get_object(reply);
    if (json_object_has_member(obj, "error")) {
        JsonNode *err = json_object_get_member(obj, "error");
        const char *desc = NULL;

        if (JSON_NODE_HOLDS_OBJECT(err)) {
            desc = json_object_get_string_member_with_default(
                json_node_get_object(err), "desc", NULL);
        }
        g_set_error(error, RIG_QGA_ERROR, RIG_QGA_ERROR_COMMAND,
                    "guest agent command %s failed: %s", command,
                    desc != NULL ? desc : "(no description)");
        return NULL;
    }
    if (!json_object_has_member(obj, "return")) {
        g_set_error(error, RIG_QGA_ERROR, RIG_QGA_ERROR_PROTOCOL,
                    "reply to %s from the guest agent on %s has neither "
                    "\"return\" nor \"error\"",
                    command, client->path);
        return NULL;
    }
    return json_node_ref(json_object_get_member(obj, "return"));
}

static gboolean qga_is_base64(const char *text)
{
    gsize len = strlen(text);
    gsize i;

    if (len % 4 != 0) {
        return FALSE;
    }
    for (i = 0; i < len; i++) {
        char c = text[i];

        if (g_ascii_isalnum(c) || c == '+' || c == '/') {
            continue;
        }
        if (c == '=' && i >= len - 2 && (i == len - 1 || text[i + 1] == '=')) {
            continue;
        }
        return FALSE;
    }
    return TRUE;
}

/* Decodes an optional base64 member; absent means no output. */
static GBytes *qga_decode_member(JsonObject *obj, const char *member,
                                 GError **error)
{
    const char *text =
        json_object_get_string_member_with_default(obj, member, NULL);
    gsize len = 0;
    guchar *data;

    if (text == NULL) {
        return g_bytes_new(NULL, 0);
    }
    if (!qga_is_base64(text)) {
        g_set_error(error, RIG_QGA_ERROR, RIG_QGA_ERROR_PROTOCOL,
                    "guest-exec-status %s is not valid base64", member);
        return NULL;
    }
    data = g_base64_decode(text, &len);
    return g_bytes_new_take(data, len);
}

static JsonNode *qga_exec_arguments(const char *path, const char *const *argv,
                                    GBytes *input)
{
    g_autoptr(JsonBuilder) builder = json_builder_new();

    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "path");
    json_builder_add_string_value(builder, path);
    json_builder_set_member_name(builder, "arg");
    json_builder_begin_array(builder);
    for (gsize i = 0; argv != NULL && argv[i] != NULL; i++) {
        json_builder_add_string_value(builder, argv[i]);
    }
    json_builder_end_array(builder);
    if (input != NULL) {
        gsize len = 0;
        const guchar *data = g_bytes_get_data(input, &len);
        g_autofree char *b64 = g_base64_encode(data, len);

        json_builder_set_member_name(builder, "input-data");
        json_builder_add_string_value(builder, b64);
    }
    json_builder_set_member_name(builder, "capture-output");
    json_builder_add_boolean_value(builder, TRUE);
    json_builder_end_object(builder);
    return json_builder_get_root(builder);
}

gboolean rig_qga_client_exec(RigQgaClient *client, const char *path,
                             const char *const *argv, GBytes *input,
                             guint timeout_ms, RigQgaExecResult **ret_result,
                             GError **error)
{
    gint64 deadline = rig_deadline_in_ms(timeout_ms);
    g_autoptr(JsonNode) args = qga_exec_arguments(path, argv, input);
    g_autoptr(JsonNode) started = NULL;
    gint64 pid;
    guint interval = QGA_POLL_MIN_MS;

    started = rig_qga_client_execute(client, "guest-exec", args,
                                     client->timeout_ms, error);
    if (started == NULL) {
        return FALSE;
    }
    if (!JSON_NODE_HOLDS_OBJECT(started) ||
        !json_object_has_member(json_node_get_object(started), "pid")) {
        g_set_error(error, RIG_QGA_ERROR, RIG_QGA_ERROR_PROTOCOL,
                    "guest-exec reply has no pid");
        return FALSE;
    }
    pid = json_object_get_int_member(json_node_get_object(started), "pid");

    for (;;) {
        g_autoptr(JsonBuilder) builder = json_builder_new();
        g_autoptr(JsonNode) status_args = NULL;
        g_autoptr(JsonNode) status = NULL;
        g_autoptr(RigQgaExecResult) result = NULL;
        JsonObject *obj;

        json_builder_begin_object(builder);
        json_builder_set_member_name(builder, "pid");
        json_builder_add_int_value(builder, pid);
        json_builder_end_object(builder);
        status_args = json_builder_get_root(builder);
        status = rig_qga_client_execute(client, "guest-exec-status",
                                        status_args, client->timeout_ms, error);
        if (status == NULL) {
            return FALSE;
        }
        if (!JSON_NODE_HOLDS_OBJECT(status)) {
            g_set_error(error, RIG_QGA_ERROR, RIG_QGA_ERROR_PROTOCOL,
                        "guest-exec-status reply is not an object");
            return FALSE;
        }
        obj = json_node_get_object(status);
        if (json_object_get_boolean_member_with_default(obj, "exited", FALSE)) {
            result = g_new0(RigQgaExecResult, 1);
            result->out = qga_decode_member(obj, "out-data", error);
            if (result->out == NULL) {
                return FALSE;
            }
            result->err = qga_decode_member(obj, "err-data", error);
            if (result->err == NULL) {
                return FALSE;
            }
            if (json_object_has_member(obj, "signal")) {
                result->signaled = TRUE;
                result->exit_code =
                    (gint)json_object_get_int_member(obj, "signal");
            } else {
                result->exit_code =
                    (gint)json_object_get_int_member_with_default(
                        obj, "exitcode", -1);
            }
            result->truncated = json_object_get_boolean_member_with_default(
                                    obj, "out-truncated", FALSE) ||
                                json_object_get_boolean_member_with_default(
                                    obj, "err-truncated", FALSE);
            *ret_result = g_steal_pointer(&result);
            return TRUE;
        }
        if (rig_remaining_ms(deadline) == 0) {
            g_set_error(error, RIG_QGA_ERROR, RIG_QGA_ERROR_EXEC_TIMEOUT,
                        "%s (guest pid %" G_GINT64_FORMAT
                        ") still running after %u ms",
                        path, pid, timeout_ms);
            return FALSE;
        }
        g_usleep((gulong)MIN(interval, (guint)rig_remaining_ms(deadline)) *
                 1000);
        interval = MIN(interval * 2, QGA_POLL_MAX_MS);
    }
}

void rig_qga_exec_result_free(RigQgaExecResult *result)
{
    if (result == NULL) {
        return;
    }
    if (result->out != NULL) {
        g_bytes_unref(result->out);
    }
    if (result->err != NULL) {
        g_bytes_unref(result->err);
    }
    g_free(result);
}
