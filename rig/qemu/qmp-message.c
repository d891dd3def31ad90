/*
 * QMP message parsing: pure functions over one line of monitor output.
 */
#include "qemu/qmp-message.h"

#include <string.h>

/* clang-format off */
G_DEFINE_QUARK(rig-qmp-error-quark, rig_qmp_error)
/* clang-format on */

/* QMP error classes (qapi/error.json) and the codes that mirror them. */
static const struct {
    const char *name;
    RigQmpError code;
} QMP_ERROR_CLASSES[] = {
    {"GenericError", RIG_QMP_ERROR_GENERIC_ERROR},
    {"CommandNotFound", RIG_QMP_ERROR_COMMAND_NOT_FOUND},
    {"DeviceNotActive", RIG_QMP_ERROR_DEVICE_NOT_ACTIVE},
    {"DeviceNotFound", RIG_QMP_ERROR_DEVICE_NOT_FOUND},
    {"KVMMissingCap", RIG_QMP_ERROR_KVM_MISSING_CAP},
};

RigQmpError rig_qmp_error_code_from_class(const char *error_class)
{
    for (gsize i = 0; i < G_N_ELEMENTS(QMP_ERROR_CLASSES); i++) {
        if (g_strcmp0(error_class, QMP_ERROR_CLASSES[i].name) == 0) {
            return QMP_ERROR_CLASSES[i].code;
        }
    }
    return RIG_QMP_ERROR_UNKNOWN_CLASS;
}

const char *rig_qmp_error_class_from_code(RigQmpError code)
{
    for (gsize i = 0; i < G_N_ELEMENTS(QMP_ERROR_CLASSES); i++) {
        if (QMP_ERROR_CLASSES[i].code == code) {
            return QMP_ERROR_CLASSES[i].name;
        }
    }
    return NULL;
}

void rig_qmp_message_free(RigQmpMessage *message)
{
    if (message == NULL) {
        return;
    }
    g_clear_pointer(&message->root, json_node_unref);
    g_clear_pointer(&message->payload, json_node_unref);
    g_free(message->id);
    g_free(message->event);
    g_free(message->error_class);
    g_free(message->error_desc);
    g_free(message);
}

G_GNUC_PRINTF(2, 3)
static void set_invalid(GError **error, const char *format, ...)
{
    va_list args;

    va_start(args, format);
    g_autofree char *text = g_strdup_vprintf(format, args);
    va_end(args);
    g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_INVALID_MESSAGE,
                "invalid QMP message: %s", text);
}

/* A member that must be a string when present. */
static gboolean get_string_member(JsonObject *object, const char *name,
                                  gboolean required, char **ret_value,
                                  GError **error)
{
    JsonNode *node = json_object_get_member(object, name);

    if (node == NULL) {
        if (required) {
            set_invalid(error, "no \"%s\" member", name);
            return FALSE;
        }
        *ret_value = NULL;
        return TRUE;
    }
    if (!JSON_NODE_HOLDS_VALUE(node) ||
        json_node_get_value_type(node) != G_TYPE_STRING) {
        set_invalid(error, "\"%s\" is not a string", name);
        return FALSE;
    }
    *ret_value = g_strdup(json_node_get_string(node));
    return TRUE;
}

static gboolean get_integer(JsonObject *object, const char *name,
                            gint64 *ret_value)
{
    JsonNode *node = json_object_get_member(object, name);

    if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
        json_node_get_value_type(node) != G_TYPE_INT64) {
        return FALSE;
    }
    *ret_value = json_node_get_int(node);
    return TRUE;
}

static gboolean parse_error_member(RigQmpMessage *message, JsonObject *root,
                                   GError **error)
{
    JsonNode *node = json_object_get_member(root, "error");

    if (!JSON_NODE_HOLDS_OBJECT(node)) {
        set_invalid(error, "\"error\" is not an object");
        return FALSE;
    }
    JsonObject *object = json_node_get_object(node);
    if (!get_string_member(object, "class", TRUE, &message->error_class,
                           error) ||
        !get_string_member(object, "desc", TRUE, &message->error_desc, error)) {
        return FALSE;
    }
    return TRUE;
}

static gboolean parse_event(RigQmpMessage *message, JsonObject *root,
                            GError **error)
{
    if (!get_string_member(root, "event", TRUE, &message->event, error)) {
        return FALSE;
    }
    JsonNode *data = json_object_get_member(root, "data");
    if (data != NULL) {
        message->payload = json_node_copy(data);
    }
    JsonNode *stamp = json_object_get_member(root, "timestamp");
    if (stamp != NULL && JSON_NODE_HOLDS_OBJECT(stamp)) {
        JsonObject *object = json_node_get_object(stamp);
        gint64 seconds = 0;
        gint64 microseconds = 0;
        if (get_integer(object, "seconds", &seconds) &&
            get_integer(object, "microseconds", &microseconds) &&
            seconds >= 0 && seconds < G_MAXINT64 / G_USEC_PER_SEC) {
            message->timestamp_us = seconds * G_USEC_PER_SEC + microseconds;
        }
    }
    return TRUE;
}

RigQmpMessage *rig_qmp_message_parse(const char *text, gssize length,
                                     GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GError) local_error = NULL;

    g_return_val_if_fail(text != NULL, NULL);

    if (length < 0) {
        length = (gssize)strlen(text);
    }
    if (memchr(text, '\0', (size_t)length) != NULL) {
        set_invalid(error, "NUL byte in the message");
        return NULL;
    }
    if (!json_parser_load_from_data(parser, text, length, &local_error)) {
        set_invalid(error, "%s", local_error->message);
        return NULL;
    }
    /* json-glib accepts empty or blank input with a NULL root. */
    JsonNode *root_node = json_parser_get_root(parser);
    if (root_node == NULL) {
        set_invalid(error, "empty message");
        return NULL;
    }
    if (!JSON_NODE_HOLDS_OBJECT(root_node)) {
        set_invalid(error, "not a JSON object");
        return NULL;
    }

    JsonObject *root = json_node_get_object(root_node);
    g_autoptr(RigQmpMessage) message = g_new0(RigQmpMessage, 1);
    message->root = json_node_copy(root_node);

    /* Only string ids are ours; QMP echoes any JSON value. */
    JsonNode *id = json_object_get_member(root, "id");
    if (id != NULL && JSON_NODE_HOLDS_VALUE(id) &&
        json_node_get_value_type(id) == G_TYPE_STRING) {
        message->id = g_strdup(json_node_get_string(id));
    }

    if (json_object_has_member(root, "QMP")) {
        JsonNode *greeting = json_object_get_member(root, "QMP");
        if (!JSON_NODE_HOLDS_OBJECT(greeting)) {
            set_invalid(error, "\"QMP\" is not an object");
            return NULL;
        }
        message->kind = RIG_QMP_MESSAGE_GREETING;
        message->payload = json_node_copy(greeting);
    } else if (json_object_has_member(root, "return")) {
        message->kind = RIG_QMP_MESSAGE_RETURN;
        message->payload =
            json_node_copy(json_object_get_member(root, "return"));
    } else if (json_object_has_member(root, "error")) {
        message->kind = RIG_QMP_MESSAGE_ERROR;
        if (!parse_error_member(message, root, error)) {
            return NULL;
        }
    } else if (json_object_has_member(root, "event")) {
        message->kind = RIG_QMP_MESSAGE_EVENT;
        if (!parse_event(message, root, error)) {
            return NULL;
        }
    } else {
        set_invalid(error, "none of \"QMP\", \"return\", \"error\", "
                           "\"event\"");
        return NULL;
    }
    return g_steal_pointer(&message);
}

void rig_qmp_message_to_error(const RigQmpMessage *message, GError **error)
{
    g_return_if_fail(message != NULL);
    g_return_if_fail(message->kind == RIG_QMP_MESSAGE_ERROR);

    g_set_error(error, RIG_QMP_ERROR,
                rig_qmp_error_code_from_class(message->error_class), "%s: %s",
                message->error_class, message->error_desc);
}
