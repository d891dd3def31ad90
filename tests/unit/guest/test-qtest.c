/*
 * qtest protocol: line classification, buffering, and the client against
 * a scripted peer on a socketpair (replies interleaved with IRQ lines,
 * FAIL replies, silence, a closed connection).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "guest/guest-error.h"
#include "guest/qtest.h"

static void test_parse_ok(void **state)
{
    RigQtestLine l;
    uint64_t v;

    assert_int_equal(rig_qtest_parse_line("OK", &l), 0);
    assert_int_equal(l.kind, RIG_QTEST_LINE_OK);
    assert_string_equal(l.payload, "");
    assert_int_equal(rig_qtest_parse_line("OK 0x00000000000000ff", &l), 0);
    assert_int_equal(l.kind, RIG_QTEST_LINE_OK);
    assert_int_equal(rig_qtest_parse_u64(l.payload, &v), 0);
    assert_int_equal(v, 0xff);
    assert_int_equal(rig_qtest_parse_line("OK 1234567", &l), 0);
    assert_int_equal(rig_qtest_parse_u64(l.payload, &v), 0);
    assert_int_equal(v, 1234567);
}

static void test_parse_fail(void **state)
{
    RigQtestLine l;

    assert_int_equal(rig_qtest_parse_line("FAIL Unknown command 'x'", &l), 0);
    assert_int_equal(l.kind, RIG_QTEST_LINE_FAIL);
    assert_string_equal(l.payload, "Unknown command 'x'");
    assert_int_equal(rig_qtest_parse_line("ERR invalid argument size", &l), 0);
    assert_int_equal(l.kind, RIG_QTEST_LINE_FAIL);
}

static void test_parse_irq(void **state)
{
    RigQtestLine l;

    assert_int_equal(rig_qtest_parse_line("IRQ raise 11", &l), 0);
    assert_int_equal(l.kind, RIG_QTEST_LINE_IRQ);
    assert_int_equal(l.irq, 11);
    assert_true(l.irq_raised);
    assert_int_equal(rig_qtest_parse_line("IRQ lower 0", &l), 0);
    assert_false(l.irq_raised);
    assert_int_equal(l.irq, 0);
}

static void test_parse_garbage(void **state)
{
    static const char *bad[] = {
        "",          "OKAY",          "ok",          "IRQ",
        "IRQ raise", "IRQ raise -1",  "IRQ raise x", "IRQ raise 99999",
        "IRQ up 1",  "IRQ raise 1 2", "FAILED",      " OK",
    };
    RigQtestLine l = {.kind = RIG_QTEST_LINE_OK, .payload = "untouched"};
    uint64_t v = 42;

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        assert_int_equal(rig_qtest_parse_line(bad[i], &l), -EPROTO);
    }
    assert_string_equal(l.payload, "untouched");
    assert_int_equal(rig_qtest_parse_u64("", &v), -EPROTO);
    assert_int_equal(rig_qtest_parse_u64("0x12 junk", &v), -EPROTO);
    assert_int_equal(rig_qtest_parse_u64("big", &v), -EPROTO);
    assert_int_equal(v, 42);
}

static void test_linebuf(void **state)
{
    g_autoptr(GString) buf = g_string_new("IRQ raise 3\nOK 0x1");
    char *line = NULL;

    assert_true(rig_qtest_linebuf_pop(buf, &line));
    assert_string_equal(line, "IRQ raise 3");
    g_free(line);
    line = NULL;
    /* An incomplete line stays until its newline arrives. */
    assert_false(rig_qtest_linebuf_pop(buf, &line));
    assert_null(line);
    g_string_append(buf, "0\n\n");
    assert_true(rig_qtest_linebuf_pop(buf, &line));
    assert_string_equal(line, "OK 0x10");
    g_free(line);
    assert_true(rig_qtest_linebuf_pop(buf, &line));
    assert_string_equal(line, "");
    g_free(line);
    assert_int_equal(buf->len, 0);
}

/* ---- client against a scripted peer ------------------------------------- */

typedef struct {
    int fd;
    const char *const *replies; /* one per command, NULL: stay silent */
    size_t n;
    GString *received;
} Peer;

static gpointer peer_main(gpointer data)
{
    Peer *p = data;
    GString *pending = g_string_new(NULL);
    size_t answered = 0;
    char buf[4096];

    while (answered < p->n) {
        char *line = NULL;
        ssize_t r;

        while (rig_qtest_linebuf_pop(pending, &line)) {
            g_string_append_printf(p->received, "%s\n", line);
            g_free(line);
            if (answered < p->n && p->replies[answered]) {
                const char *reply = p->replies[answered];

                assert_int_equal(write(p->fd, reply, strlen(reply)),
                                 (ssize_t)strlen(reply));
            }
            answered++;
        }
        if (answered >= p->n) {
            break;
        }
        r = read(p->fd, buf, sizeof(buf));
        if (r <= 0) {
            break;
        }
        g_string_append_len(pending, buf, r);
    }
    g_string_free(pending, TRUE);
    return NULL;
}

static RigQtest *start_peer(Peer *p, GThread **ret_thread)
{
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    p->fd = sv[1];
    p->received = g_string_new(NULL);
    *ret_thread = g_thread_new("peer", peer_main, p);
    return rig_qtest_new_from_fd(sv[0]);
}

static void stop_peer(Peer *p, GThread *thread, RigQtest *q)
{
    rig_qtest_free(q);
    g_thread_join(thread);
    close(p->fd);
    g_string_free(p->received, TRUE);
}

static void test_client_interleaved_irq(void **state)
{
    static const char *const replies[] = {
        "IRQ raise 5\nOK 0x0000000000001234\n",
        "OK\nIRQ lower 5\n",
        /* The IRQ line that came after the previous reply is read first. */
        "FAIL could not advance time\n",
        "OK 1000\n",
    };
    Peer p = {.replies = replies, .n = G_N_ELEMENTS(replies)};
    GThread *thread;
    RigQtest *q = start_peer(&p, &thread);
    g_autoptr(GError) error = NULL;
    uint64_t v = 0;
    gint64 now = 0;

    assert_true(rig_qtest_read(q, 4, 0x1000, &v, &error));
    assert_int_equal(v, 0x1234);
    assert_true(rig_qtest_irq_level(q, 5));
    assert_true(rig_qtest_write(q, 2, 0x2000, 7, &error));
    assert_false(rig_qtest_clock_step(q, 10, NULL, &error));
    assert_true(g_error_matches(error, RIG_GUEST_ERROR,
                                RIG_GUEST_ERROR_COMMAND_FAILED));
    /* The error names the failing command and QEMU's reason. */
    assert_non_null(strstr(error->message, "clock_step 10"));
    assert_non_null(strstr(error->message, "could not advance time"));
    assert_false(rig_qtest_irq_level(q, 5));
    g_clear_error(&error);
    assert_true(rig_qtest_clock_step(q, 0, &now, &error));
    assert_int_equal(now, 1000);
    assert_int_equal(rig_qtest_command_count(q), 4);
    stop_peer(&p, thread, q);
}

static void test_client_memory(void **state)
{
    static const char *const replies[] = {
        "OK\n",
        "OK AQIDBA==\n",
        "OK AQID\n",
    };
    Peer p = {.replies = replies, .n = G_N_ELEMENTS(replies)};
    GThread *thread;
    RigQtest *q = start_peer(&p, &thread);
    g_autoptr(GError) error = NULL;
    const uint8_t out[4] = {1, 2, 3, 4};
    uint8_t in[4] = {0};

    assert_true(rig_qtest_memwrite(q, 0x100000, out, sizeof(out), &error));
    assert_true(rig_qtest_memread(q, 0x100000, in, sizeof(in), &error));
    assert_memory_equal(in, out, 4);
    /* Fewer bytes than asked is a protocol error, not silent truncation. */
    assert_false(rig_qtest_memread(q, 0x100000, in, sizeof(in), &error));
    assert_true(
        g_error_matches(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_PROTOCOL));
    rig_qtest_free(q);
    g_thread_join(thread);
    assert_non_null(
        strstr(p.received->str, "b64write 0x100000 0x4 AQIDBA==\n"));
    assert_non_null(strstr(p.received->str, "b64read 0x100000 0x4\n"));
    close(p.fd);
    g_string_free(p.received, TRUE);
}

static void test_client_timeout(void **state)
{
    static const char *const replies[] = {NULL};
    Peer p = {.replies = replies, .n = 1};
    GThread *thread;
    RigQtest *q = start_peer(&p, &thread);
    g_autoptr(GError) error = NULL;
    uint32_t v;
    gint64 t0 = g_get_monotonic_time();

    rig_qtest_set_timeout(q, 200);
    assert_false(rig_qtest_in(q, 1, 0x60, &v, &error));
    assert_true(
        g_error_matches(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_TIMEOUT));
    assert_non_null(strstr(error->message, "inb 0x60"));
    assert_true(g_get_monotonic_time() - t0 < 5 * G_USEC_PER_SEC);
    /* After a timeout the stream is out of step: further use fails fast. */
    g_clear_error(&error);
    assert_false(rig_qtest_in(q, 1, 0x60, &v, &error));
    assert_true(
        g_error_matches(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_DISCONNECTED));
    stop_peer(&p, thread, q);
}

static void test_client_closed(void **state)
{
    int sv[2];
    RigQtest *q;
    g_autoptr(GError) error = NULL;
    uint32_t v;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    q = rig_qtest_new_from_fd(sv[0]);
    close(sv[1]);
    assert_false(rig_qtest_in(q, 4, 0xcfc, &v, &error));
    assert_true(
        g_error_matches(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_DISCONNECTED));
    rig_qtest_free(q);
}

static void test_client_garbage_reply(void **state)
{
    static const char *const replies[] = {"HELLO\n"};
    Peer p = {.replies = replies, .n = 1};
    GThread *thread;
    RigQtest *q = start_peer(&p, &thread);
    g_autoptr(GError) error = NULL;

    assert_false(rig_qtest_out(q, 4, 0xcf8, 0x80000000u, &error));
    assert_true(
        g_error_matches(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_PROTOCOL));
    assert_non_null(strstr(error->message, "HELLO"));
    stop_peer(&p, thread, q);
}

static void test_connect_missing_socket(void **state)
{
    g_autoptr(GError) error = NULL;

    assert_null(
        rig_qtest_connect_unix("/nonexistent/rig-qtest.sock", 50, &error));
    assert_true(
        g_error_matches(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_TIMEOUT));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_fail),
        cmocka_unit_test(test_parse_irq),
        cmocka_unit_test(test_parse_garbage),
        cmocka_unit_test(test_linebuf),
        cmocka_unit_test(test_client_interleaved_irq),
        cmocka_unit_test(test_client_memory),
        cmocka_unit_test(test_client_timeout),
        cmocka_unit_test(test_client_closed),
        cmocka_unit_test(test_client_garbage_reply),
        cmocka_unit_test(test_connect_missing_socket),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
