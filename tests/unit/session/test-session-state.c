/*
 * The session state file: what `up` writes reads back the same, and a
 * damaged or crafted file is one error naming it, never a crash, never a
 * name a command could misread (issue 11, items 7 and 11).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "session/session.h"
#include "session/state.h"

#define DIR "/run/rsc-rig/sessions/3"

static SessionState *parse(const char *json, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new();

    assert_true(json_parser_load_from_data(parser, json, -1, NULL));
    return session_state_from_json(json_parser_get_root(parser), DIR, 3, error);
}

static SessionState *sample(void)
{
    SessionState *state = session_state_new(DIR, 3);
    SessionVmState *vm = session_vm_state_new("client1");
    SessionNicState *nic = session_vm_add_nic(vm);
    SessionForward f = {.host_port = 4000, .guest_port = 5003};

    state->profile = g_strdup("/p.ini");
    state->qemu = g_strdup("/q");
    state->accel = g_strdup("tcg");
    state->netns = g_strdup("rig-s77-e675f69c"); /* 16 bytes: no ifname */
    state->rsc_interval = 300000;
    g_ptr_array_add(state->bridges, g_strdup("rs3tst"));
    vm->role = SESSION_ROLE_CLIENT;
    vm->index = 1;
    vm->image = g_strdup("/images/a,b.qcow2");
    vm->qmp = g_strdup(DIR "/client1.qmp");
    vm->qga = g_strdup(DIR "/client1.qga");
    vm->serial = g_strdup(DIR "/client1-serial.log");
    vm->log = g_strdup(DIR "/client1-qemu.log");
    vm->pidfile = g_strdup(DIR "/client1.pid");
    vm->pid = 1234;
    nic->id = g_strdup("tst");
    nic->network = g_strdup("test");
    nic->model = g_strdup("virtio-net-pci");
    nic->mac = g_strdup("52:54:00:03:02:01");
    nic->tap = g_strdup("rs3c1tst");
    nic->bridge = g_strdup("tst");
    nic->queues = 4;
    g_array_append_val(vm->forwards, f);
    g_ptr_array_add(state->vms, vm);
    return state;
}

static char *to_text(const SessionState *state)
{
    g_autoptr(JsonNode) node = session_state_to_json(state);

    return json_to_string(node, FALSE);
}

static void test_round_trip(void **unused)
{
    g_autoptr(SessionState) state = sample();
    g_autofree char *text = to_text(state);
    g_autoptr(GError) error = NULL;
    g_autoptr(SessionState) back = parse(text, &error);
    g_autofree char *again = NULL;
    SessionVmState *vm;
    SessionNicState *nic;

    assert_null(error);
    assert_non_null(back);
    again = to_text(back);
    assert_string_equal(text, again);
    vm = session_state_find_vm(back, "client1");
    assert_non_null(vm);
    assert_int_equal(vm->pid, 1234);
    nic = session_vm_find_nic(vm, "test");
    assert_int_equal(nic->queues, 4);
    assert_string_equal(nic->tap, "rs3c1tst");
    assert_int_equal(g_array_index(vm->forwards, SessionForward, 0).guest_port,
                     5003);
}

/* Replaces the first @old in the sample's JSON by @new. */
static char *sample_with(const char *old, const char *new)
{
    g_autoptr(SessionState) state = sample();
    g_autofree char *text = to_text(state);
    const char *at = strstr(text, old);

    assert_non_null(at);
    return g_strdup_printf("%.*s%s%s", (int)(at - text), text, new,
                           at + strlen(old));
}

static void expect_invalid(const char *json, const char *needle)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SessionState) state = parse(json, &error);

    assert_null(state);
    assert_non_null(error);
    if (strstr(error->message, DIR "/state.json: not a valid session state "
                                   "file") == NULL ||
        strstr(error->message, needle) == NULL) {
        fail_msg("unexpected message \"%s\" (wanted \"%s\")", error->message,
                 needle);
    }
}

static void test_empty_vm_is_an_error(void **unused)
{
    /* The reproduction of issue 11 item 11 (segfault, "(null)"). */
    expect_invalid("{\"version\":1,\"id\":3,\"vms\":[{}]}", "vms[0].name");
    expect_invalid("{\"vms\":[{}]}", "version");
    expect_invalid("[]", "not a JSON object");
    expect_invalid("{\"version\":1,\"id\":3,\"vms\":[7]}", "vms[0]");
    expect_invalid("{\"version\":1,\"id\":4,\"vms\":[]}", "does not match");
}

static void test_shell_names_are_refused(void **unused)
{
    /* Issue 11 item 7: names read back never reach a command unchecked. */
    g_autofree char *bridge = sample_with("\"rs3tst\"", "\"x; touch F\"");
    g_autofree char *tap = sample_with("\"rs3c1tst\"", "\"-dev\"");
    g_autofree char *netns =
        sample_with("\"rig-s77-e675f69c\"", "\"../../etc\"");
    g_autofree char *pidfile =
        sample_with("\"" DIR "/client1.pid\"", "\"/etc/passwd\"");
    g_autofree char *name = sample_with("\"client1\"", "\"../x\"");

    expect_invalid(bridge, "host_bridges[0]");
    expect_invalid(tap, "vms[0].nics[0].tap");
    expect_invalid(netns, "netns");
    expect_invalid(pidfile, "vms[0].pidfile");
    expect_invalid(name, "vms[0].name");
    assert_false(session_ifname_valid("a b"));
    assert_false(session_ifname_valid("sixteen-bytes-xx"));
    assert_true(session_ifname_valid("rs12c3tst"));
}

static void test_wrong_types(void **unused)
{
    g_autofree char *pid = sample_with("\"pid\":1234", "\"pid\":\"1\"");
    g_autofree char *queues = sample_with("\"queues\":4", "\"queues\":-1");
    g_autofree char *network =
        sample_with("\"network\":\"test\"", "\"network\":\"lan\"");

    expect_invalid(pid, "vms[0].pid: not an integer");
    expect_invalid(queues, "vms[0].nics[0].queues");
    expect_invalid(network, "vms[0].nics[0].network");
}

static void test_private_dir(void **unused)
{
    g_autofree char *dir = g_dir_make_tmp("rig-state-XXXXXX", NULL);
    g_autoptr(GError) error = NULL;

    assert_non_null(dir);
    assert_true(session_check_private_dir(dir, NULL));
    assert_int_equal(chmod(dir, 0777), 0);
    assert_false(session_check_private_dir(dir, &error));
    assert_non_null(strstr(error->message, "writable by group or others"));
    g_clear_error(&error);
    assert_int_equal(chmod(dir, 0700), 0);
    assert_false(session_check_private_dir("/nonexistent/rig", &error));
    g_rmdir(dir);
}

static void test_save_and_load(void **unused)
{
    g_autofree char *root = g_dir_make_tmp("rig-state-XXXXXX", NULL);
    g_autofree char *dir = g_build_filename(root, "3", NULL);
    g_autoptr(SessionState) state = session_state_new(dir, 3);
    g_autoptr(SessionState) back = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *path = NULL;
    GStatBuf st;

    assert_int_equal(g_mkdir(dir, 0700), 0);
    assert_true(session_state_save(state, &error));
    path = g_build_filename(dir, SESSION_STATE_FILE, NULL);
    assert_int_equal(g_stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    back = session_state_load(root, 3, &error);
    assert_non_null(back);
    assert_int_equal(back->vms->len, 0);
    g_unlink(path);
    g_rmdir(dir);
    g_rmdir(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_vm_is_an_error),
        cmocka_unit_test(test_shell_names_are_refused),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_private_dir),
        cmocka_unit_test(test_save_and_load),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
