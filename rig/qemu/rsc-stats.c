/*
 * rsc-stats and rsc_interval: typed views of the QOM properties.
 */
#include "qemu/rsc-stats.h"

static const char *const STAT_NAMES[RIG_RSC_STAT_COUNT] = {
    [RIG_RSC_STAT_RECEIVED] = "received",
    [RIG_RSC_STAT_COALESCED] = "coalesced",
    [RIG_RSC_STAT_OVER_SIZE] = "over_size",
    [RIG_RSC_STAT_CACHE] = "cache",
    [RIG_RSC_STAT_EMPTY_CACHE] = "empty_cache",
    [RIG_RSC_STAT_NO_MATCH_CACHE] = "no_match_cache",
    [RIG_RSC_STAT_WIN_UPDATE] = "win_update",
    [RIG_RSC_STAT_NO_MATCH] = "no_match",
    [RIG_RSC_STAT_TCP_SYN] = "tcp_syn",
    [RIG_RSC_STAT_TCP_CTRL_DRAIN] = "tcp_ctrl_drain",
    [RIG_RSC_STAT_DUP_ACK] = "dup_ack",
    [RIG_RSC_STAT_PURE_ACK] = "pure_ack",
    [RIG_RSC_STAT_ACK_OUT_OF_WIN] = "ack_out_of_win",
    [RIG_RSC_STAT_DATA_OUT_OF_WIN] = "data_out_of_win",
    [RIG_RSC_STAT_DATA_OUT_OF_ORDER] = "data_out_of_order",
    [RIG_RSC_STAT_DATA_AFTER_PURE_ACK] = "data_after_pure_ack",
    [RIG_RSC_STAT_BYPASS_NOT_TCP] = "bypass_not_tcp",
    [RIG_RSC_STAT_TCP_ALL_OPT] = "tcp_all_opt",
    [RIG_RSC_STAT_IP_FRAG] = "ip_frag",
    [RIG_RSC_STAT_IP_ECN] = "ip_ecn",
    [RIG_RSC_STAT_IP_HACKED] = "ip_hacked",
    [RIG_RSC_STAT_IP_OPTION] = "ip_option",
    [RIG_RSC_STAT_PURGE_FAILED] = "purge_failed",
    [RIG_RSC_STAT_DRAIN_FAILED] = "drain_failed",
    [RIG_RSC_STAT_FINAL_FAILED] = "final_failed",
    [RIG_RSC_STAT_TIMER] = "timer",
};

/* The named members must line up with the indexes. */
G_STATIC_ASSERT(G_STRUCT_OFFSET(RigRscFamilyStats, coalesced) ==
                RIG_RSC_STAT_COALESCED * sizeof(guint64));
G_STATIC_ASSERT(G_STRUCT_OFFSET(RigRscFamilyStats, dup_ack) ==
                RIG_RSC_STAT_DUP_ACK * sizeof(guint64));
G_STATIC_ASSERT(G_STRUCT_OFFSET(RigRscFamilyStats, ip_option) ==
                RIG_RSC_STAT_IP_OPTION * sizeof(guint64));
G_STATIC_ASSERT(G_STRUCT_OFFSET(RigRscFamilyStats, timer) ==
                RIG_RSC_STAT_TIMER * sizeof(guint64));

static const char *const FAMILIES[] = {"ipv4", "ipv6"};

const char *rig_rsc_stat_name(RigRscStat stat)
{
    if ((guint)stat >= RIG_RSC_STAT_COUNT) {
        return NULL;
    }
    return STAT_NAMES[stat];
}

static gboolean parse_family(JsonObject *root, const char *family,
                             RigRscFamilyStats *ret_family, GError **error)
{
    JsonNode *node = json_object_get_member(root, family);

    if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node)) {
        g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_INVALID_REPLY,
                    "rsc-stats: \"%s\" is %s", family,
                    node == NULL ? "missing" : "not an object");
        return FALSE;
    }
    JsonObject *object = json_node_get_object(node);
    RigRscFamilyStats parsed = {{0}};
    for (guint i = 0; i < RIG_RSC_STAT_COUNT; i++) {
        JsonNode *value = json_object_get_member(object, STAT_NAMES[i]);
        if (value == NULL) {
            g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_INVALID_REPLY,
                        "rsc-stats: counter %s.%s is missing", family,
                        STAT_NAMES[i]);
            return FALSE;
        }
        if (!JSON_NODE_HOLDS_VALUE(value) ||
            json_node_get_value_type(value) != G_TYPE_INT64 ||
            json_node_get_int(value) < 0) {
            g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_INVALID_REPLY,
                        "rsc-stats: counter %s.%s is not a non-negative "
                        "integer",
                        family, STAT_NAMES[i]);
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

static JsonObject *family_to_json(const RigRscFamilyStats *family)
{
    JsonObject *object = json_object_new();

    for (guint i = 0; i < RIG_RSC_STAT_COUNT; i++) {
        json_object_set_int_member(
            object, STAT_NAMES[i],
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
