/*
 * The capability probe: one paused QEMU per binary, a handful of QMP
 * questions, the answers cached for the process.
 */
#include "qemu/caps.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "qemu/rsc-stats.h"
#include "qemu/vm.h"

#define PROBE_NIC_ID "rig-probe0"
/* Not QEMU's default (300000), so that a read-back proves the write. */
#define PROBE_INTERVAL_NS 123000
#define TRACE_PATTERN     "virtio_net_rsc_*"

/* clang-format off */
G_DEFINE_QUARK(rig-qemu-caps-error-quark, rig_qemu_caps_error)
/* clang-format on */

static const struct {
    const char *name;
    const char *description;
} CAPS[RIG_QEMU_N_CAPS] = {
    [RIG_QEMU_CAP_ACCEL_QTEST] = {"accel-qtest",
                                  "the qtest accelerator, -accel qtest"},
    [RIG_QEMU_CAP_RSC_EXT] = {"rsc-ext", "RSC in virtio-net, the guest_rsc_ext "
                                         "property"},
    [RIG_QEMU_CAP_RSC_STATS] = {"rsc-stats",
                                "QEMU's RSC counters over QMP, the "
                                "rsc-stats property"},
    [RIG_QEMU_CAP_RSC_TRACE] = {"rsc-trace",
                                "RSC trace events, virtio_net_rsc_*"},
    [RIG_QEMU_CAP_RSC_INTERVAL_WRITABLE] =
        {"rsc-interval-writable", "rsc_interval writable on a running VM, "
                                  "qom-set"},
};

/* Probe results by file identity; entries live until the process ends. */
static GHashTable *cache;
G_LOCK_DEFINE_STATIC(cache);

const char *rig_qemu_cap_name(RigQemuCap cap)
{
    g_return_val_if_fail(cap < RIG_QEMU_N_CAPS, "?");
    return CAPS[cap].name;
}

const char *rig_qemu_cap_description(RigQemuCap cap)
{
    g_return_val_if_fail(cap < RIG_QEMU_N_CAPS, "?");
    return CAPS[cap].description;
}

gboolean rig_qemu_caps_parse_accels(JsonNode *types)
{
    JsonArray *list;

    if (types == NULL || !JSON_NODE_HOLDS_ARRAY(types)) {
        return FALSE;
    }
    list = json_node_get_array(types);
    for (guint i = 0; i < json_array_get_length(list); i++) {
        JsonNode *e = json_array_get_element(list, i);
        JsonObject *o;

        if (!JSON_NODE_HOLDS_OBJECT(e)) {
            continue;
        }
        o = json_node_get_object(e);
        if (g_strcmp0(
                json_object_get_string_member_with_default(o, "name", NULL),
                "qtest-accel") == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

static gint compare_strings(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

char **rig_qemu_caps_parse_trace_events(JsonNode *events)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    JsonArray *list;

    if (events != NULL && JSON_NODE_HOLDS_ARRAY(events)) {
        list = json_node_get_array(events);
        for (guint i = 0; i < json_array_get_length(list); i++) {
            JsonNode *e = json_array_get_element(list, i);
            const char *name;

            if (!JSON_NODE_HOLDS_OBJECT(e)) {
                continue;
            }
            name = json_object_get_string_member_with_default(
                json_node_get_object(e), "name", NULL);
            if (name != NULL && g_str_has_prefix(name, "virtio_net_rsc_")) {
                g_ptr_array_add(names, g_strdup(name));
            }
        }
    }
    g_ptr_array_sort(names, compare_strings);
    g_ptr_array_add(names, NULL);
    return (char **)g_ptr_array_free(g_steal_pointer(&names), FALSE);
}

char *rig_qemu_caps_parse_version(JsonNode *version, char **ret_package)
{
    JsonObject *o, *q;
    const char *keys[] = {"major", "minor", "micro"};
    gint64 v[3];

    if (version == NULL || !JSON_NODE_HOLDS_OBJECT(version)) {
        return NULL;
    }
    o = json_node_get_object(version);
    if (!json_object_has_member(o, "qemu") ||
        !JSON_NODE_HOLDS_OBJECT(json_object_get_member(o, "qemu"))) {
        return NULL;
    }
    q = json_object_get_object_member(o, "qemu");
    for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
        JsonNode *n = json_object_get_member(q, keys[i]);

        if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) ||
            json_node_get_value_type(n) != G_TYPE_INT64 ||
            json_node_get_int(n) < 0) {
            return NULL;
        }
        v[i] = json_node_get_int(n);
    }
    *ret_package =
        g_strdup(json_object_get_string_member_with_default(o, "package", ""));
    return g_strdup_printf("%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT
                           ".%" G_GINT64_FORMAT,
                           v[0], v[1], v[2]);
}

static JsonNode *object_arg(const char *key, const char *value)
{
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    JsonObject *o = json_object_new();

    json_object_set_string_member(o, key, value);
    json_node_take_object(node, o);
    return node;
}

static void caps_free(RigQemuCaps *caps)
{
    if (caps == NULL) {
        return;
    }
    g_free(caps->qemu);
    g_free(caps->version);
    g_free(caps->package);
    g_strfreev(caps->trace_events);
    g_free(caps->interval_detail);
    g_free(caps);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RigQemuCaps, caps_free)

static gboolean has_device_property(RigQmp *qmp, const char *property,
                                    GError **error)
{
    g_autoptr(GError) local_error = NULL;
    g_autofree char *path =
        rig_qmp_find_device_property(qmp, PROBE_NIC_ID, property, &local_error);

    if (path != NULL) {
        return TRUE;
    }
    if (!g_error_matches(local_error, RIG_QMP_ERROR,
                         RIG_QMP_ERROR_NOT_SUPPORTED)) {
        g_propagate_error(error, g_steal_pointer(&local_error));
    }
    return FALSE;
}

/* Asks a started probe VM everything; FALSE only when QMP itself failed. */
static gboolean ask(RigQmp *qmp, RigQemuCaps *caps, GError **error)
{
    g_autoptr(JsonNode) version = NULL;
    g_autoptr(JsonNode) types = NULL;
    g_autoptr(JsonNode) events = NULL;
    g_autoptr(JsonNode) accel_arg = object_arg("implements", "accel");
    g_autoptr(JsonNode) trace_arg = object_arg("name", TRACE_PATTERN);
    g_autoptr(GError) local_error = NULL;

    version = rig_qmp_execute(qmp, "query-version", NULL, error);
    if (version == NULL) {
        return FALSE;
    }
    caps->version = rig_qemu_caps_parse_version(version, &caps->package);
    if (caps->version == NULL) {
        g_set_error(error, RIG_QMP_ERROR, RIG_QMP_ERROR_INVALID_REPLY,
                    "query-version: no qemu major/minor/micro in the reply");
        return FALSE;
    }
    types = rig_qmp_execute(qmp, "qom-list-types", accel_arg, error);
    if (types == NULL) {
        return FALSE;
    }
    caps->has[RIG_QEMU_CAP_ACCEL_QTEST] = rig_qemu_caps_parse_accels(types);
    caps->has[RIG_QEMU_CAP_RSC_EXT] =
        has_device_property(qmp, "guest_rsc_ext", &local_error);
    if (local_error == NULL) {
        caps->has[RIG_QEMU_CAP_RSC_STATS] =
            has_device_property(qmp, RIG_RSC_STATS_PROPERTY, &local_error);
    }
    if (local_error != NULL) {
        g_propagate_error(error, g_steal_pointer(&local_error));
        return FALSE;
    }
    /* A QEMU built without tracing has no such command: no events. */
    events = rig_qmp_execute(qmp, "trace-event-get-state", trace_arg, NULL);
    caps->trace_events = rig_qemu_caps_parse_trace_events(events);
    caps->has[RIG_QEMU_CAP_RSC_TRACE] = caps->trace_events[0] != NULL;
    if (rig_qmp_set_rsc_interval(qmp, PROBE_NIC_ID, PROBE_INTERVAL_NS,
                                 &local_error)) {
        caps->has[RIG_QEMU_CAP_RSC_INTERVAL_WRITABLE] = TRUE;
    } else if (g_error_matches(local_error, RIG_QMP_ERROR,
                               RIG_QMP_ERROR_NOT_SUPPORTED)) {
        caps->interval_detail = g_strdup(local_error->message);
    } else {
        g_propagate_error(error, g_steal_pointer(&local_error));
        return FALSE;
    }
    return TRUE;
}

static RigQemuCaps *probe(const char *qemu, GError **error)
{
    g_autoptr(RigQemuCaps) caps = g_new0(RigQemuCaps, 1);
    g_autoptr(RigVmConfig) config = rig_vm_config_new();
    g_autoptr(RigVm) vm = NULL;
    g_autoptr(GError) local_error = NULL;
    gint64 start = g_get_monotonic_time();
    const char *const args[] = {
        /* QEMU falls back to the next -accel when one is unknown. */
        "-accel",
        "qtest",
        "-accel",
        "tcg",
        "-S",
        "-device",
        "virtio-net-pci,id=" PROBE_NIC_ID ",romfile=",
    };

    caps->qemu = g_strdup(qemu);
    g_free(config->qemu);
    config->qemu = g_strdup(qemu);
    g_clear_pointer(&config->accel, g_free);
    for (gsize i = 0; i < G_N_ELEMENTS(args); i++) {
        g_ptr_array_add(config->extra_args, g_strdup(args[i]));
    }
    vm = rig_vm_start(config, &local_error);
    if (vm == NULL) {
        if (g_error_matches(local_error, RIG_VM_ERROR,
                            RIG_VM_ERROR_QEMU_MISSING)) {
            g_propagate_error(error, g_steal_pointer(&local_error));
        } else {
            g_set_error(error, RIG_QEMU_CAPS_ERROR, RIG_QEMU_CAPS_ERROR_FAILED,
                        "%s could not be probed (started paused with one "
                        "virtio-net-pci): %s",
                        qemu, local_error->message);
        }
        return NULL;
    }
    if (!ask(rig_vm_get_qmp(vm), caps, &local_error)) {
        g_set_error(error, RIG_QEMU_CAPS_ERROR, RIG_QEMU_CAPS_ERROR_FAILED,
                    "%s did not answer the capability probe: %s", qemu,
                    local_error->message);
        return NULL;
    }
    caps->probe_s = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
    return g_steal_pointer(&caps);
}

/* The cache key: the file itself, so that a rebuilt binary is re-probed. */
static char *file_key(const char *qemu)
{
    g_autofree char *real = realpath(qemu, NULL);
    struct stat st;

    if (real == NULL || stat(real, &st) != 0) {
        return NULL;
    }
    return g_strdup_printf("%s:%ju:%ju:%jd:%jd", real, (uintmax_t)st.st_dev,
                           (uintmax_t)st.st_ino, (intmax_t)st.st_size,
                           (intmax_t)st.st_mtime);
}

const RigQemuCaps *rig_qemu_caps_probe(const char *qemu, GError **error)
{
    g_autofree char *key = NULL;
    RigQemuCaps *caps;

    if (!rig_vm_check_qemu(qemu, error)) {
        return NULL;
    }
    key = file_key(qemu);
    if (key == NULL) {
        g_set_error(error, RIG_QEMU_CAPS_ERROR, RIG_QEMU_CAPS_ERROR_FAILED,
                    "%s: %s", qemu, g_strerror(errno));
        return NULL;
    }
    /* Held while probing: two threads never start the same probe twice. */
    G_LOCK(cache);
    if (cache == NULL) {
        cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify)caps_free);
    }
    caps = g_hash_table_lookup(cache, key);
    if (caps == NULL) {
        caps = probe(qemu, error);
        if (caps != NULL) {
            g_hash_table_insert(cache, g_steal_pointer(&key), caps);
        }
    }
    G_UNLOCK(cache);
    return caps;
}

char *rig_qemu_caps_missing(const RigQemuCaps *caps, RigQemuCap cap)
{
    g_return_val_if_fail(cap < RIG_QEMU_N_CAPS, NULL);
    if (caps->has[cap]) {
        return NULL;
    }
    return g_strdup_printf("needs %s (%s), which QEMU %s (%s) lacks",
                           CAPS[cap].name, CAPS[cap].description, caps->version,
                           caps->qemu);
}

JsonNode *rig_qemu_caps_to_json(const RigQemuCaps *caps)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "qemu");
    json_builder_add_string_value(b, caps->qemu);
    json_builder_set_member_name(b, "version");
    json_builder_add_string_value(b, caps->version);
    json_builder_set_member_name(b, "package");
    json_builder_add_string_value(b, caps->package);
    json_builder_set_member_name(b, "capabilities");
    json_builder_begin_object(b);
    for (guint i = 0; i < RIG_QEMU_N_CAPS; i++) {
        json_builder_set_member_name(b, CAPS[i].name);
        json_builder_add_boolean_value(b, caps->has[i]);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "missing");
    json_builder_begin_array(b);
    for (guint i = 0; i < RIG_QEMU_N_CAPS; i++) {
        if (!caps->has[i]) {
            json_builder_add_string_value(b, CAPS[i].name);
        }
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "trace_events");
    json_builder_begin_array(b);
    for (guint i = 0; caps->trace_events[i] != NULL; i++) {
        json_builder_add_string_value(b, caps->trace_events[i]);
    }
    json_builder_end_array(b);
    if (caps->interval_detail != NULL) {
        json_builder_set_member_name(b, "rsc_interval_detail");
        json_builder_add_string_value(b, caps->interval_detail);
    }
    json_builder_set_member_name(b, "probe_s");
    json_builder_add_double_value(b, caps->probe_s);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}
