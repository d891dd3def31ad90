/*
 * QMP wire messages: parsing one line of QEMU's monitor output into a typed
 * message, and mapping QMP error replies onto GError.  Pure functions, no
 * I/O, so that every malformed input can be unit-tested without a socket.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define RIG_QMP_ERROR (rig_qmp_error_quark())

/*
 * Error codes of RIG_QMP_ERROR.  The codes from GENERIC_ERROR on mirror
 * QMP's error classes; the GError message of those is "<Class>: <desc>".
 */
typedef enum {
    RIG_QMP_ERROR_FAILED,            /* anything not listed below */
    RIG_QMP_ERROR_INVALID_MESSAGE,   /* not JSON, truncated, not QMP */
    RIG_QMP_ERROR_INVALID_REPLY,     /* valid QMP, unexpected content */
    RIG_QMP_ERROR_TIMEOUT,           /* deadline passed */
    RIG_QMP_ERROR_DISCONNECTED,      /* peer closed the socket */
    RIG_QMP_ERROR_NOT_SUPPORTED,     /* this QEMU lacks the property */
    RIG_QMP_ERROR_GENERIC_ERROR,     /* QMP class GenericError */
    RIG_QMP_ERROR_COMMAND_NOT_FOUND, /* QMP class CommandNotFound */
    RIG_QMP_ERROR_DEVICE_NOT_ACTIVE, /* QMP class DeviceNotActive */
    RIG_QMP_ERROR_DEVICE_NOT_FOUND,  /* QMP class DeviceNotFound */
    RIG_QMP_ERROR_KVM_MISSING_CAP,   /* QMP class KVMMissingCap */
    RIG_QMP_ERROR_UNKNOWN_CLASS,     /* QMP error of a class not above */
} RigQmpError;

typedef enum {
    RIG_QMP_MESSAGE_GREETING, /* {"QMP": {...}} */
    RIG_QMP_MESSAGE_RETURN,   /* {"return": ..., "id": ...} */
    RIG_QMP_MESSAGE_ERROR,    /* {"error": {"class", "desc"}, "id": ...} */
    RIG_QMP_MESSAGE_EVENT,    /* {"event": ..., "data": ..., "timestamp"} */
} RigQmpMessageKind;

/*
 * One parsed QMP message.  All members are owned by the message; callers
 * read them and never free them.
 */
typedef struct {
    RigQmpMessageKind kind;
    JsonNode *root;      /* the whole message (a JSON object) */
    JsonNode *payload;   /* greeting: the "QMP" object; return: the "return"
                          * value; event: "data" or NULL; error: NULL */
    char *id;            /* "id" if it was a string, else NULL */
    char *event;         /* event name (EVENT only) */
    char *error_class;   /* QMP error class (ERROR only) */
    char *error_desc;    /* QMP error text (ERROR only) */
    gint64 timestamp_us; /* event time in microseconds, 0 when absent */
} RigQmpMessage;

/**
 * rig_qmp_error_quark:
 *
 * Returns: the GQuark of the RIG_QMP_ERROR domain.
 */
GQuark rig_qmp_error_quark(void);

/**
 * rig_qmp_message_parse:
 * @text: one QMP message (JSON text; a trailing CR/LF is allowed)
 * @length: length of @text in bytes, or -1 if NUL-terminated
 * @error: return location for a RIG_QMP_ERROR_INVALID_MESSAGE error
 *
 * Parses and classifies a message.  Never aborts on malformed input.
 *
 * Returns: (transfer full): a new message, free with rig_qmp_message_free(),
 *   or NULL with @error set.
 */
RigQmpMessage *rig_qmp_message_parse(const char *text, gssize length,
                                     GError **error);

/**
 * rig_qmp_message_free:
 * @message: (nullable): a message from rig_qmp_message_parse()
 *
 * Frees @message and everything it owns.  NULL-safe.
 */
void rig_qmp_message_free(RigQmpMessage *message);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RigQmpMessage, rig_qmp_message_free)

/**
 * rig_qmp_message_to_error:
 * @message: an ERROR message
 * @error: return location, set from the message's class and desc
 *
 * Converts a QMP error reply into a GError in RIG_QMP_ERROR whose code
 * matches the class (RIG_QMP_ERROR_UNKNOWN_CLASS for other classes) and
 * whose message is "<Class>: <desc>".
 */
void rig_qmp_message_to_error(const RigQmpMessage *message, GError **error);

/**
 * rig_qmp_error_code_from_class:
 * @error_class: a QMP error class name such as "GenericError"
 *
 * Returns: the matching RigQmpError, or RIG_QMP_ERROR_UNKNOWN_CLASS.
 */
RigQmpError rig_qmp_error_code_from_class(const char *error_class);

/**
 * rig_qmp_error_class_from_code:
 * @code: a RigQmpError
 *
 * Returns: (transfer none): the QMP class name for the codes that mirror a
 *   class ("GenericError", ...), or NULL for the rig's own codes.
 */
const char *rig_qmp_error_class_from_code(RigQmpError code);

G_END_DECLS
