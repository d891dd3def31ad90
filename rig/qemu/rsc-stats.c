/*
 * rsc-stats and rsc_interval: typed views of the QOM properties.
 */
#include "qemu/rsc-stats.h"

static const char *const FAMILIES[] = {"ipv4", "ipv6"};

static gboolean parse_family(JsonObject *root, const char *family,
                             RscStats *ret_family, GError **error)
{
    JsonNode *node = json_object_get_member(root, family);

    if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node)) {
        g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_INVALID_REPLY,
                    "rsc-stats: \"%s\" is %s", family,
                    node == NULL ? "missing" : "not an object");
        return FALSE;
    }
    JsonObject *object = json_node_get_object(node);
    RscStats parsed = {{0}};
    for (guint i = 0; i < RSC_STATS_N_FIELDS; i++) {
        JsonNode *value =
            json_object_get_member(object, rsc_stats_field_name(i));
        if (value == NULL) {
            g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_INVALID_REPLY,
                        "rsc-stats: counter %s.%s is missing", family,
                        rsc_stats_field_name(i));
            return FALSE;
        }
        if (!JSON_NODE_HOLDS_VALUE(value) ||
            json_node_get_value_type(value) != G_TYPE_INT64 ||
            json_node_get_int(value) < 0) {
            g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_INVALID_REPLY,
                        "rsc-stats: counter %s.%s is not a non-negative "
                        "integer",
                        family, rsc_stats_field_name(i));
            return FALSE;
        }
        parsed.counter[i] = (guint64)json_node_get_int(value);
    }
    *ret_family = parsed;
    return TRUE;
}

gboolean rig_rsc_stats_parse(JsonNode *node, RigRscStats *ret_stats,
                             GError **error)
{
    RigRscStats parsed;

    if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node)) {
        g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_INVALID_REPLY,
                    "rsc-stats: the value is not a JSON object");
        return FALSE;
    }
    JsonObject *root = json_node_get_object(node);
    if (!parse_family(root, FAMILIES[0], &parsed.ipv4, error) ||
        !parse_family(root, FAMILIES[1], &parsed.ipv6, error)) {
        return FALSE;
    }
    *ret_stats = parsed;
    return TRUE;
}

static JsonObject *family_to_json(const RscStats *family)
{
    JsonObject *object = json_object_new();

    for (guint i = 0; i < RSC_STATS_N_FIELDS; i++) {
        json_object_set_int_member(
            object, rsc_stats_field_name(i),
            (gint64)MIN(family->counter[i], (guint64)G_MAXINT64));
    }
    return object;
}

JsonNode *rig_rsc_stats_to_json(const RigRscStats *stats)
{
    JsonObject *root = json_object_new();
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);

    json_object_set_object_member(root, FAMILIES[0],
                                  family_to_json(&stats->ipv4));
    json_object_set_object_member(root, FAMILIES[1],
                                  family_to_json(&stats->ipv6));
    json_node_take_object(node, root);
    return node;
}

gboolean rig_qmp_read_rsc_stats(RigQmp *qmp, const char *device_id,
                                RigRscStats *ret_stats, char **ret_path,
                                GError **error)
{
    g_autofree char *path = rig_qmp_find_device_property(
        qmp, device_id, RIG_RSC_STATS_PROPERTY, error);
    if (path == NULL) {
        return FALSE;
    }
    g_autoptr(JsonNode) value =
        rig_qmp_qom_get(qmp, path, RIG_RSC_STATS_PROPERTY, error);
    if (value == NULL) {
        return FALSE;
    }
    RigRscStats parsed;
    if (!rig_rsc_stats_parse(value, &parsed, error)) {
        return FALSE;
    }
    *ret_stats = parsed;
    if (ret_path != NULL) {
        *ret_path = g_steal_pointer(&path);
    }
    return TRUE;
}

gboolean rig_qmp_read_rsc_interval(RigQmp *qmp, const char *device_id,
                                   guint64 *ret_interval_ns, GError **error)
{
    g_autofree char *path = rig_qmp_find_device_property(
        qmp, device_id, RIG_RSC_INTERVAL_PROPERTY, error);
    if (path == NULL) {
        return FALSE;
    }
    g_autoptr(JsonNode) value =
        rig_qmp_qom_get(qmp, path, RIG_RSC_INTERVAL_PROPERTY, error);
    if (value == NULL) {
        return FALSE;
    }
    if (!JSON_NODE_HOLDS_VALUE(value) ||
        json_node_get_value_type(value) != G_TYPE_INT64 ||
        json_node_get_int(value) < 0) {
        g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_INVALID_REPLY,
                    "%s.%s is not a non-negative integer", path,
                    RIG_RSC_INTERVAL_PROPERTY);
        return FALSE;
    }
    *ret_interval_ns = (guint64)json_node_get_int(value);
    return TRUE;
}

gboolean rig_qmp_set_rsc_interval(RigQmp *qmp, const char *device_id,
                                  guint64 interval_ns, GError **error)
{
    g_autofree char *path = NULL;
    g_autoptr(JsonNode) arguments = NULL;
    g_autoptr(JsonNode) reply = NULL;
    g_autoptr(GError) local_error = NULL;
    JsonObject *object;
    guint64 now = 0;

    if (interval_ns > G_MAXUINT32) {
        g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_NOT_SUPPORTED,
                    "rsc_interval %" G_GUINT64_FORMAT
                    " ns does not fit QEMU's 32-bit property",
                    interval_ns);
        return FALSE;
    }
    path = rig_qmp_find_device_property(qmp, device_id,
                                        RIG_RSC_INTERVAL_PROPERTY, error);
    if (path == NULL) {
        return FALSE;
    }
    arguments = json_node_new(JSON_NODE_OBJECT);
    object = json_object_new();
    json_node_take_object(arguments, object);
    json_object_set_string_member(object, "path", path);
    json_object_set_string_member(object, "property",
                                  RIG_RSC_INTERVAL_PROPERTY);
    json_object_set_int_member(object, "value", (gint64)interval_ns);
    reply = rig_qmp_execute(qmp, "qom-set", arguments, &local_error);
    if (reply == NULL) {
        /* Transport failures are not an answer from QEMU. */
        if (local_error->domain != RIG_QMP_ERROR ||
            local_error->code < RIG_QMP_ERROR_GENERIC_ERROR) {
            g_propagate_error(error, g_steal_pointer(&local_error));
            return FALSE;
        }
        g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_NOT_SUPPORTED,
                    "QEMU refused to change %s.%s on a running VM: %s", path,
                    RIG_RSC_INTERVAL_PROPERTY, local_error->message);
        return FALSE;
    }
    if (!rig_qmp_read_rsc_interval(qmp, device_id, &now, error)) {
        return FALSE;
    }
    if (now != interval_ns) {
        g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_NOT_SUPPORTED,
                    "qom-set %s.%s %" G_GUINT64_FORMAT
                    " was accepted but it reads %" G_GUINT64_FORMAT,
                    path, RIG_RSC_INTERVAL_PROPERTY, interval_ns, now);
        return FALSE;
    }
    return TRUE;
}
