/*
 * Resolving `--qemu fixed|stock|PATH` and reading ci/build-qemu's record.
 */
#include "harness/qemu-build.h"

#include "rig-config.h"

/* clang-format off */
G_DEFINE_QUARK(rig-qemu-build-error-quark, qemu_build_error)
/* clang-format on */

void qemu_build_free(QemuBuild *build)
{
    if (!build) {
        return;
    }
    g_free(build->requested);
    g_free(build->path);
    g_free(build->variant);
    g_free(build->version);
    g_free(build->debian_version);
    g_free(build->series_hash);
    g_free(build->cache_key);
    g_strfreev(build->patches);
    g_strfreev(build->fix_patches);
    g_free(build);
}

QemuBuild *qemu_build_copy(const QemuBuild *build)
{
    QemuBuild *c = g_new0(QemuBuild, 1);

    c->kind = build->kind;
    c->requested = g_strdup(build->requested);
    c->path = g_strdup(build->path);
    c->variant = g_strdup(build->variant);
    c->version = g_strdup(build->version);
    c->debian_version = g_strdup(build->debian_version);
    c->series_hash = g_strdup(build->series_hash);
    c->cache_key = g_strdup(build->cache_key);
    c->patches = g_strdupv(build->patches);
    c->fix_patches = g_strdupv(build->fix_patches);
    c->has_record = build->has_record;
    return c;
}

const char *qemu_build_kind_name(QemuBuildKind kind)
{
    switch (kind) {
    case QEMU_BUILD_FIXED:
        return "fixed";
    case QEMU_BUILD_STOCK:
        return "stock";
    case QEMU_BUILD_OTHER:
    default:
        return "other";
    }
}

QemuBuildKind qemu_build_kind_from_variant(const char *variant)
{
    if (variant && g_str_equal(variant, "fixed")) {
        return QEMU_BUILD_FIXED;
    }
    if (variant && g_str_equal(variant, "stock")) {
        return QEMU_BUILD_STOCK;
    }
    return QEMU_BUILD_OTHER;
}

static char *member_string(JsonObject *o, const char *name)
{
    JsonNode *n = json_object_get_member(o, name);

    if (!n || !JSON_NODE_HOLDS_VALUE(n) ||
        json_node_get_value_type(n) != G_TYPE_STRING) {
        return NULL;
    }
    return g_strdup(json_node_get_string(n));
}

/* A member that is an array of strings; NULL when absent. */
static GStrv member_strv(JsonObject *o, const char *name)
{
    JsonNode *n = json_object_get_member(o, name);
    GPtrArray *v;
    JsonArray *arr;

    if (!n || !JSON_NODE_HOLDS_ARRAY(n)) {
        return NULL;
    }
    arr = json_node_get_array(n);
    v = g_ptr_array_new();
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonNode *e = json_array_get_element(arr, i);

        if (JSON_NODE_HOLDS_VALUE(e) &&
            json_node_get_value_type(e) == G_TYPE_STRING) {
            g_ptr_array_add(v, g_strdup(json_node_get_string(e)));
        }
    }
    g_ptr_array_add(v, NULL);
    return (GStrv)g_ptr_array_free(v, FALSE);
}

void qemu_build_load_record(QemuBuild *build, const char *record_path)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonNode *root;
    JsonObject *o;

    if (!json_parser_load_from_file(parser, record_path, NULL)) {
        return;
    }
    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        return;
    }
    o = json_node_get_object(root);
    build->has_record = TRUE;
    /* ci/build-qemu writes "build": "stock" | "fixed". */
    build->variant = member_string(o, "build");
    build->version = member_string(o, "qemu_version");
    build->debian_version = member_string(o, "debian_version");
    build->series_hash = member_string(o, "series_sha256");
    build->cache_key = member_string(o, "cache_key");
    build->patches = member_strv(o, "patches");
    build->fix_patches = member_strv(o, "fix_patches");
}

/* The binary a keyword stands for: the environment, else the build's. */
static const char *keyword_binary(QemuBuildKind kind)
{
    const char *env =
        g_getenv(kind == QEMU_BUILD_STOCK ? "RIG_QEMU_STOCK" : "RIG_QEMU");

    if (env && env[0]) {
        return env;
    }
    return kind == QEMU_BUILD_STOCK ? RIG_DEFAULT_QEMU_STOCK : RIG_DEFAULT_QEMU;
}

QemuBuild *qemu_build_resolve(const char *spec, GError **error)
{
    g_autoptr(QemuBuild) b = g_new0(QemuBuild, 1);
    g_autofree char *bindir = NULL;
    g_autofree char *record = NULL;
    gboolean keyword = TRUE;

    if (!spec || g_str_equal(spec, "fixed") || g_str_equal(spec, "patched")) {
        b->kind = QEMU_BUILD_FIXED;
    } else if (g_str_equal(spec, "stock")) {
        b->kind = QEMU_BUILD_STOCK;
    } else {
        keyword = FALSE;
    }
    b->requested = g_strdup(keyword ? qemu_build_kind_name(b->kind) : spec);
    if (keyword) {
        const char *bin = keyword_binary(b->kind);

        if (!bin || !bin[0]) {
            g_set_error(
                error, QEMU_BUILD_ERROR, QEMU_BUILD_ERROR_NOT_CONFIGURED,
                "no %s QEMU configured: run ci/build-qemu%s and then "
                "ci/build (or set %s, or pass --qemu PATH)",
                b->requested, b->kind == QEMU_BUILD_STOCK ? " --stock" : "",
                b->kind == QEMU_BUILD_STOCK ? "RIG_QEMU_STOCK" : "RIG_QEMU");
            return NULL;
        }
        b->path = g_strdup(bin);
    } else if (!g_path_is_absolute(spec) && !g_strrstr(spec, "/")) {
        g_set_error(error, QEMU_BUILD_ERROR, QEMU_BUILD_ERROR_INVALID,
                    "--qemu \"%s\": expected fixed, stock or a path to a "
                    "QEMU binary",
                    spec);
        return NULL;
    } else {
        b->path = g_strdup(spec);
    }
    if (!g_file_test(b->path, G_FILE_TEST_IS_EXECUTABLE) ||
        g_file_test(b->path, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, QEMU_BUILD_ERROR, QEMU_BUILD_ERROR_MISSING,
                    "QEMU %s (%s) is missing or not executable: run "
                    "ci/build-qemu%s, or pass --qemu PATH",
                    b->path, b->requested,
                    b->kind == QEMU_BUILD_STOCK && keyword ? " --stock" : "");
        return NULL;
    }
    bindir = g_path_get_dirname(b->path);
    record = g_build_filename(bindir, "..", "rig-qemu-build.json", NULL);
    qemu_build_load_record(b, record);
    if (!keyword) {
        b->kind = qemu_build_kind_from_variant(b->variant);
    } else if (b->variant &&
               qemu_build_kind_from_variant(b->variant) != b->kind) {
        g_set_error(error, QEMU_BUILD_ERROR, QEMU_BUILD_ERROR_MISMATCH,
                    "--qemu %s resolved to %s, but its build record says "
                    "build \"%s\": fix RIG_QEMU%s or rebuild with "
                    "ci/build",
                    b->requested, b->path, b->variant,
                    b->kind == QEMU_BUILD_STOCK ? "_STOCK" : "");
        return NULL;
    }
    return g_steal_pointer(&b);
}

static void add_string(JsonBuilder *jb, const char *key, const char *value)
{
    json_builder_set_member_name(jb, key);
    if (value) {
        json_builder_add_string_value(jb, value);
    } else {
        json_builder_add_null_value(jb);
    }
}

static void add_strv(JsonBuilder *jb, const char *key, GStrv v)
{
    json_builder_set_member_name(jb, key);
    if (!v) {
        json_builder_add_null_value(jb);
        return;
    }
    json_builder_begin_array(jb);
    for (guint i = 0; v[i]; i++) {
        json_builder_add_string_value(jb, v[i]);
    }
    json_builder_end_array(jb);
}

JsonNode *qemu_build_to_json(const QemuBuild *build)
{
    g_autoptr(JsonBuilder) jb = json_builder_new();

    json_builder_begin_object(jb);
    add_string(jb, "build", qemu_build_kind_name(build->kind));
    add_string(jb, "requested", build->requested);
    add_string(jb, "path", build->path);
    add_string(jb, "variant", build->variant);
    add_string(jb, "version", build->version);
    add_string(jb, "debian_version", build->debian_version);
    add_string(jb, "patch_series_hash", build->series_hash);
    add_string(jb, "cache_key", build->cache_key);
    add_strv(jb, "patches", build->patches);
    add_strv(jb, "fix_patches", build->fix_patches);
    json_builder_end_object(jb);
    return json_builder_get_root(jb);
}
