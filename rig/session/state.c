/*
 * Session state file: see state.h.
 */
#include "session/state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "session/session.h"

static const char *const NETWORKS[] = {"control", "test", "world", "extra",
                                       NULL};

const char *session_state_root(void)
{
    const char *env = g_getenv("RIG_SESSION_DIR");

    return env != NULL && env[0] != '\0' ? env : SESSION_DEFAULT_STATE_ROOT;
}

static gint compare_uint(gconstpointer a, gconstpointer b)
{
    guint x = *(const guint *)a;
    guint y = *(const guint *)b;

    return x < y ? -1 : x > y;
}

GArray *session_list_ids(const char *state_root)
{
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(guint));
    g_autoptr(GDir) dir = g_dir_open(
        state_root != NULL ? state_root : session_state_root(), 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        guint64 id;

        if (g_ascii_string_to_unsigned(name, 10, 1, SESSION_MAX_ID, &id,
                                       NULL)) {
            guint v = (guint)id;

            g_array_append_val(ids, v);
        }
    }
    g_array_sort(ids, (GCompareFunc)compare_uint);
    return ids;
}

gboolean session_resolve_id(const char *state_root, guint id, guint *ret_id,
                            GError **error)
{
    g_autoptr(GArray) ids = session_list_ids(state_root);

    if (id != 0) {
        for (guint i = 0; i < ids->len; i++) {
            if (g_array_index(ids, guint, i) == id) {
                *ret_id = id;
                return TRUE;
            }
        }
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_NOT_FOUND,
                    "no session %u in %s", id,
                    state_root != NULL ? state_root : session_state_root());
        return FALSE;
    }
    if (ids->len == 1) {
        *ret_id = g_array_index(ids, guint, 0);
        return TRUE;
    }
    if (ids->len == 0) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_NOT_FOUND,
                    "no session in %s: start one with `rig session up "
                    "PROFILE`",
                    state_root != NULL ? state_root : session_state_root());
    } else {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_USAGE,
                    "%u sessions exist: choose one with --id", ids->len);
    }
    return FALSE;
}

char *session_dir(const char *state_root, guint id)
{
    g_autofree char *name = g_strdup_printf("%u", id);

    return g_build_filename(
        state_root != NULL ? state_root : session_state_root(), name, NULL);
}

static void nic_free(gpointer data)
{
    SessionNicState *nic = data;

    g_free(nic->id);
    g_free(nic->network);
    g_free(nic->model);
    g_free(nic->mac);
    g_free(nic->tap);
    g_free(nic->bridge);
    g_free(nic);
}

SessionVmState *session_vm_state_new(const char *name)
{
    SessionVmState *vm = g_new0(SessionVmState, 1);

    vm->name = g_strdup(name);
    vm->nics = g_ptr_array_new_with_free_func(nic_free);
    vm->forwards = g_array_new(FALSE, TRUE, sizeof(SessionForward));
    return vm;
}

void session_vm_state_free(SessionVmState *vm)
{
    if (vm == NULL) {
        return;
    }
    g_free(vm->name);
    g_free(vm->image);
    g_free(vm->qmp);
    g_free(vm->qga);
    g_free(vm->serial);
    g_free(vm->log);
    g_free(vm->pidfile);
    g_free(vm->trace_log);
    g_free(vm->accel);
    g_free(vm->vnc);
    g_ptr_array_unref(vm->nics);
    g_array_unref(vm->forwards);
    g_free(vm);
}

static void vm_free_gpointer(gpointer vm)
{
    session_vm_state_free(vm);
}

SessionNicState *session_vm_add_nic(SessionVmState *vm)
{
    SessionNicState *nic = g_new0(SessionNicState, 1);

    nic->queues = 1;
    g_ptr_array_add(vm->nics, nic);
    return nic;
}

SessionState *session_state_new(const char *dir, guint id)
{
    SessionState *state = g_new0(SessionState, 1);

    state->id = id;
    state->dir = g_strdup(dir);
    state->path = g_build_filename(dir, SESSION_STATE_FILE, NULL);
    state->bridges = g_ptr_array_new_with_free_func(g_free);
    state->vms = g_ptr_array_new_with_free_func(vm_free_gpointer);
    return state;
}

void session_state_free(SessionState *state)
{
    if (state == NULL) {
        return;
    }
    g_free(state->dir);
    g_free(state->path);
    g_free(state->profile);
    g_free(state->qemu);
    g_free(state->accel);
    g_free(state->netns);
    g_ptr_array_unref(state->bridges);
    g_ptr_array_unref(state->vms);
    g_free(state);
}

/* 1..@max bytes of [A-Za-z0-9_.-], not starting with '-'. */
static gboolean name_valid(const char *name, gsize max)
{
    gsize len = name != NULL ? strlen(name) : 0;

    if (len == 0 || len > max || name[0] == '-') {
        return FALSE;
    }
    for (gsize i = 0; i < len; i++) {
        if (!g_ascii_isalnum(name[i]) && strchr("_.-", name[i]) == NULL) {
            return FALSE;
        }
    }
    return TRUE;
}

gboolean session_ifname_valid(const char *name)
{
    return name_valid(name, 15);
}

gboolean session_check_private_dir(const char *path, GError **error)
{
    struct stat st;

    if (lstat(path, &st) < 0) {
        int saved = errno;

        g_set_error(error, SESSION_ERROR,
                    saved == ENOENT ? SESSION_ERROR_NOT_FOUND
                                    : SESSION_ERROR_FAILED,
                    "%s: %s", path, g_strerror(saved));
        return FALSE;
    }
    if (!S_ISDIR(st.st_mode)) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "%s is not a directory (a symlink?): refusing to use it "
                    "as session state",
                    path);
        return FALSE;
    }
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "%s is owned by uid %u, not by root: refusing to act on "
                    "session state another user could have written",
                    path, (guint)st.st_uid);
        return FALSE;
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "%s is writable by group or others (mode %04o): "
                    "refusing to act on session state another user could "
                    "have written (chmod go-w %s)",
                    path, (guint)(st.st_mode & 07777), path);
        return FALSE;
    }
    return TRUE;
}

/* ---- to JSON -------------------------------------------------------- */

static void set_string(JsonObject *o, const char *name, const char *value)
{
    if (value != NULL) {
        json_object_set_string_member(o, name, value);
    } else {
        json_object_set_null_member(o, name);
    }
}

JsonNode *session_vm_state_to_json(const SessionVmState *vm)
{
    JsonObject *o = json_object_new();
    JsonArray *nics = json_array_new();
    JsonArray *forwards = json_array_new();
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);

    set_string(o, "name", vm->name);
    set_string(o, "role",
               vm->role == SESSION_ROLE_STUDIO ? "studio" : "client");
    json_object_set_int_member(o, "index", vm->index);
    set_string(o, "image", vm->image);
    set_string(o, "qmp", vm->qmp);
    set_string(o, "qga", vm->qga);
    set_string(o, "serial", vm->serial);
    set_string(o, "log", vm->log);
    set_string(o, "pidfile", vm->pidfile);
    set_string(o, "trace_log", vm->trace_log);
    json_object_set_int_member(o, "pid", vm->pid);
    set_string(o, "accel", vm->accel);
    set_string(o, "vnc", vm->vnc);
    if (vm->rsc_interval != 0) {
        json_object_set_int_member(o, "rsc_interval", (gint64)vm->rsc_interval);
    }
    for (guint i = 0; i < vm->nics->len; i++) {
        const SessionNicState *nic = g_ptr_array_index(vm->nics, i);
        JsonObject *n = json_object_new();

        set_string(n, "id", nic->id);
        set_string(n, "network", nic->network);
        set_string(n, "model", nic->model);
        set_string(n, "mac", nic->mac);
        if (nic->tap != NULL) {
            set_string(n, "tap", nic->tap);
            set_string(n, "bridge", nic->bridge);
        }
        json_object_set_int_member(n, "queues", nic->queues);
        json_array_add_object_element(nics, n);
    }
    json_object_set_array_member(o, "nics", nics);
    for (guint i = 0; i < vm->forwards->len; i++) {
        const SessionForward *f =
            &g_array_index(vm->forwards, SessionForward, i);
        JsonObject *fo = json_object_new();

        json_object_set_int_member(fo, "host", f->host_port);
        json_object_set_int_member(fo, "guest", f->guest_port);
        json_array_add_object_element(forwards, fo);
    }
    json_object_set_array_member(o, "forwards", forwards);
    json_node_take_object(node, o);
    return node;
}

JsonNode *session_state_to_json(const SessionState *state)
{
    JsonObject *o = json_object_new();
    JsonArray *bridges = json_array_new();
    JsonArray *vms = json_array_new();
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);

    json_object_set_int_member(o, "version", SESSION_STATE_VERSION);
    json_object_set_int_member(o, "id", state->id);
    set_string(o, "profile", state->profile);
    set_string(o, "qemu", state->qemu);
    set_string(o, "accel", state->accel);
    set_string(o, "netns", state->netns);
    for (guint i = 0; i < state->bridges->len; i++) {
        json_array_add_string_element(bridges,
                                      g_ptr_array_index(state->bridges, i));
    }
    json_object_set_array_member(o, "host_bridges", bridges);
    json_object_set_int_member(o, "rsc_interval", (gint64)state->rsc_interval);
    json_object_set_boolean_member(o, "test_tap_tx_offload",
                                   state->test_tap_tx_offload);
    json_object_set_int_member(o, "keeper_pid", state->keeper_pid);
    for (guint i = 0; i < state->vms->len; i++) {
        json_array_add_element(
            vms, session_vm_state_to_json(g_ptr_array_index(state->vms, i)));
    }
    json_object_set_array_member(o, "vms", vms);
    json_node_take_object(node, o);
    return node;
}

gboolean session_state_save(const SessionState *state, GError **error)
{
    g_autoptr(JsonNode) root = session_state_to_json(state);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *text = NULL;

    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    text = json_generator_to_data(gen, NULL);
    return g_file_set_contents_full(
        state->path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

/* ---- from JSON ------------------------------------------------------ */

/* Reads members of one object; the first problem ends the load. */
typedef struct {
    const char *path;  /* state.json, for messages */
    const char *where; /* e.g. "vms[1].nics[0]" */
    JsonObject *obj;
    GError **error;
} Reader;

static gboolean G_GNUC_PRINTF(3, 4)
    reader_fail(const Reader *r, const char *member, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(r->error, SESSION_ERROR, SESSION_ERROR_FAILED,
                "%s: not a valid session state file: %s%s%s: %s (remove "
                "the session by hand, or rig session down after fixing it)",
                r->path, r->where, r->where[0] != '\0' ? "." : "", member, msg);
    return FALSE;
}

/* A string member; NULL (JSON null or absent) only when @nullable. */
static gboolean read_string(const Reader *r, const char *member,
                            gboolean nullable, char **ret_value)
{
    JsonNode *n = json_object_get_member(r->obj, member);

    if (n == NULL || JSON_NODE_HOLDS_NULL(n)) {
        if (!nullable) {
            return reader_fail(r, member, "missing");
        }
        *ret_value = NULL;
        return TRUE;
    }
    if (!JSON_NODE_HOLDS_VALUE(n) ||
        json_node_get_value_type(n) != G_TYPE_STRING) {
        return reader_fail(r, member, "not a string");
    }
    *ret_value = g_strdup(json_node_get_string(n));
    return TRUE;
}

static gboolean read_uint(const Reader *r, const char *member, gint64 max,
                          gboolean optional, guint64 *ret_value)
{
    JsonNode *n = json_object_get_member(r->obj, member);
    gint64 v;

    if (n == NULL && optional) {
        *ret_value = 0;
        return TRUE;
    }
    if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) ||
        json_node_get_value_type(n) != G_TYPE_INT64) {
        return reader_fail(r, member, n == NULL ? "missing" : "not an integer");
    }
    v = json_node_get_int(n);
    if (v < 0 || v > max) {
        return reader_fail(
            r, member, "%" G_GINT64_FORMAT " is not in 0..%" G_GINT64_FORMAT, v,
            max);
    }
    *ret_value = (guint64)v;
    return TRUE;
}

static gboolean read_bool(const Reader *r, const char *member,
                          gboolean *ret_value)
{
    JsonNode *n = json_object_get_member(r->obj, member);

    if (n == NULL) {
        *ret_value = FALSE;
        return TRUE;
    }
    if (!JSON_NODE_HOLDS_VALUE(n) ||
        json_node_get_value_type(n) != G_TYPE_BOOLEAN) {
        return reader_fail(r, member, "not true or false");
    }
    *ret_value = json_node_get_boolean(n);
    return TRUE;
}

static JsonArray *read_array(const Reader *r, const char *member,
                             gboolean optional)
{
    JsonNode *n = json_object_get_member(r->obj, member);

    if (n == NULL && optional) {
        return NULL;
    }
    if (n == NULL || !JSON_NODE_HOLDS_ARRAY(n)) {
        reader_fail(r, member, n == NULL ? "missing" : "not an array");
        return NULL;
    }
    return json_node_get_array(n);
}

/* A file the session made: a plain name inside the session directory. */
static gboolean read_own_path(const Reader *r, const char *dir,
                              const char *member, gboolean nullable,
                              char **ret_value)
{
    g_autofree char *value = NULL;
    g_autofree char *parent = NULL;
    g_autofree char *base = NULL;

    if (!read_string(r, member, nullable, &value)) {
        return FALSE;
    }
    if (value == NULL) {
        *ret_value = NULL;
        return TRUE;
    }
    parent = g_path_get_dirname(value);
    base = g_path_get_basename(value);
    if (g_strcmp0(parent, dir) != 0 || base[0] == '.') {
        return reader_fail(r, member, "\"%s\" is not a file in %s", value, dir);
    }
    *ret_value = g_steal_pointer(&value);
    return TRUE;
}

static gboolean read_ifname(const Reader *r, const char *member,
                            gboolean nullable, char **ret_value)
{
    g_autofree char *value = NULL;

    if (!read_string(r, member, nullable, &value)) {
        return FALSE;
    }
    if (value != NULL && !session_ifname_valid(value)) {
        return reader_fail(r, member, "\"%s\" is not an interface name", value);
    }
    *ret_value = g_steal_pointer(&value);
    return TRUE;
}

static gboolean mac_valid(const char *mac)
{
    if (strlen(mac) != 17) {
        return FALSE;
    }
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2 ? mac[i] != ':' : !g_ascii_isxdigit(mac[i])) {
            return FALSE;
        }
    }
    return TRUE;
}

static JsonObject *element_object(const Reader *parent, JsonArray *array,
                                  guint i, const char *what, Reader *ret)
{
    JsonNode *n = json_array_get_element(array, i);

    if (!JSON_NODE_HOLDS_OBJECT(n)) {
        g_autofree char *member = g_strdup_printf("%s[%u]", what, i);

        reader_fail(parent, member, "not an object");
        return NULL;
    }
    ret->obj = json_node_get_object(n);
    return ret->obj;
}

static gboolean read_nic(const Reader *r, SessionNicState *nic)
{
    guint64 queues = 1;

    if (!read_string(r, "id", FALSE, &nic->id) ||
        !read_string(r, "network", FALSE, &nic->network) ||
        !read_string(r, "model", FALSE, &nic->model) ||
        !read_string(r, "mac", FALSE, &nic->mac) ||
        !read_ifname(r, "tap", TRUE, &nic->tap) ||
        !read_ifname(r, "bridge", nic->tap == NULL, &nic->bridge) ||
        !read_uint(r, "queues", SESSION_MAX_QUEUES, TRUE, &queues)) {
        return FALSE;
    }
    if (!g_strv_contains(NETWORKS, nic->network)) {
        return reader_fail(r, "network", "\"%s\" is not a network",
                           nic->network);
    }
    if (!mac_valid(nic->mac)) {
        return reader_fail(r, "mac", "\"%s\" is not a MAC", nic->mac);
    }
    if (!session_ifname_valid(nic->id)) {
        return reader_fail(r, "id", "\"%s\" is not a device id", nic->id);
    }
    nic->queues = queues > 0 ? (guint)queues : 1;
    return TRUE;
}

static gboolean read_vm(const Reader *r, const char *dir, SessionVmState *vm)
{
    g_autofree char *role = NULL;
    g_autofree char *nics_where = NULL;
    JsonArray *nics;
    JsonArray *forwards;
    guint64 index = 0;
    guint64 pid = 0;

    if (!read_string(r, "role", FALSE, &role) ||
        !read_uint(r, "index", SESSION_MAX_CLIENTS, FALSE, &index) ||
        !read_string(r, "image", TRUE, &vm->image) ||
        !read_own_path(r, dir, "qmp", FALSE, &vm->qmp) ||
        !read_own_path(r, dir, "qga", FALSE, &vm->qga) ||
        !read_own_path(r, dir, "serial", FALSE, &vm->serial) ||
        !read_own_path(r, dir, "log", FALSE, &vm->log) ||
        !read_own_path(r, dir, "pidfile", FALSE, &vm->pidfile) ||
        !read_own_path(r, dir, "trace_log", TRUE, &vm->trace_log) ||
        !read_uint(r, "pid", G_MAXINT32, FALSE, &pid) ||
        !read_string(r, "accel", TRUE, &vm->accel) ||
        !read_string(r, "vnc", TRUE, &vm->vnc) ||
        !read_uint(r, "rsc_interval", G_MAXUINT32, TRUE, &vm->rsc_interval)) {
        return FALSE;
    }
    if (!g_str_equal(role, "studio") && !g_str_equal(role, "client")) {
        return reader_fail(r, "role", "\"%s\" is neither studio nor client",
                           role);
    }
    vm->role =
        g_str_equal(role, "studio") ? SESSION_ROLE_STUDIO : SESSION_ROLE_CLIENT;
    vm->index = (guint)index;
    vm->pid = (gint64)pid;
    nics = read_array(r, "nics", FALSE);
    if (nics == NULL) {
        return FALSE;
    }
    nics_where = g_strdup_printf("%s.nics", r->where);
    for (guint i = 0; i < json_array_get_length(nics); i++) {
        g_autofree char *where = g_strdup_printf("%s[%u]", nics_where, i);
        Reader nr = {.path = r->path, .where = where, .error = r->error};

        if (element_object(r, nics, i, "nics", &nr) == NULL ||
            !read_nic(&nr, session_vm_add_nic(vm))) {
            return FALSE;
        }
    }
    forwards = read_array(r, "forwards", TRUE);
    for (guint i = 0; forwards != NULL && i < json_array_get_length(forwards);
         i++) {
        g_autofree char *where =
            g_strdup_printf("%s.forwards[%u]", r->where, i);
        Reader fr = {.path = r->path, .where = where, .error = r->error};
        SessionForward f = {0};
        guint64 host = 0;
        guint64 guest = 0;

        if (element_object(r, forwards, i, "forwards", &fr) == NULL ||
            !read_uint(&fr, "host", 65535, FALSE, &host) ||
            !read_uint(&fr, "guest", 65535, FALSE, &guest)) {
            return FALSE;
        }
        f.host_port = (guint16)host;
        f.guest_port = (guint16)guest;
        g_array_append_val(vm->forwards, f);
    }
    return TRUE;
}

SessionState *session_state_from_json(JsonNode *node, const char *dir, guint id,
                                      GError **error)
{
    g_autoptr(SessionState) state = session_state_new(dir, id);
    Reader r = {.path = state->path, .where = "", .error = error};
    JsonArray *bridges;
    JsonArray *vms;
    guint64 version = 0;
    guint64 file_id = 0;
    guint64 keeper = 0;

    if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node)) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "%s: not a valid session state file: not a JSON object",
                    state->path);
        return NULL;
    }
    r.obj = json_node_get_object(node);
    if (!read_uint(&r, "version", G_MAXINT32, FALSE, &version) ||
        !read_uint(&r, "id", SESSION_MAX_ID, FALSE, &file_id) ||
        !read_string(&r, "profile", TRUE, &state->profile) ||
        !read_string(&r, "qemu", TRUE, &state->qemu) ||
        !read_string(&r, "accel", TRUE, &state->accel) ||
        !read_string(&r, "netns", TRUE, &state->netns) ||
        !read_uint(&r, "rsc_interval", G_MAXUINT32, TRUE,
                   &state->rsc_interval) ||
        !read_bool(&r, "test_tap_tx_offload", &state->test_tap_tx_offload) ||
        !read_uint(&r, "keeper_pid", G_MAXINT32, TRUE, &keeper)) {
        return NULL;
    }
    state->keeper_pid = (gint64)keeper;
    if (version != SESSION_STATE_VERSION) {
        reader_fail(&r, "version", "%" G_GUINT64_FORMAT " is not %d", version,
                    SESSION_STATE_VERSION);
        return NULL;
    }
    if (file_id != id) {
        reader_fail(&r, "id",
                    "%" G_GUINT64_FORMAT " does not match the directory (%u)",
                    file_id, id);
        return NULL;
    }
    if (state->netns != NULL && (!g_str_has_prefix(state->netns, "rig-s") ||
                                 !name_valid(state->netns, 64))) {
        reader_fail(&r, "netns", "\"%s\" is not a namespace the rig made",
                    state->netns);
        return NULL;
    }
    bridges = read_array(&r, "host_bridges", TRUE);
    for (guint i = 0; bridges != NULL && i < json_array_get_length(bridges);
         i++) {
        JsonNode *b = json_array_get_element(bridges, i);
        const char *name = JSON_NODE_HOLDS_VALUE(b) &&
                                   json_node_get_value_type(b) == G_TYPE_STRING
                               ? json_node_get_string(b)
                               : NULL;
        g_autofree char *member = g_strdup_printf("host_bridges[%u]", i);

        if (!session_ifname_valid(name)) {
            reader_fail(&r, member, "not an interface name");
            return NULL;
        }
        g_ptr_array_add(state->bridges, g_strdup(name));
    }
    vms = read_array(&r, "vms", FALSE);
    if (vms == NULL) {
        return NULL;
    }
    for (guint i = 0; i < json_array_get_length(vms); i++) {
        g_autofree char *where = g_strdup_printf("vms[%u]", i);
        Reader vr = {.path = state->path, .where = where, .error = error};
        g_autoptr(SessionVmState) vm = NULL;
        g_autofree char *name = NULL;

        if (element_object(&r, vms, i, "vms", &vr) == NULL ||
            !read_string(&vr, "name", FALSE, &name)) {
            return NULL;
        }
        if (!session_ifname_valid(name) || strchr(name, '.') != NULL) {
            reader_fail(&vr, "name", "\"%s\" is not a VM name", name);
            return NULL;
        }
        if (session_state_find_vm(state, name) != NULL) {
            reader_fail(&vr, "name", "\"%s\" appears twice", name);
            return NULL;
        }
        vm = session_vm_state_new(name);
        if (!read_vm(&vr, dir, vm)) {
            return NULL;
        }
        g_ptr_array_add(state->vms, g_steal_pointer(&vm));
    }
    return g_steal_pointer(&state);
}

SessionState *session_state_load(const char *state_root, guint id,
                                 GError **error)
{
    const char *root = state_root != NULL ? state_root : session_state_root();
    g_autofree char *dir = session_dir(state_root, id);
    g_autofree char *path = g_build_filename(dir, SESSION_STATE_FILE, NULL);
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) local = NULL;
    struct stat st;

    if (!session_check_private_dir(root, error) ||
        !session_check_private_dir(dir, error)) {
        return NULL;
    }
    if (lstat(path, &st) == 0 &&
        (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) ||
         (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "%s is not a regular file owned by root and writable "
                    "only by its owner: refusing to act on it",
                    path);
        return NULL;
    }
    if (!json_parser_load_from_file(parser, path, &local)) {
        g_set_error(error, SESSION_ERROR, SESSION_ERROR_FAILED,
                    "session %u: cannot read %s: %s", id, path, local->message);
        return NULL;
    }
    return session_state_from_json(json_parser_get_root(parser), dir, id,
                                   error);
}

SessionVmState *session_state_find_vm(SessionState *state, const char *name)
{
    for (guint i = 0; i < state->vms->len; i++) {
        SessionVmState *vm = g_ptr_array_index(state->vms, i);

        if (g_str_equal(vm->name, name)) {
            return vm;
        }
    }
    return NULL;
}

SessionNicState *session_vm_find_nic(SessionVmState *vm, const char *network)
{
    for (guint i = 0; i < vm->nics->len; i++) {
        SessionNicState *nic = g_ptr_array_index(vm->nics, i);

        if (g_str_equal(nic->network, network)) {
            return nic;
        }
    }
    return NULL;
}

void session_print_vm_access(const SessionVmState *vm, const char *indent)
{
    printf("%sQMP %s\n%sagent %s\n%sserial log %s\n", indent, vm->qmp, indent,
           vm->qga, indent, vm->serial);
    if (vm->trace_log != NULL) {
        printf("%strace log %s\n", indent, vm->trace_log);
    }
    for (guint j = 0; j < vm->nics->len; j++) {
        const SessionNicState *nic = g_ptr_array_index(vm->nics, j);

        printf("%s%s NIC %s %s%s%s", indent, nic->network, nic->model, nic->mac,
               nic->tap != NULL ? " tap " : "",
               nic->tap != NULL ? nic->tap : "");
        if (nic->queues > 1) {
            printf(", %u queues", nic->queues);
        }
        printf("\n");
    }
    for (guint j = 0; j < vm->forwards->len; j++) {
        const SessionForward *f =
            &g_array_index(vm->forwards, SessionForward, j);

        printf("%sforward 127.0.0.1:%u -> guest port %u\n", indent,
               f->host_port, f->guest_port);
    }
}
