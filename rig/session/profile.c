/*
 * Session profile loader: see session-profile.h.
 */
#include "session/profile.h"

#include <string.h>

#include "ini/ini.h"

/* Keys a VM group ([studio], [clientN]) or [session] may set for all. */
#define VM_KEYS                                                                \
    "cpus", "memory", "image_format", "kernel", "initrd", "append",            \
        "trace_events"

static const char *const SESSION_KEYS[] = {
    "clients",  "machine", "firmware",    "accel", "cpu", "disk_mode",
    "disk_bus", "netns",   "host_bridge", VM_KEYS, NULL};
static const char *const CONTROL_KEYS[] = {"nic_model", NULL};
static const char *const TEST_KEYS[] = {"nic_model",      "guest_rsc_ext",
                                        "rsc_interval",   "device_options",
                                        "tap_tx_offload", NULL};
static const char *const WORLD_KEYS[] = {"enabled", "nic_model", "forwards",
                                         NULL};
static const char *const STUDIO_KEYS[] = {VM_KEYS, NULL};
static const char *const CLIENT_KEYS[] = {
    VM_KEYS, "test_mac", "queues", "link_speed", "extra_nic", "world", NULL};

GQuark session_profile_error_quark(void)
{
    return g_quark_from_static_string("rig-session-profile-error-quark");
}

typedef struct {
    GKeyFile *kf;
    const char *name;
} Loader;

static gboolean G_GNUC_PRINTF(5, 6)
    profile_fail(const Loader *ld, const char *group, const char *key,
                 GError **error, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (key != NULL) {
        g_set_error(error, SESSION_PROFILE_ERROR, SESSION_PROFILE_ERROR_INVALID,
                    "%s: [%s] %s: %s", ld->name, group, key, msg);
    } else {
        g_set_error(error, SESSION_PROFILE_ERROR, SESSION_PROFILE_ERROR_INVALID,
                    "%s: [%s]: %s", ld->name, group, msg);
    }
    return FALSE;
}

static gboolean profile_check_keys(const Loader *ld, const char *group,
                                   const char *const *allowed, GError **error)
{
    g_auto(GStrv) keys = g_key_file_get_keys(ld->kf, group, NULL, NULL);

    for (gsize i = 0; keys != NULL && keys[i] != NULL; i++) {
        if (!g_strv_contains(allowed, keys[i])) {
            g_autofree char *list = g_strjoinv(", ", (char **)allowed);

            return profile_fail(ld, group, keys[i], error,
                                "unknown key (known: %s)", list);
        }
    }
    return TRUE;
}

/* Reads a string; @ret_value keeps its default when the key is absent. */
static gboolean profile_get_string(const Loader *ld, const char *group,
                                   const char *key, char **ret_value,
                                   GError **error)
{
    g_autofree char *value = NULL;

    if (!g_key_file_has_key(ld->kf, group, key, NULL)) {
        return TRUE;
    }
    value = g_key_file_get_string(ld->kf, group, key, NULL);
    if (value == NULL) {
        return profile_fail(ld, group, key, error, "not a valid string");
    }
    g_strstrip(value);
    g_free(*ret_value);
    *ret_value = value[0] != '\0' ? g_steal_pointer(&value) : NULL;
    return TRUE;
}

static gboolean profile_get_uint(const Loader *ld, const char *group,
                                 const char *key, guint64 min, guint64 max,
                                 guint64 *ret_value, GError **error)
{
    g_autofree char *text = NULL;
    guint64 value;

    if (!g_key_file_has_key(ld->kf, group, key, NULL)) {
        return TRUE;
    }
    text = g_key_file_get_string(ld->kf, group, key, NULL);
    if (text == NULL || !g_ascii_string_to_unsigned(g_strstrip(text), 10, min,
                                                    max, &value, NULL)) {
        return profile_fail(ld, group, key, error,
                            "\"%s\" is not an integer in %" G_GUINT64_FORMAT
                            "..%" G_GUINT64_FORMAT,
                            text != NULL ? text : "", min, max);
    }
    *ret_value = value;
    return TRUE;
}

static gboolean profile_get_bool(const Loader *ld, const char *group,
                                 const char *key, gboolean *ret_value,
                                 GError **error)
{
    g_autofree char *text = NULL;

    if (!g_key_file_has_key(ld->kf, group, key, NULL)) {
        return TRUE;
    }
    text = g_key_file_get_string(ld->kf, group, key, NULL);
    if (text == NULL) {
        return profile_fail(ld, group, key, error, "not a valid string");
    }
    g_strstrip(text);
    if (g_str_equal(text, "true") || g_str_equal(text, "yes") ||
        g_str_equal(text, "on") || g_str_equal(text, "1")) {
        *ret_value = TRUE;
    } else if (g_str_equal(text, "false") || g_str_equal(text, "no") ||
               g_str_equal(text, "off") || g_str_equal(text, "0")) {
        *ret_value = FALSE;
    } else {
        return profile_fail(ld, group, key, error,
                            "\"%s\" is not a boolean (true/false)", text);
    }
    return TRUE;
}

/* Maps a string key onto one of @names (index into @names). */
static gboolean profile_get_choice(const Loader *ld, const char *group,
                                   const char *key, const char *const *names,
                                   int *ret_value, GError **error)
{
    g_autofree char *text = NULL;

    if (!profile_get_string(ld, group, key, &text, error)) {
        return FALSE;
    }
    if (text == NULL) {
        return TRUE;
    }
    for (int i = 0; names[i] != NULL; i++) {
        if (g_str_equal(text, names[i])) {
            *ret_value = i;
            return TRUE;
        }
    }
    {
        g_autofree char *list = g_strjoinv(", ", (char **)names);

        return profile_fail(ld, group, key, error, "\"%s\" is not one of: %s",
                            text, list);
    }
}

static gboolean profile_parse_mac(const char *text, guint8 ret_mac[6])
{
    guint8 mac[6];

    if (strlen(text) != 17) {
        return FALSE;
    }
    for (int i = 0; i < 6; i++) {
        int hi = g_ascii_xdigit_value(text[i * 3]);
        int lo = g_ascii_xdigit_value(text[i * 3 + 1]);

        if (hi < 0 || lo < 0 || (i < 5 && text[i * 3 + 2] != ':')) {
            return FALSE;
        }
        mac[i] = (guint8)(hi * 16 + lo);
    }
    memcpy(ret_mac, mac, 6);
    return TRUE;
}

char *session_mac_format(const guint8 mac[6])
{
    return g_strdup_printf("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
                           mac[2], mac[3], mac[4], mac[5]);
}

void session_mac_for(guint session_id, guint network, guint vm_index,
                     guint8 ret_mac[6])
{
    ret_mac[0] = 0x52;
    ret_mac[1] = 0x54;
    ret_mac[2] = 0x00;
    ret_mac[3] = (guint8)session_id;
    ret_mac[4] = (guint8)network;
    ret_mac[5] = (guint8)vm_index;
}

static void session_vm_spec_free(SessionVmSpec *vm)
{
    if (vm == NULL) {
        return;
    }
    g_free(vm->name);
    g_free(vm->image_format);
    g_free(vm->kernel);
    g_free(vm->initrd);
    g_free(vm->append);
    g_strfreev(vm->trace_events);
    g_free(vm->extra_nic);
    g_free(vm);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SessionVmSpec, session_vm_spec_free)

void session_profile_free(SessionProfile *profile)
{
    if (profile == NULL) {
        return;
    }
    g_free(profile->path);
    g_free(profile->machine);
    g_free(profile->cpu_model);
    g_free(profile->disk_bus);
    g_free(profile->host_bridge);
    g_free(profile->control_nic);
    g_free(profile->test_nic);
    g_free(profile->test_device_options);
    g_free(profile->world_nic);
    if (profile->forwards != NULL) {
        g_array_unref(profile->forwards);
    }
    if (profile->vms != NULL) {
        g_ptr_array_unref(profile->vms);
    }
    g_free(profile);
}

/* trace_events = PATTERN[, PATTERN...] (QEMU's -trace enable=PATTERN). */
static gboolean profile_get_trace_events(const Loader *ld, const char *group,
                                         SessionVmSpec *vm, GError **error)
{
    g_autofree char *text = NULL;
    g_autoptr(GPtrArray) list = NULL;
    g_auto(GStrv) items = NULL;

    if (!profile_get_string(ld, group, "trace_events", &text, error)) {
        return FALSE;
    }
    if (text == NULL) {
        return TRUE;
    }
    list = g_ptr_array_new_with_free_func(g_free);
    items = g_strsplit_set(text, ", ", -1);
    for (gsize i = 0; items[i] != NULL; i++) {
        if (items[i][0] == '\0') {
            continue;
        }
        for (const char *c = items[i]; *c != '\0'; c++) {
            if (!g_ascii_isalnum(*c) && *c != '_' && *c != '*' && *c != '?') {
                return profile_fail(ld, group, "trace_events", error,
                                    "\"%s\" is not a trace event pattern "
                                    "(letters, digits, _, * and ?)",
                                    items[i]);
            }
        }
        g_ptr_array_add(list, g_strdup(items[i]));
    }
    g_ptr_array_add(list, NULL);
    g_strfreev(vm->trace_events);
    vm->trace_events = (char **)g_ptr_array_free(g_steal_pointer(&list), FALSE);
    return TRUE;
}

/* Keys of a client's own group: its test NIC, extra NIC, world access. */
static gboolean profile_load_client_keys(const Loader *ld, SessionVmSpec *vm,
                                         GError **error)
{
    guint64 queues = 1;
    guint64 speed = 0;

    if (!profile_get_uint(ld, vm->name, "queues", 1, SESSION_MAX_QUEUES,
                          &queues, error) ||
        !profile_get_uint(ld, vm->name, "link_speed", 1, 800000, &speed,
                          error) ||
        !profile_get_string(ld, vm->name, "extra_nic", &vm->extra_nic, error) ||
        !profile_get_bool(ld, vm->name, "world", &vm->world, error)) {
        return FALSE;
    }
    vm->queues = (guint)queues;
    vm->link_speed = (guint)speed;
    return TRUE;
}

/* VM keys: [session] sets defaults, the VM's own group overrides them. */
static gboolean profile_load_vm_keys(const Loader *ld, const char *group,
                                     SessionVmSpec *vm, GError **error)
{
    static const char *const formats[] = {"qcow2", "raw", NULL};
    guint64 cpus = vm->cpus;
    guint64 memory = vm->memory_mib;
    int format = g_str_equal(vm->image_format, "raw") ? 1 : 0;

    if (!g_key_file_has_group(ld->kf, group)) {
        return TRUE;
    }
    if (!profile_get_uint(ld, group, "cpus", 1, 64, &cpus, error) ||
        !profile_get_uint(ld, group, "memory", 64, 1024 * 1024, &memory,
                          error) ||
        !profile_get_choice(ld, group, "image_format", formats, &format,
                            error) ||
        !profile_get_string(ld, group, "kernel", &vm->kernel, error) ||
        !profile_get_string(ld, group, "initrd", &vm->initrd, error) ||
        !profile_get_string(ld, group, "append", &vm->append, error) ||
        !profile_get_trace_events(ld, group, vm, error)) {
        return FALSE;
    }
    vm->cpus = (guint)cpus;
    vm->memory_mib = (guint)memory;
    g_free(vm->image_format);
    vm->image_format = g_strdup(formats[format]);
    if ((vm->initrd != NULL || vm->append != NULL) && vm->kernel == NULL) {
        return profile_fail(ld, group, vm->initrd != NULL ? "initrd" : "append",
                            error, "needs kernel= as well");
    }
    return TRUE;
}

static gboolean profile_parse_forwards(const Loader *ld, const char *text,
                                       GArray *forwards, GError **error)
{
    g_auto(GStrv) items = g_strsplit(text, ",", -1);

    for (gsize i = 0; items[i] != NULL; i++) {
        g_auto(GStrv) ports = NULL;
        SessionForward fwd = {0};
        guint64 host = 0;
        guint64 guest = 0;
        gsize n;

        g_strstrip(items[i]);
        if (items[i][0] == '\0') {
            continue;
        }
        ports = g_strsplit(items[i], ":", 2);
        n = g_strv_length(ports);
        if ((n == 2 && !g_ascii_string_to_unsigned(ports[0], 10, 1, 65535,
                                                   &host, NULL)) ||
            !g_ascii_string_to_unsigned(ports[n - 1], 10, 1, 65535, &guest,
                                        NULL)) {
            return profile_fail(ld, "world", "forwards", error,
                                "\"%s\" is neither GUESTPORT nor "
                                "HOSTPORT:GUESTPORT",
                                items[i]);
        }
        fwd.host_port = (guint16)host;
        fwd.guest_port = (guint16)guest;
        g_array_append_val(forwards, fwd);
    }
    return TRUE;
}

static gboolean profile_check_groups(const Loader *ld, guint clients,
                                     GError **error)
{
    g_auto(GStrv) groups = g_key_file_get_groups(ld->kf, NULL);

    for (gsize i = 0; groups[i] != NULL; i++) {
        const char *g = groups[i];
        const char *const *keys = NULL;
        guint64 n;

        if (g_str_equal(g, "session")) {
            keys = SESSION_KEYS;
        } else if (g_str_equal(g, "control")) {
            keys = CONTROL_KEYS;
        } else if (g_str_equal(g, "test")) {
            keys = TEST_KEYS;
        } else if (g_str_equal(g, "world")) {
            keys = WORLD_KEYS;
        } else if (g_str_equal(g, "studio")) {
            keys = STUDIO_KEYS;
        } else if (g_str_has_prefix(g, "client") &&
                   g_ascii_string_to_unsigned(g + 6, 10, 1, G_MAXUINT, &n,
                                              NULL)) {
            if (n > clients) {
                return profile_fail(ld, g, NULL, error,
                                    "the profile has only %u client(s) "
                                    "([session] clients)",
                                    clients);
            }
            keys = CLIENT_KEYS;
        } else {
            return profile_fail(ld, g, NULL, error,
                                "unknown group (known: session, control, "
                                "test, world, studio, client1..client%u)",
                                clients);
        }
        if (!profile_check_keys(ld, g, keys, error)) {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean profile_load_vms(const Loader *ld, SessionProfile *profile,
                                 GError **error)
{
    g_autoptr(SessionVmSpec) defaults = g_new0(SessionVmSpec, 1);

    defaults->cpus = SESSION_DEFAULT_CPUS;
    defaults->memory_mib = SESSION_DEFAULT_MEMORY_MIB;
    defaults->image_format = g_strdup("qcow2");
    if (!profile_load_vm_keys(ld, "session", defaults, error)) {
        return FALSE;
    }
    for (guint i = 0; i <= profile->clients; i++) {
        SessionVmSpec *vm = g_new0(SessionVmSpec, 1);
        g_autofree char *mac = NULL;

        g_ptr_array_add(profile->vms, vm);
        vm->index = i;
        vm->role = i == 0 ? SESSION_ROLE_STUDIO : SESSION_ROLE_CLIENT;
        vm->name = i == 0 ? g_strdup("studio") : g_strdup_printf("client%u", i);
        vm->cpus = defaults->cpus;
        vm->memory_mib = defaults->memory_mib;
        vm->image_format = g_strdup(defaults->image_format);
        vm->kernel = g_strdup(defaults->kernel);
        vm->initrd = g_strdup(defaults->initrd);
        vm->append = g_strdup(defaults->append);
        vm->trace_events = g_strdupv(defaults->trace_events);
        vm->queues = 1;
        if (!profile_load_vm_keys(ld, vm->name, vm, error)) {
            return FALSE;
        }
        if (vm->role != SESSION_ROLE_CLIENT) {
            continue;
        }
        if (!profile_load_client_keys(ld, vm, error)) {
            return FALSE;
        }
        /* The session id is not known yet; it never reaches byte 5. */
        session_mac_for(0, 2, i, vm->test_mac);
        if (!profile_get_string(ld, vm->name, "test_mac", &mac, error)) {
            return FALSE;
        }
        if (mac != NULL) {
            if (!profile_parse_mac(mac, vm->test_mac) ||
                (vm->test_mac[0] & 1) != 0) {
                return profile_fail(ld, vm->name, "test_mac", error,
                                    "\"%s\" is not a unicast MAC "
                                    "(xx:xx:xx:xx:xx:xx)",
                                    mac);
            }
            vm->test_mac_set = TRUE;
        }
    }
    /* The HLK RSC test addresses each client as 169.254.1.<last byte>. */
    for (guint i = 1; i < profile->vms->len; i++) {
        SessionVmSpec *a = g_ptr_array_index(profile->vms, i);

        for (guint j = i + 1; j < profile->vms->len; j++) {
            SessionVmSpec *b = g_ptr_array_index(profile->vms, j);

            if (a->test_mac[5] == b->test_mac[5]) {
                return profile_fail(
                    ld, b->test_mac_set ? b->name : a->name, "test_mac", error,
                    "the test NICs of %s and %s end in the same byte "
                    "(%02x): the HLK RSC test derives 169.254.1.<last MAC "
                    "byte> from it, so they must differ",
                    a->name, b->name, a->test_mac[5]);
            }
        }
    }
    return TRUE;
}

static void session_vm_spec_free_gpointer(gpointer vm)
{
    session_vm_spec_free(vm);
}

SessionProfile *session_profile_load_data(const char *data, const char *name,
                                          GError **error)
{
    static const char *const firmwares[] = {"seabios", "ovmf", NULL};
    static const char *const accels[] = {"auto", "kvm", "tcg", NULL};
    static const char *const disk_modes[] = {"snapshot", "overlay", NULL};
    static const char *const disk_buses[] = {"ahci", "virtio", NULL};
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(SessionProfile) p = g_new0(SessionProfile, 1);
    g_autoptr(GError) local = NULL;
    g_autofree char *forwards = NULL;
    Loader ld = {.kf = kf, .name = name};
    guint64 clients = SESSION_DEFAULT_CLIENTS;
    guint64 interval = SESSION_DEFAULT_RSC_INTERVAL_NS;
    int firmware = SESSION_FIRMWARE_SEABIOS;
    int accel = SESSION_ACCEL_AUTO;
    int disk_mode = SESSION_DISK_SNAPSHOT;
    int disk_bus = 0;

    /* duplicate groups and keys are errors (rig/ini) */
    if (!rig_ini_load(kf, name, data, strlen(data), &local)) {
        g_set_error_literal(error, SESSION_PROFILE_ERROR,
                            SESSION_PROFILE_ERROR_SYNTAX, local->message);
        return NULL;
    }
    p->path = g_strdup(name);
    p->machine = g_strdup(SESSION_DEFAULT_MACHINE);
    p->control_nic = g_strdup(SESSION_DEFAULT_CONTROL_NIC);
    p->test_nic = g_strdup(SESSION_DEFAULT_TEST_NIC);
    p->world_nic = g_strdup(SESSION_DEFAULT_WORLD_NIC);
    p->netns = TRUE;
    p->guest_rsc_ext = TRUE;
    p->forwards = g_array_new(FALSE, TRUE, sizeof(SessionForward));
    p->vms = g_ptr_array_new_with_free_func(session_vm_spec_free_gpointer);

    if (!profile_get_uint(&ld, "session", "clients", 1, SESSION_MAX_CLIENTS,
                          &clients, error) ||
        !profile_check_groups(&ld, (guint)clients, error) ||
        !profile_get_string(&ld, "session", "machine", &p->machine, error) ||
        !profile_get_choice(&ld, "session", "firmware", firmwares, &firmware,
                            error) ||
        !profile_get_choice(&ld, "session", "accel", accels, &accel, error) ||
        !profile_get_string(&ld, "session", "cpu", &p->cpu_model, error) ||
        !profile_get_choice(&ld, "session", "disk_mode", disk_modes, &disk_mode,
                            error) ||
        !profile_get_choice(&ld, "session", "disk_bus", disk_buses, &disk_bus,
                            error) ||
        !profile_get_bool(&ld, "session", "netns", &p->netns, error) ||
        !profile_get_string(&ld, "session", "host_bridge", &p->host_bridge,
                            error) ||
        !profile_get_string(&ld, "control", "nic_model", &p->control_nic,
                            error) ||
        !profile_get_string(&ld, "test", "nic_model", &p->test_nic, error) ||
        !profile_get_bool(&ld, "test", "guest_rsc_ext", &p->guest_rsc_ext,
                          error) ||
        !profile_get_uint(&ld, "test", "rsc_interval", 1, G_MAXUINT32,
                          &interval, error) ||
        !profile_get_string(&ld, "test", "device_options",
                            &p->test_device_options, error) ||
        !profile_get_bool(&ld, "test", "tap_tx_offload",
                          &p->test_tap_tx_offload, error) ||
        !profile_get_bool(&ld, "world", "enabled", &p->world, error) ||
        !profile_get_string(&ld, "world", "nic_model", &p->world_nic, error) ||
        !profile_get_string(&ld, "world", "forwards", &forwards, error)) {
        return NULL;
    }
    if (p->machine == NULL) {
        p->machine = g_strdup(SESSION_DEFAULT_MACHINE);
    }
    if (p->cpu_model != NULL && g_str_equal(p->cpu_model, "auto")) {
        g_clear_pointer(&p->cpu_model, g_free);
    }
    if (p->control_nic == NULL || p->test_nic == NULL || p->world_nic == NULL) {
        profile_fail(&ld,
                     p->control_nic == NULL ? "control"
                     : p->test_nic == NULL  ? "test"
                                            : "world",
                     "nic_model", error, "must not be empty");
        return NULL;
    }
    if (p->host_bridge != NULL && strlen(p->host_bridge) >= 16) {
        profile_fail(&ld, "session", "host_bridge", error,
                     "\"%s\" is longer than an interface name (15)",
                     p->host_bridge);
        return NULL;
    }
    if (forwards != NULL &&
        !profile_parse_forwards(&ld, forwards, p->forwards, error)) {
        return NULL;
    }
    if (p->forwards->len > 0 && !p->world) {
        profile_fail(&ld, "world", "forwards", error,
                     "port forwards need [world] enabled = true");
        return NULL;
    }
    p->clients = (guint)clients;
    p->firmware = (SessionFirmware)firmware;
    p->accel = (SessionAccel)accel;
    p->disk_mode = (SessionDiskMode)disk_mode;
    p->disk_bus = g_strdup(disk_buses[disk_bus]);
    p->rsc_interval_ns = interval;
    if (!profile_load_vms(&ld, p, error)) {
        return NULL;
    }
    return g_steal_pointer(&p);
}

SessionProfile *session_profile_load(const char *path, GError **error)
{
    g_autofree char *data = NULL;
    g_autoptr(GError) local = NULL;

    if (!g_file_get_contents(path, &data, NULL, &local)) {
        g_set_error(error, SESSION_PROFILE_ERROR, SESSION_PROFILE_ERROR_IO,
                    "cannot read the session profile: %s", local->message);
        return NULL;
    }
    return session_profile_load_data(data, path, error);
}

SessionVmSpec *session_profile_find_vm(SessionProfile *profile,
                                       const char *name)
{
    for (guint i = 0; i < profile->vms->len; i++) {
        SessionVmSpec *vm = g_ptr_array_index(profile->vms, i);

        if (g_str_equal(vm->name, name)) {
            return vm;
        }
    }
    return NULL;
}
