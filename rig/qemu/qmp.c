/*
 * QMP client: newline-delimited JSON over a stream socket.  QEMU writes
 * every message as one line of compact JSON, so a line is a message.
 */
#include "qemu/qmp.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qemu/unix-socket.h"

/* A line longer than this is not QMP: give up instead of growing forever. */
#define QMP_MAX_LINE   (64 * 1024 * 1024)
#define QMP_READ_CHUNK 65536

struct RigQmp {
    int fd;
    GString *input; /* received bytes not yet consumed as lines */
    gboolean eof;
    GQueue events; /* RigQmpMessage *, oldest first */
    guint timeout_ms;
    guint64 last_id;
    RigQmpEventFunc event_func;
    gpointer event_data;
    gboolean dispatching;
};

RigQmp *rig_qmp_new_from_fd(int fd)
{
    RigQmp *qmp = g_new0(RigQmp, 1);

    qmp->fd = fd;
    qmp->input = g_string_new(NULL);
    g_queue_init(&qmp->events);
    qmp->timeout_ms = RIG_QMP_DEFAULT_TIMEOUT_MS;
    return qmp;
}

void rig_qmp_free(RigQmp *qmp)
{
    if (qmp == NULL) {
        return;
    }
    if (qmp->fd >= 0) {
        close(qmp->fd);
    }
    g_string_free(qmp->input, TRUE);
    g_queue_clear_full(&qmp->events, (GDestroyNotify)rig_qmp_message_free);
    g_free(qmp);
}

void rig_qmp_set_timeout(RigQmp *qmp, guint timeout_ms)
{
    g_return_if_fail(timeout_ms > 0);
    qmp->timeout_ms = timeout_ms;
}

void rig_qmp_set_event_handler(RigQmp *qmp, RigQmpEventFunc func,
                               gpointer user_data)
{
    qmp->event_func = func;
    qmp->event_data = user_data;
}

int rig_qmp_get_fd(RigQmp *qmp)
{
    return qmp->fd;
}

/*
 * Waits until the socket is readable or @deadline passes, then reads once.
 * Returns FALSE with an error on timeout or failure; sets qmp->eof on EOF.
 */
static gboolean fill_input(RigQmp *qmp, gint64 deadline, GError **error)
{
    struct pollfd pfd = {.fd = qmp->fd, .events = POLLIN};
    char chunk[QMP_READ_CHUNK];

    for (;;) {
        int n = poll(&pfd, 1, rig_remaining_ms(deadline));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int saved = errno;
            g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_FAILED,
                        "poll on the QMP socket: %s", g_strerror(saved));
            return FALSE;
        }
        if (n == 0) {
            g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_TIMEOUT,
                        "no reply from QEMU's QMP monitor in time");
            return FALSE;
        }
        break;
    }
    for (;;) {
        ssize_t got = read(qmp->fd, chunk, sizeof(chunk));
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0 && errno == ECONNRESET) {
            got = 0;
        }
        if (got < 0) {
            int saved = errno;
            g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_FAILED,
                        "reading the QMP socket: %s", g_strerror(saved));
            return FALSE;
        }
        if (got == 0) {
            qmp->eof = TRUE;
        } else {
            g_string_append_len(qmp->input, chunk, got);
        }
        return TRUE;
    }
}

/* Takes one complete line out of the input buffer; NULL when none yet. */
static char *take_line(RigQmp *qmp)
{
    for (;;) {
        char *newline = memchr(qmp->input->str, '\n', qmp->input->len);
        if (newline == NULL) {
            return NULL;
        }
        gsize length = (gsize)(newline - qmp->input->str);
        char *line = g_strndup(qmp->input->str, length);
        g_string_erase(qmp->input, 0, (gssize)length + 1);
        g_strstrip(line);
        if (line[0] != '\0') {
            return line;
        }
        g_free(line);
    }
}

/*
 * Reads the next message.  With @deadline 0 it never blocks and returns
 * TRUE with *ret_message NULL when nothing complete is buffered.
 */
static gboolean read_message(RigQmp *qmp, gint64 deadline,
                             RigQmpMessage **ret_message, GError **error)
{
    for (;;) {
        g_autofree char *line = take_line(qmp);
        if (line != NULL) {
            RigQmpMessage *message = rig_qmp_message_parse(line, -1, error);
            if (message == NULL) {
                return FALSE;
            }
            *ret_message = message;
            return TRUE;
        }
        if (qmp->input->len > QMP_MAX_LINE) {
            g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_INVALID_MESSAGE,
                        "QMP line longer than %d bytes", QMP_MAX_LINE);
            return FALSE;
        }
        if (qmp->eof) {
            g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_DISCONNECTED,
                        qmp->input->len > 0
                            ? "QMP connection closed in the middle of a "
                              "message (did QEMU exit?)"
                            : "QMP connection closed (did QEMU exit?)");
            return FALSE;
        }
        if (deadline == 0) {
            struct pollfd pfd = {.fd = qmp->fd, .events = POLLIN};
            int n;
            do {
                n = poll(&pfd, 1, 0);
            } while (n < 0 && errno == EINTR);
            if (n <= 0) {
                *ret_message = NULL;
                return TRUE;
            }
            if (!fill_input(qmp, rig_deadline_in_ms(1), error)) {
                return FALSE;
            }
            continue;
        }
        if (!fill_input(qmp, deadline, error)) {
            return FALSE;
        }
    }
}

static void queue_event(RigQmp *qmp, RigQmpMessage *event)
{
    g_queue_push_tail(&qmp->events, event);
    if (qmp->event_func == NULL &&
        g_queue_get_length(&qmp->events) > RIG_QMP_EVENT_BACKLOG) {
        RigQmpMessage *oldest = g_queue_pop_head(&qmp->events);
        g_warning("QMP event backlog full: dropping the oldest event %s",
                  oldest->event);
        rig_qmp_message_free(oldest);
    }
}

/* Hands queued events to the handler; never re-entered from a handler. */
static void dispatch_events(RigQmp *qmp)
{
    if (qmp->dispatching || qmp->event_func == NULL) {
        return;
    }
    qmp->dispatching = TRUE;
    RigQmpMessage *event;
    while ((event = g_queue_pop_head(&qmp->events)) != NULL) {
        qmp->event_func(qmp, event, qmp->event_data);
        rig_qmp_message_free(event);
    }
    qmp->dispatching = FALSE;
}

static gboolean send_all(RigQmp *qmp, const char *data, gsize length,
                         gint64 deadline, GError **error)
{
    while (length > 0) {
        struct pollfd pfd = {.fd = qmp->fd, .events = POLLOUT};
        int n = poll(&pfd, 1, rig_remaining_ms(deadline));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n == 0) {
            g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_TIMEOUT,
                        "QEMU's QMP monitor does not accept input");
            return FALSE;
        }
        /* MSG_NOSIGNAL: a dead QEMU is an error here, not a SIGPIPE. */
        ssize_t sent = n < 0 ? -1 : send(qmp->fd, data, length, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) {
            continue;
        }
        if (sent < 0) {
            int saved = errno;
            gboolean gone = saved == EPIPE || saved == ECONNRESET;
            g_set_error(error, RIG_QMP_ERROR,
                        gone ? RIG_QMP_ERROR_DISCONNECTED
                             : RIG_QMP_ERROR_FAILED,
                        "writing to the QMP socket: %s%s", g_strerror(saved),
                        gone ? " (did QEMU exit?)" : "");
            return FALSE;
        }
        data += sent;
        length -= (gsize)sent;
    }
    return TRUE;
}

gboolean rig_qmp_handshake(RigQmp *qmp, JsonNode **ret_greeting, GError **error)
{
    g_autoptr(RigQmpMessage) greeting = NULL;
    g_autoptr(GError) local_error = NULL;

    if (!read_message(qmp, rig_deadline_in_ms(qmp->timeout_ms), &greeting,
                      &local_error)) {
        g_propagate_prefixed_error(error, g_steal_pointer(&local_error),
                                   "waiting for the QMP greeting: ");
        return FALSE;
    }
    if (greeting->kind != RIG_QMP_MESSAGE_GREETING) {
        g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_INVALID_REPLY,
                    "expected the QMP greeting, got another message first");
        return FALSE;
    }
    g_autoptr(JsonNode) reply =
        rig_qmp_execute(qmp, "qmp_capabilities", NULL, error);
    if (reply == NULL) {
        return FALSE;
    }
    if (ret_greeting != NULL) {
        *ret_greeting = g_steal_pointer(&greeting->payload);
    }
    return TRUE;
}

static char *build_command(const char *command, JsonNode *arguments,
                           const char *id)
{
    g_autoptr(JsonBuilder) builder = json_builder_new_immutable();

    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "execute");
    json_builder_add_string_value(builder, command);
    if (arguments != NULL) {
        json_builder_set_member_name(builder, "arguments");
        json_builder_add_value(builder, json_node_copy(arguments));
    }
    json_builder_set_member_name(builder, "id");
    json_builder_add_string_value(builder, id);
    json_builder_end_object(builder);

    g_autoptr(JsonNode) root = json_builder_get_root(builder);
    g_autoptr(JsonGenerator) generator = json_generator_new();
    json_generator_set_root(generator, root);
    g_autofree char *text = json_generator_to_data(generator, NULL);
    return g_strconcat(text, "\n", NULL);
}

/* Waits for the reply with @id, queueing events that arrive first. */
static JsonNode *wait_reply(RigQmp *qmp, const char *command, const char *id,
                            gint64 deadline, GError **error)
{
    for (;;) {
        g_autoptr(RigQmpMessage) message = NULL;
        g_autoptr(GError) local_error = NULL;

        if (!read_message(qmp, deadline, &message, &local_error)) {
            g_propagate_prefixed_error(error, g_steal_pointer(&local_error),
                                       "%s: ", command);
            return NULL;
        }
        if (message->kind == RIG_QMP_MESSAGE_EVENT) {
            queue_event(qmp, g_steal_pointer(&message));
            continue;
        }
        if (message->kind == RIG_QMP_MESSAGE_GREETING ||
            g_strcmp0(message->id, id) != 0) {
            g_debug("QMP: ignoring a message that is not the reply to %s", id);
            continue;
        }
        if (message->kind == RIG_QMP_MESSAGE_ERROR) {
            rig_qmp_message_to_error(message, &local_error);
            g_propagate_prefixed_error(error, g_steal_pointer(&local_error),
                                       "%s: ", command);
            return NULL;
        }
        return g_steal_pointer(&message->payload);
    }
}

JsonNode *rig_qmp_execute(RigQmp *qmp, const char *command, JsonNode *arguments,
                          GError **error)
{
    g_return_val_if_fail(command != NULL, NULL);
    g_return_val_if_fail(arguments == NULL || JSON_NODE_HOLDS_OBJECT(arguments),
                         NULL);

    gint64 deadline = rig_deadline_in_ms(qmp->timeout_ms);
    g_autofree char *id =
        g_strdup_printf("rig-%" G_GUINT64_FORMAT, ++qmp->last_id);
    g_autofree char *text = build_command(command, arguments, id);
    g_autoptr(GError) local_error = NULL;

    if (!send_all(qmp, text, strlen(text), deadline, &local_error)) {
        g_propagate_prefixed_error(error, g_steal_pointer(&local_error),
                                   "%s: ", command);
        return NULL;
    }
    JsonNode *reply = wait_reply(qmp, command, id, deadline, error);
    dispatch_events(qmp);
    return reply;
}

static RigQmpMessage *take_queued_event(RigQmp *qmp, const char *name)
{
    for (GList *link = qmp->events.head; link != NULL; link = link->next) {
        RigQmpMessage *event = link->data;
        if (g_strcmp0(event->event, name) == 0) {
            g_queue_delete_link(&qmp->events, link);
            return event;
        }
    }
    return NULL;
}

gboolean rig_qmp_wait_event(RigQmp *qmp, const char *name,
                            RigQmpMessage **ret_event, GError **error)
{
    gint64 deadline = rig_deadline_in_ms(qmp->timeout_ms);
    g_autoptr(RigQmpMessage) found = take_queued_event(qmp, name);
    g_autoptr(GError) local_error = NULL;

    while (found == NULL) {
        g_autoptr(RigQmpMessage) message = NULL;
        if (!read_message(qmp, deadline, &message, &local_error)) {
            break;
        }
        if (message->kind != RIG_QMP_MESSAGE_EVENT) {
            g_debug("QMP: ignoring a reply nobody waits for");
        } else if (g_strcmp0(message->event, name) == 0) {
            found = g_steal_pointer(&message);
        } else {
            queue_event(qmp, g_steal_pointer(&message));
        }
    }
    dispatch_events(qmp);
    if (found == NULL) {
        g_propagate_prefixed_error(error, g_steal_pointer(&local_error),
                                   "waiting for QMP event %s: ", name);
        return FALSE;
    }
    if (ret_event != NULL) {
        *ret_event = g_steal_pointer(&found);
    }
    return TRUE;
}

gboolean rig_qmp_poll_events(RigQmp *qmp, guint timeout_ms, GError **error)
{
    g_autoptr(GError) local_error = NULL;
    gboolean ok = TRUE;

    if (timeout_ms > 0) {
        /* Block only for the first input; then take what is buffered. */
        struct pollfd pfd = {.fd = qmp->fd, .events = POLLIN};
        int n;
        do {
            n = poll(&pfd, 1, (int)MIN(timeout_ms, (guint)G_MAXINT));
        } while (n < 0 && errno == EINTR);
    }
    for (;;) {
        g_autoptr(RigQmpMessage) message = NULL;
        if (!read_message(qmp, 0, &message, &local_error)) {
            ok = FALSE;
            break;
        }
        if (message == NULL) {
            break;
        }
        if (message->kind == RIG_QMP_MESSAGE_EVENT) {
            queue_event(qmp, g_steal_pointer(&message));
        }
    }
    dispatch_events(qmp);
    if (!ok) {
        g_propagate_error(error, g_steal_pointer(&local_error));
    }
    return ok;
}

JsonNode *rig_qmp_qom_get(RigQmp *qmp, const char *path, const char *property,
                          GError **error)
{
    g_autoptr(JsonNode) arguments = json_node_new(JSON_NODE_OBJECT);
    JsonObject *object = json_object_new();

    json_object_set_string_member(object, "path", path);
    json_object_set_string_member(object, "property", property);
    json_node_take_object(arguments, object);
    return rig_qmp_execute(qmp, "qom-get", arguments, error);
}

gboolean rig_qmp_qom_has_property(RigQmp *qmp, const char *path,
                                  const char *property, gboolean *ret_found,
                                  GError **error)
{
    g_autoptr(JsonNode) arguments = json_node_new(JSON_NODE_OBJECT);
    JsonObject *object = json_object_new();

    json_object_set_string_member(object, "path", path);
    json_node_take_object(arguments, object);
    g_autoptr(JsonNode) list =
        rig_qmp_execute(qmp, "qom-list", arguments, error);
    if (list == NULL) {
        return FALSE;
    }
    if (!JSON_NODE_HOLDS_ARRAY(list)) {
        g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_INVALID_REPLY,
                    "qom-list %s: the reply is not an array", path);
        return FALSE;
    }
    JsonArray *array = json_node_get_array(list);
    gboolean found = FALSE;
    for (guint i = 0; i < json_array_get_length(array) && !found; i++) {
        JsonNode *item = json_array_get_element(array, i);
        if (!JSON_NODE_HOLDS_OBJECT(item)) {
            continue;
        }
        const char *name = json_object_get_string_member_with_default(
            json_node_get_object(item), "name", NULL);
        found = g_strcmp0(name, property) == 0;
    }
    *ret_found = found;
    return TRUE;
}

char *rig_qmp_find_device_property(RigQmp *qmp, const char *device_id,
                                   const char *property, GError **error)
{
    g_autofree char *proxy =
        g_strdup_printf("/machine/peripheral/%s", device_id);
    g_autofree char *backend = g_strconcat(proxy, "/virtio-backend", NULL);
    const char *const paths[] = {proxy, backend};
    gboolean found = FALSE;

    for (gsize i = 0; i < G_N_ELEMENTS(paths); i++) {
        g_autoptr(GError) local_error = NULL;
        if (!rig_qmp_qom_has_property(qmp, paths[i], property, &found,
                                      &local_error)) {
            /* A proxy without a virtio backend is simply not virtio. */
            if (i > 0 && g_error_matches(local_error, RIG_QMP_ERROR,
                                         RIG_QMP_ERROR_DEVICE_NOT_FOUND)) {
                break;
            }
            g_propagate_error(error, g_steal_pointer(&local_error));
            return NULL;
        }
        if (found) {
            return g_strdup(paths[i]);
        }
    }
    g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_NOT_SUPPORTED,
                "device %s has no QOM property %s (neither on %s nor on %s): "
                "this QEMU does not export it",
                device_id, property, proxy, backend);
    return NULL;
}

RigQmp *rig_qmp_connect_unix(const char *path, guint timeout_ms, GError **error)
{
    g_autoptr(RigQmp) qmp = NULL;
    int fd = rig_unix_connect(path, FALSE);

    if (fd == -ENAMETOOLONG) {
        g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_FAILED,
                    "QMP socket path too long: %s", path);
        return NULL;
    }
    if (fd < 0) {
        g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_DISCONNECTED,
                    "cannot connect to QMP socket %s: %s", path,
                    g_strerror(-fd));
        return NULL;
    }
    qmp = rig_qmp_new_from_fd(fd);
    rig_qmp_set_timeout(qmp, timeout_ms);
    if (!rig_qmp_handshake(qmp, NULL, error)) {
        g_prefix_error(error, "QMP on %s: ", path);
        return NULL;
    }
    return g_steal_pointer(&qmp);
}
