/*
 * The guest-agent client against a real qemu-ga (Debian's
 * qemu-guest-agent) listening on a unix socket in a private directory:
 * sync, guest-exec round trips with base64 output decoding, stdin, exit
 * codes and signals, agent errors, and the deadlines (a process that does
 * not finish, a socket nobody answers on).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "qemu/qga.h"

#define QGA_BIN "/usr/sbin/qemu-ga"

typedef struct {
    char *dir;
    char *socket;
    GSubprocess *agent;
} Fixture;

static void remove_tree(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *path = g_build_filename(dir, name, NULL);

        if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
            remove_tree(path);
        } else {
            g_unlink(path);
        }
    }
    g_rmdir(dir);
}

static int setup(void **state)
{
    Fixture *f = g_new0(Fixture, 1);
    g_autofree char *statedir = NULL;
    g_autofree char *pidfile = NULL;
    g_autoptr(GError) error = NULL;

    if (!g_file_test(QGA_BIN, G_FILE_TEST_IS_EXECUTABLE)) {
        if (g_strcmp0(g_getenv("RIG_REQUIRE_ALL"), "1") == 0) {
            fail_msg("%s missing: apt-get install qemu-guest-agent", QGA_BIN);
        }
        g_free(f);
        *state = NULL;
        return 0;
    }
    f->dir = g_dir_make_tmp("rig-qga-XXXXXX", &error);
    assert_non_null(f->dir);
    f->socket = g_build_filename(f->dir, "qga.sock", NULL);
    statedir = g_build_filename(f->dir, "state", NULL);
    pidfile = g_build_filename(f->dir, "qga.pid", NULL);
    g_mkdir(statedir, 0700);
    f->agent = g_subprocess_new(G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error,
                                QGA_BIN, "-m", "unix-listen", "-p", f->socket,
                                "-t", statedir, "-f", pidfile, NULL);
    assert_non_null(f->agent);
    for (int i = 0; i < 500 && !g_file_test(f->socket, G_FILE_TEST_EXISTS);
         i++) {
        g_usleep(10000);
    }
    assert_true(g_file_test(f->socket, G_FILE_TEST_EXISTS));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fixture *f = *state;

    if (f == NULL) {
        return 0;
    }
    g_subprocess_force_exit(f->agent);
    g_subprocess_wait(f->agent, NULL, NULL);
    g_object_unref(f->agent);
    remove_tree(f->dir);
    g_free(f->dir);
    g_free(f->socket);
    g_free(f);
    return 0;
}

#define REQUIRE_AGENT(f)                                                       \
    do {                                                                       \
        if ((f) == NULL) {                                                     \
            skip();                                                            \
        }                                                                      \
    } while (0)

static void test_sync_and_command(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) error = NULL;
    g_autoptr(RigQgaClient) c = NULL;
    g_autoptr(JsonNode) info = NULL;

    REQUIRE_AGENT(f);
    c = rig_qga_client_connect(f->socket, 5000, &error);
    assert_non_null(c);
    info = rig_qga_client_execute(c, "guest-info", NULL, 5000, &error);
    assert_non_null(info);
    assert_true(json_object_has_member(json_node_get_object(info), "version"));
}

static void test_exec_output_decoding(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) error = NULL;
    g_autoptr(RigQgaClient) c = NULL;
    g_autoptr(RigQgaExecResult) r = NULL;
    const char *const args[] = {
        "-c", "printf 'a\\000b\\377'; printf 'oops' >&2; exit 3", NULL};
    gsize len = 0;
    const guint8 *out;

    REQUIRE_AGENT(f);
    c = rig_qga_client_connect(f->socket, 5000, &error);
    assert_non_null(c);
    assert_true(
        rig_qga_client_exec(c, "/bin/sh", args, NULL, 10000, &r, &error));
    assert_false(r->signaled);
    assert_int_equal(r->exit_code, 3);
    out = g_bytes_get_data(r->out, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(out, "a\0b\377", 4);
    out = g_bytes_get_data(r->err, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(out, "oops", 4);
}

static void test_exec_stdin_and_large_output(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) error = NULL;
    g_autoptr(RigQgaClient) c = NULL;
    g_autoptr(RigQgaExecResult) r = NULL;
    g_autoptr(RigQgaExecResult) big = NULL;
    g_autoptr(GBytes) input = g_bytes_new_static("line one\nline two\n", 18);
    const char *const big_args[] = {"-c", "head -c 300000 /dev/zero", NULL};
    gsize len = 0;

    REQUIRE_AGENT(f);
    c = rig_qga_client_connect(f->socket, 5000, &error);
    assert_non_null(c);
    assert_true(
        rig_qga_client_exec(c, "/bin/cat", NULL, input, 10000, &r, &error));
    assert_int_equal(r->exit_code, 0);
    assert_true(g_bytes_equal(r->out, input));
    assert_true(
        rig_qga_client_exec(c, "/bin/sh", big_args, NULL, 10000, &big, &error));
    g_bytes_get_data(big->out, &len);
    assert_int_equal(len, 300000);
}

static void test_exec_signal(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) error = NULL;
    g_autoptr(RigQgaClient) c = NULL;
    g_autoptr(RigQgaExecResult) r = NULL;
    const char *const args[] = {"-c", "kill -9 $$", NULL};

    REQUIRE_AGENT(f);
    c = rig_qga_client_connect(f->socket, 5000, &error);
    assert_true(
        rig_qga_client_exec(c, "/bin/sh", args, NULL, 10000, &r, &error));
    assert_true(r->signaled);
    assert_int_equal(r->exit_code, 9);
}

static void test_exec_timeout(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) error = NULL;
    g_autoptr(RigQgaClient) c = NULL;
    g_autoptr(RigQgaExecResult) r = NULL;
    const char *const args[] = {"5", NULL};
    gint64 start;

    REQUIRE_AGENT(f);
    c = rig_qga_client_connect(f->socket, 5000, &error);
    start = g_get_monotonic_time();
    assert_false(
        rig_qga_client_exec(c, "/bin/sleep", args, NULL, 300, &r, &error));
    assert_true(
        g_error_matches(error, RIG_QGA_ERROR, RIG_QGA_ERROR_EXEC_TIMEOUT));
    assert_null(r);
    assert_true(g_get_monotonic_time() - start < 3 * G_USEC_PER_SEC);
}

static void test_agent_errors(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    g_autoptr(RigQgaClient) c = NULL;
    g_autoptr(RigQgaExecResult) r = NULL;
    g_autoptr(JsonNode) ret = NULL;

    REQUIRE_AGENT(f);
    c = rig_qga_client_connect(f->socket, 5000, NULL);
    ret = rig_qga_client_execute(c, "guest-no-such-command", NULL, 5000, &e1);
    assert_null(ret);
    assert_true(g_error_matches(e1, RIG_QGA_ERROR, RIG_QGA_ERROR_COMMAND));
    assert_non_null(strstr(e1->message, "guest-no-such-command"));
    assert_false(rig_qga_client_exec(c, "/nonexistent/powershell.exe", NULL,
                                     NULL, 5000, &r, &e2));
    assert_true(g_error_matches(e2, RIG_QGA_ERROR, RIG_QGA_ERROR_COMMAND));
    /* The connection stays usable after errors. */
    g_clear_pointer(&ret, json_node_unref);
    ret = rig_qga_client_execute(c, "guest-ping", NULL, 5000, NULL);
    assert_non_null(ret);
}

/* A socket that accepts but never answers: a VM without a running agent. */
static void test_no_agent_deadline(void **state)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GError) missing = NULL;
    g_autofree char *dir = g_dir_make_tmp("rig-qga-none-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "silent.sock", NULL);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    gint64 start;

    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(fd, 4), 0);
    start = g_get_monotonic_time();
    assert_null(rig_qga_client_connect(path, 400, &error));
    assert_true(g_error_matches(error, RIG_QGA_ERROR, RIG_QGA_ERROR_NO_AGENT));
    assert_non_null(strstr(error->message, "agent"));
    assert_true(g_get_monotonic_time() - start < 2 * G_USEC_PER_SEC);
    close(fd);
    g_unlink(path);
    assert_null(rig_qga_client_connect(path, 400, &missing));
    assert_true(g_error_matches(missing, RIG_QGA_ERROR, RIG_QGA_ERROR_CONNECT));
    g_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sync_and_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_output_decoding, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_exec_stdin_and_large_output, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_exec_signal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_agent_errors, setup, teardown),
        cmocka_unit_test(test_no_agent_deadline),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
