/*
 * The QMP client against a scripted peer thread over a socketpair (and once
 * over a real unix socket): handshake, replies matched by id, events queued
 * while a command waits, QMP errors, disconnects, timeouts, the QOM
 * property lookup on proxy then backend, and rsc-stats end to end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "qemu/qmp.h"
#include "qemu/rsc-stats.h"

#define GREETING                                                               \
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 13, \"minor\": 0, "        \
    "\"major\": 10}, \"package\": \"\"}, \"capabilities\": []}}"
#define OK_REPLY "{\"return\": {}, \"id\": @ID@}"

/*
 * One step of the peer: when @expect is set, read a command and check its
 * name; then send @send (NULL-terminated), with @ID@ replaced by the
 * command's id as a JSON string.  @split sends byte by byte.
 */
typedef struct {
    const char *expect;
    const char *send[6];
    gboolean split;
    gboolean raw; /* no CR LF after each line: a truncated message */
} PeerStep;

typedef struct {
    int fd;
    const PeerStep *steps;
    gsize n_steps;
    int release_fd; /* the peer keeps its socket open until this closes */
    char *failure;  /* first script mismatch, checked by the main thread */
    GThread *thread;
} Peer;

static char *peer_read_line(int fd)
{
    GString *line = g_string_new(NULL);
    char c;

    for (;;) {
        ssize_t got = read(fd, &c, 1);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            g_string_free(line, TRUE);
            return NULL;
        }
        if (c == '\n') {
            return g_string_free(line, FALSE);
        }
        g_string_append_c(line, c);
    }
}

static void peer_send(int fd, const char *text, gboolean split)
{
    gsize length = strlen(text);

    if (!split) {
        g_assert(write(fd, text, length) == (ssize_t)length);
        return;
    }
    for (gsize i = 0; i < length; i++) {
        g_assert(write(fd, text + i, 1) == 1);
        g_usleep(200);
    }
}

static gpointer peer_thread(gpointer data)
{
    Peer *peer = data;

    for (gsize s = 0; s < peer->n_steps && peer->failure == NULL; s++) {
        const PeerStep *step = &peer->steps[s];
        g_autofree char *id = g_strdup("null");

        if (step->expect != NULL) {
            g_autofree char *line = peer_read_line(peer->fd);
            g_autoptr(JsonNode) node =
                line != NULL ? json_from_string(line, NULL) : NULL;
            if (node == NULL || !JSON_NODE_HOLDS_OBJECT(node)) {
                peer->failure = g_strdup_printf("step %zu: bad command %s", s,
                                                line ? line : "(EOF)");
                break;
            }
            JsonObject *command = json_node_get_object(node);
            const char *name = json_object_get_string_member_with_default(
                command, "execute", "");
            if (g_strcmp0(name, step->expect) != 0) {
                peer->failure = g_strdup_printf("step %zu: expected %s, got %s",
                                                s, step->expect, line);
                break;
            }
            JsonNode *id_node = json_object_get_member(command, "id");
            g_free(id);
            id = id_node != NULL ? json_to_string(id_node, FALSE)
                                 : g_strdup("null");
        }
        for (gsize i = 0; step->send[i] != NULL; i++) {
            g_auto(GStrv) parts = g_strsplit(step->send[i], "@ID@", -1);
            g_autofree char *text = g_strjoinv(id, parts);
            g_autofree char *line =
                g_strconcat(text, step->raw ? "" : "\r\n", NULL);
            peer_send(peer->fd, line, step->split);
        }
    }
    if (peer->release_fd >= 0) {
        char c;
        while (read(peer->release_fd, &c, 1) < 0 && errno == EINTR) {
        }
    }
    close(peer->fd);
    return NULL;
}

/* Starts a peer on one end of a socketpair; returns the client's end. */
static int peer_start(Peer *peer, const PeerStep *steps, gsize n_steps,
                      gboolean hold_open, int *ret_release)
{
    int pair[2];
    int release[2] = {-1, -1};

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair),
                     0);
    if (hold_open) {
        assert_int_equal(pipe(release), 0);
    }
    *peer = (Peer){.fd = pair[1],
                   .steps = steps,
                   .n_steps = n_steps,
                   .release_fd = release[0]};
    *ret_release = release[1];
    peer->thread = g_thread_new("qmp-peer", peer_thread, peer);
    return pair[0];
}

static void peer_finish(Peer *peer, int release)
{
    if (release >= 0) {
        close(release);
    }
    g_thread_join(peer->thread);
    if (peer->release_fd >= 0) {
        close(peer->release_fd);
    }
    if (peer->failure != NULL) {
        fail_msg("peer: %s", peer->failure);
    }
}

typedef struct {
    GPtrArray *names;
    RigQmp *qmp;
    gboolean reenter; /* the handler runs a command on "NESTED" */
} EventLog;

static void on_event(RigQmp *qmp, const RigQmpMessage *event,
                     gpointer user_data)
{
    EventLog *log = user_data;

    g_ptr_array_add(log->names, g_strdup(event->event));
    if (log->reenter && g_strcmp0(event->event, "NESTED") == 0) {
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonNode) reply =
            rig_qmp_execute(qmp, "query-name", NULL, &error);
        g_assert_no_error(error);
        g_ptr_array_add(log->names, g_strdup("nested-reply"));
    }
}

static void test_handshake_and_events(void **state)
{
    static const PeerStep steps[] = {
        {NULL, {GREETING, NULL}},
        {"qmp_capabilities", {OK_REPLY, NULL}},
        {"query-status",
         {"{\"event\": \"EV1\", \"timestamp\": {\"seconds\": 1, "
          "\"microseconds\": 0}}",
          "{\"return\": {}, \"id\": \"stale\"}",
          "{\"event\": \"EV2\", \"data\": {\"n\": 2}}",
          "{\"return\": {\"status\": \"running\"}, \"id\": @ID@}",
          "{\"event\": \"EV3\"}", NULL}},
        {"stop", {OK_REPLY, NULL}},
    };
    Peer peer;
    int release;
    int fd = peer_start(&peer, steps, G_N_ELEMENTS(steps), TRUE, &release);
    g_autoptr(RigQmp) qmp = rig_qmp_new_from_fd(fd);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) greeting = NULL;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    EventLog log = {.names = names};

    rig_qmp_set_event_handler(qmp, on_event, &log);
    assert_true(rig_qmp_handshake(qmp, &greeting, &error));
    assert_true(JSON_NODE_HOLDS_OBJECT(greeting));

    g_autoptr(JsonNode) status =
        rig_qmp_execute(qmp, "query-status", NULL, &error);
    assert_non_null(status);
    assert_string_equal(
        json_object_get_string_member(json_node_get_object(status), "status"),
        "running");
    /* Both events that came before the reply, in order, none after. */
    assert_int_equal(names->len, 2);
    assert_string_equal(g_ptr_array_index(names, 0), "EV1");
    assert_string_equal(g_ptr_array_index(names, 1), "EV2");

    g_autoptr(JsonNode) stopped = rig_qmp_execute(qmp, "stop", NULL, &error);
    assert_non_null(stopped);
    assert_int_equal(names->len, 3);
    assert_string_equal(g_ptr_array_index(names, 2), "EV3");
    peer_finish(&peer, release);
}

static void test_error_reply(void **state)
{
    static const PeerStep steps[] = {
        {NULL, {GREETING, NULL}},
        {"qmp_capabilities", {OK_REPLY, NULL}},
        {"qom-get",
         {"{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": "
          "\"Device '/machine/peripheral/nope' not found\"}, \"id\": @ID@}",
          NULL}},
    };
    Peer peer;
    int release;
    int fd = peer_start(&peer, steps, G_N_ELEMENTS(steps), TRUE, &release);
    g_autoptr(RigQmp) qmp = rig_qmp_new_from_fd(fd);
    g_autoptr(GError) error = NULL;

    assert_true(rig_qmp_handshake(qmp, NULL, &error));
    g_autoptr(JsonNode) value =
        rig_qmp_qom_get(qmp, "/machine/peripheral/nope", "x", &error);
    assert_null(value);
    assert_true(
        g_error_matches(error, RIG_QMP_ERROR, RIG_QMP_ERROR_DEVICE_NOT_FOUND));
    assert_non_null(strstr(error->message,
                           "DeviceNotFound: Device '/machine/peripheral/nope' "
                           "not found"));
    peer_finish(&peer, release);
}

static void test_split_and_batched_input(void **state)
{
    static const PeerStep steps[] = {
        {NULL, {GREETING, NULL}, TRUE},
        {"qmp_capabilities", {OK_REPLY, NULL}, TRUE},
        {"query-name",
         {"{\"return\": {\"name\": \"a\"}, \"id\": @ID@}\r\n\r\n"
          "{\"event\": \"AFTER\"}",
          NULL}},
    };
    Peer peer;
    int release;
    int fd = peer_start(&peer, steps, G_N_ELEMENTS(steps), TRUE, &release);
    g_autoptr(RigQmp) qmp = rig_qmp_new_from_fd(fd);
    g_autoptr(GError) error = NULL;
    g_autoptr(RigQmpMessage) event = NULL;

    assert_true(rig_qmp_handshake(qmp, NULL, &error));
    g_autoptr(JsonNode) name = rig_qmp_execute(qmp, "query-name", NULL, &error);
    assert_non_null(name);
    /* No handler: the event stays queued for rig_qmp_wait_event(). */
    assert_true(rig_qmp_wait_event(qmp, "AFTER", &event, &error));
    assert_string_equal(event->event, "AFTER");
    peer_finish(&peer, release);
}

static void test_event_before_reply_is_not_lost(void **state)
{
    static const PeerStep steps[] = {
        {NULL, {GREETING, NULL}},
        {"qmp_capabilities", {OK_REPLY, NULL}},
        {"quit",
         {"{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false}}", OK_REPLY,
          NULL}},
    };
    Peer peer;
    int release;
    int fd = peer_start(&peer, steps, G_N_ELEMENTS(steps), FALSE, &release);
    g_autoptr(RigQmp) qmp = rig_qmp_new_from_fd(fd);
    g_autoptr(GError) error = NULL;
    g_autoptr(RigQmpMessage) event = NULL;

    assert_true(rig_qmp_handshake(qmp, NULL, &error));
    g_autoptr(JsonNode) reply = rig_qmp_execute(qmp, "quit", NULL, &error);
    assert_non_null(reply);
    assert_true(rig_qmp_wait_event(qmp, "SHUTDOWN", &event, &error));
    assert_false(rig_qmp_wait_event(qmp, "SHUTDOWN", NULL, &error));
    assert_true(
        g_error_matches(error, RIG_QMP_ERROR, RIG_QMP_ERROR_DISCONNECTED));
    peer_finish(&peer, release);
}

static void test_reentrant_handler(void **state)
{
    static const PeerStep steps[] = {
        {NULL, {GREETING, NULL}},
        {"qmp_capabilities", {OK_REPLY, NULL}},
        {"cont", {"{\"event\": \"NESTED\"}", OK_REPLY, NULL}},
        {"query-name", {"{\"event\": \"INNER\"}", OK_REPLY, NULL}},
    };
    Peer peer;
    int release;
    int fd = peer_start(&peer, steps, G_N_ELEMENTS(steps), TRUE, &release);
    g_autoptr(RigQmp) qmp = rig_qmp_new_from_fd(fd);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    EventLog log = {.names = names, .reenter = TRUE};

    rig_qmp_set_event_handler(qmp, on_event, &log);
    assert_true(rig_qmp_handshake(qmp, NULL, &error));
    g_autoptr(JsonNode) reply = rig_qmp_execute(qmp, "cont", NULL, &error);
    assert_non_null(reply);
    /* INNER arrived inside the handler: dispatched after it, not inside. */
    assert_int_equal(names->len, 3);
    assert_string_equal(g_ptr_array_index(names, 0), "NESTED");
    assert_string_equal(g_ptr_array_index(names, 1), "nested-reply");
    assert_string_equal(g_ptr_array_index(names, 2), "INNER");
    peer_finish(&peer, release);
}

static void test_timeout(void **state)
{
    static const PeerStep steps[] = {
        {NULL, {GREETING, NULL}},
        {"qmp_capabilities", {OK_REPLY, NULL}},
        {"query-status", {NULL}},
    };
    Peer peer;
    int release;
    int fd = peer_start(&peer, steps, G_N_ELEMENTS(steps), TRUE, &release);
    g_autoptr(RigQmp) qmp = rig_qmp_new_from_fd(fd);
    g_autoptr(GError) error = NULL;

    assert_true(rig_qmp_handshake(qmp, NULL, &error));
    rig_qmp_set_timeout(qmp, 200);
    gint64 start = g_get_monotonic_time();
    g_autoptr(JsonNode) reply =
        rig_qmp_execute(qmp, "query-status", NULL, &error);
    assert_null(reply);
    assert_true(g_error_matches(error, RIG_QMP_ERROR, RIG_QMP_ERROR_TIMEOUT));
    assert_true(g_get_monotonic_time() - start >= 150 * 1000);
    peer_finish(&peer, release);
}

static void test_greeting_timeout(void **state)
{
    static const PeerStep steps[] = {{NULL, {NULL}}};
    Peer peer;
    int release;
    int fd = peer_start(&peer, steps, G_N_ELEMENTS(steps), TRUE, &release);
    g_autoptr(RigQmp) qmp = rig_qmp_new_from_fd(fd);
    g_autoptr(GError) error = NULL;

    rig_qmp_set_timeout(qmp, 100);
    assert_false(rig_qmp_handshake(qmp, NULL, &error));
    assert_true(g_error_matches(error, RIG_QMP_ERROR, RIG_QMP_ERROR_TIMEOUT));
    assert_non_null(strstr(error->message, "greeting"));
    peer_finish(&peer, release);
}

static void test_disconnect(void **state)
{
    static const PeerStep steps[] = {
        {NULL, {GREETING, NULL}},
        {"qmp_capabilities", {OK_REPLY, NULL}},
        {"query-status", {NULL}},
    };
    Peer peer;
    int release;
    int fd = peer_start(&peer, steps, G_N_ELEMENTS(steps), FALSE, &release);
    g_autoptr(RigQmp) qmp = rig_qmp_new_from_fd(fd);
    g_autoptr(GError) error = NULL;

    assert_true(rig_qmp_handshake(qmp, NULL, &error));
    g_autoptr(JsonNode) reply =
        rig_qmp_execute(qmp, "query-status", NULL, &error);
    assert_null(reply);
    assert_true(
        g_error_matches(error, RIG_QMP_ERROR, RIG_QMP_ERROR_DISCONNECTED));
    g_clear_error(&error);
    /* Later commands fail cleanly too (no SIGPIPE). */
    peer_finish(&peer, release);
    g_autoptr(JsonNode) again = rig_qmp_execute(qmp, "stop", NULL, &error);
    assert_null(again);
    assert_non_null(error);
}

static void test_truncated_then_closed(void **state)
{
    static const PeerStep steps[] = {
        {NULL, {GREETING, NULL}},
        {"qmp_capabilities", {OK_REPLY, NULL}},
        {"query-status", {"{\"return\": {\"status\": ", NULL}, FALSE, TRUE},
    };
    Peer peer;
    int release;
    int fd = peer_start(&peer, steps, G_N_ELEMENTS(steps), FALSE, &release);
    g_autoptr(RigQmp) qmp = rig_qmp_new_from_fd(fd);
    g_autoptr(GError) error = NULL;

    assert_true(rig_qmp_handshake(qmp, NULL, &error));
    /* The peer ends after a partial line: no reply, an explicit error. */
    g_autoptr(JsonNode) reply =
        rig_qmp_execute(qmp, "query-status", NULL, &error);
    assert_null(reply);
    assert_true(
        g_error_matches(error, RIG_QMP_ERROR, RIG_QMP_ERROR_DISCONNECTED));
    assert_non_null(strstr(error->message, "middle of a message"));
    peer_finish(&peer, release);
}

static void test_garbage_greeting(void **state)
{
    static const PeerStep steps[] = {
        {NULL, {"{\"QMP\": {\"version\"", NULL}},
        {NULL, {"this is not QMP", NULL}},
    };
    Peer peer;
    int release;
    int fd = peer_start(&peer, steps, G_N_ELEMENTS(steps), TRUE, &release);
    g_autoptr(RigQmp) qmp = rig_qmp_new_from_fd(fd);
    g_autoptr(GError) error = NULL;

    assert_false(rig_qmp_handshake(qmp, NULL, &error));
    assert_true(
        g_error_matches(error, RIG_QMP_ERROR, RIG_QMP_ERROR_INVALID_MESSAGE));
    peer_finish(&peer, release);
}

static void test_not_a_greeting(void **state)
{
    static const PeerStep steps[] = {
        {NULL, {"{\"return\": {}}", NULL}},
    };
    Peer peer;
    int release;
    int fd = peer_start(&peer, steps, G_N_ELEMENTS(steps), TRUE, &release);
    g_autoptr(RigQmp) qmp = rig_qmp_new_from_fd(fd);
    g_autoptr(GError) error = NULL;

    assert_false(rig_qmp_handshake(qmp, NULL, &error));
    assert_true(
        g_error_matches(error, RIG_QMP_ERROR, RIG_QMP_ERROR_INVALID_REPLY));
    peer_finish(&peer, release);
}

#define LIST_WITHOUT                                                           \
    "{\"return\": [{\"name\": \"type\", \"type\": \"string\"}, "               \
    "{\"name\": \"virtio-backend\", \"type\": \"child<virtio-net-device>\"}]," \
    " \"id\": @ID@}"
#define LIST_WITH_STATS                                                        \
    "{\"return\": [{\"name\": \"type\", \"type\": \"string\"}, "               \
    "{\"name\": \"rsc-stats\", \"type\": \"RscStats\"}], \"id\": @ID@}"

static void test_property_on_backend(void **state)
{
    static const PeerStep steps[] = {
        {NULL, {GREETING, NULL}},
        {"qmp_capabilities", {OK_REPLY, NULL}},
        {"qom-list", {LIST_WITHOUT, NULL}},
        {"qom-list", {LIST_WITH_STATS, NULL}},
    };
    Peer peer;
    int release;
    int fd = peer_start(&peer, steps, G_N_ELEMENTS(steps), TRUE, &release);
    g_autoptr(RigQmp) qmp = rig_qmp_new_from_fd(fd);
    g_autoptr(GError) error = NULL;

    assert_true(rig_qmp_handshake(qmp, NULL, &error));
    g_autofree char *path =
        rig_qmp_find_device_property(qmp, "net0", "rsc-stats", &error);
    assert_non_null(path);
    assert_string_equal(path, "/machine/peripheral/net0/virtio-backend");
    peer_finish(&peer, release);
}

static void test_property_not_supported(void **state)
{
    static const PeerStep steps[] = {
        {NULL, {GREETING, NULL}},
        {"qmp_capabilities", {OK_REPLY, NULL}},
        {"qom-list", {LIST_WITHOUT, NULL}},
        {"qom-list", {LIST_WITHOUT, NULL}},
    };
    Peer peer;
    int release;
    int fd = peer_start(&peer, steps, G_N_ELEMENTS(steps), TRUE, &release);
    g_autoptr(RigQmp) qmp = rig_qmp_new_from_fd(fd);
    g_autoptr(GError) error = NULL;
    RigRscStats stats;

    assert_true(rig_qmp_handshake(qmp, NULL, &error));
    assert_false(rig_qmp_read_rsc_stats(qmp, "net0", &stats, NULL, &error));
    assert_true(
        g_error_matches(error, RIG_QMP_ERROR, RIG_QMP_ERROR_NOT_SUPPORTED));
    peer_finish(&peer, release);
}

static char *stats_reply(void)
{
    g_autoptr(GString) text = g_string_new("{\"return\": {");

    for (int f = 0; f < 2; f++) {
        g_string_append_printf(text, "%s\"ipv%d\": {", f ? ", " : "",
                               f ? 6 : 4);
        for (guint i = 0; i < RSC_STATS_N_FIELDS; i++) {
            g_string_append_printf(text, "%s\"%s\": %u", i ? ", " : "",
                                   rsc_stats_field_name(i), f * 100 + i);
        }
        g_string_append(text, "}");
    }
    g_string_append(text, "}, \"id\": @ID@}");
    return g_string_free(g_steal_pointer(&text), FALSE);
}

static void test_read_rsc_stats(void **state)
{
    g_autofree char *reply = stats_reply();
    const PeerStep steps[] = {
        {NULL, {GREETING, NULL}},
        {"qmp_capabilities", {OK_REPLY, NULL}},
        {"qom-list", {LIST_WITH_STATS, NULL}},
        {"qom-get", {reply, NULL}},
        {"qom-list",
         {"{\"return\": [{\"name\": \"rsc_interval\", \"type\": "
          "\"uint32\"}], \"id\": @ID@}",
          NULL}},
        {"qom-get", {"{\"return\": 250000, \"id\": @ID@}", NULL}},
    };
    Peer peer;
    int release;
    int fd = peer_start(&peer, steps, G_N_ELEMENTS(steps), TRUE, &release);
    g_autoptr(RigQmp) qmp = rig_qmp_new_from_fd(fd);
    g_autoptr(GError) error = NULL;
    g_autofree char *path = NULL;
    RigRscStats stats;
    guint64 interval = 0;

    assert_true(rig_qmp_handshake(qmp, NULL, &error));
    assert_true(rig_qmp_read_rsc_stats(qmp, "net0", &stats, &path, &error));
    assert_string_equal(path, "/machine/peripheral/net0");
    assert_int_equal(stats.ipv4.coalesced, RSC_STATS_INDEX(coalesced));
    assert_int_equal(stats.ipv6.timer, 100 + RSC_STATS_INDEX(timer));
    assert_true(rig_qmp_read_rsc_interval(qmp, "net0", &interval, &error));
    assert_int_equal(interval, 250000);
    peer_finish(&peer, release);
}

#define LIST_WITH_INTERVAL                                                     \
    "{\"return\": [{\"name\": \"rsc_interval\", \"type\": \"uint32\"}], "     \
    "\"id\": @ID@}"

/* qom-set, then a read-back: accepted, refused (stock), or not taken. */
static void test_set_rsc_interval(void **state)
{
    static const PeerStep steps[] = {
        {NULL, {GREETING, NULL}},
        {"qmp_capabilities", {OK_REPLY, NULL}},
        /* writable: the read-back agrees */
        {"qom-list", {LIST_WITH_INTERVAL, NULL}},
        {"qom-set", {OK_REPLY, NULL}},
        {"qom-list", {LIST_WITH_INTERVAL, NULL}},
        {"qom-get", {"{\"return\": 123000, \"id\": @ID@}", NULL}},
        /* stock: refused after realize */
        {"qom-list", {LIST_WITH_INTERVAL, NULL}},
        {"qom-set",
         {"{\"error\": {\"class\": \"GenericError\", \"desc\": \"Attempt "
          "to set property 'rsc_interval' on anonymous device (type "
          "'virtio-net-device') after it was realized\"}, \"id\": @ID@}",
          NULL}},
        /* accepted but not taken */
        {"qom-list", {LIST_WITH_INTERVAL, NULL}},
        {"qom-set", {OK_REPLY, NULL}},
        {"qom-list", {LIST_WITH_INTERVAL, NULL}},
        {"qom-get", {"{\"return\": 300000, \"id\": @ID@}", NULL}},
    };
    Peer peer;
    int release;
    int fd = peer_start(&peer, steps, G_N_ELEMENTS(steps), TRUE, &release);
    g_autoptr(RigQmp) qmp = rig_qmp_new_from_fd(fd);
    g_autoptr(GError) error = NULL;

    assert_true(rig_qmp_handshake(qmp, NULL, &error));
    assert_true(rig_qmp_set_rsc_interval(qmp, "net0", 123000, &error));
    assert_false(rig_qmp_set_rsc_interval(qmp, "net0", 123000, &error));
    assert_true(
        g_error_matches(error, RIG_QMP_ERROR, RIG_QMP_ERROR_NOT_SUPPORTED));
    assert_non_null(strstr(error->message, "refused to change "
                                           "/machine/peripheral/net0."
                                           "rsc_interval"));
    assert_non_null(strstr(error->message, "after it was realized"));
    g_clear_error(&error);
    assert_false(rig_qmp_set_rsc_interval(qmp, "net0", 123000, &error));
    assert_true(
        g_error_matches(error, RIG_QMP_ERROR, RIG_QMP_ERROR_NOT_SUPPORTED));
    assert_non_null(strstr(error->message, "was accepted but it reads 300000"));
    g_clear_error(&error);
    /* Too large for QEMU's uint32: refused before anything is sent. */
    assert_false(
        rig_qmp_set_rsc_interval(qmp, "net0", G_MAXUINT32 + 1ull, &error));
    assert_non_null(strstr(error->message, "does not fit"));
    peer_finish(&peer, release);
}

typedef struct {
    char *path;
    const PeerStep *steps;
    gsize n_steps;
    char *failure;
} UnixPeer;

static gpointer unix_peer_thread(gpointer data)
{
    UnixPeer *unix_peer = data;
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_strlcpy(address.sun_path, unix_peer->path, sizeof(address.sun_path));
    if (connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
        unix_peer->failure = g_strdup(g_strerror(errno));
        close(fd);
        return NULL;
    }
    Peer peer = {.fd = fd,
                 .steps = unix_peer->steps,
                 .n_steps = unix_peer->n_steps,
                 .release_fd = -1};
    peer_thread(&peer);
    unix_peer->failure = peer.failure;
    return NULL;
}

static void test_over_unix_socket(void **state)
{
    static const PeerStep steps[] = {
        {NULL, {GREETING, NULL}},
        {"qmp_capabilities", {OK_REPLY, NULL}},
        {"query-version", {"{\"return\": {\"qemu\": 1}, \"id\": @ID@}", NULL}},
    };
    g_autofree char *dir = g_dir_make_tmp("rig-qmp-test-XXXXXX", NULL);
    UnixPeer unix_peer = {.path = g_build_filename(dir, "qmp.sock", NULL),
                          .steps = steps,
                          .n_steps = G_N_ELEMENTS(steps)};
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_autoptr(GError) error = NULL;

    assert_non_null(dir);
    g_strlcpy(address.sun_path, unix_peer.path, sizeof(address.sun_path));
    assert_int_equal(
        bind(listener, (struct sockaddr *)&address, sizeof(address)), 0);
    assert_int_equal(listen(listener, 1), 0);
    GThread *thread = g_thread_new("unix-peer", unix_peer_thread, &unix_peer);
    int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    assert_true(fd >= 0);
    close(listener);

    g_autoptr(RigQmp) qmp = rig_qmp_new_from_fd(fd);
    assert_true(rig_qmp_handshake(qmp, NULL, &error));
    g_autoptr(JsonNode) version =
        rig_qmp_execute(qmp, "query-version", NULL, &error);
    assert_non_null(version);
    g_thread_join(thread);
    if (unix_peer.failure != NULL) {
        fail_msg("peer: %s", unix_peer.failure);
    }
    unlink(unix_peer.path);
    rmdir(dir);
    g_free(unix_peer.path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_events),
        cmocka_unit_test(test_error_reply),
        cmocka_unit_test(test_split_and_batched_input),
        cmocka_unit_test(test_event_before_reply_is_not_lost),
        cmocka_unit_test(test_reentrant_handler),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_greeting_timeout),
        cmocka_unit_test(test_disconnect),
        cmocka_unit_test(test_truncated_then_closed),
        cmocka_unit_test(test_garbage_greeting),
        cmocka_unit_test(test_not_a_greeting),
        cmocka_unit_test(test_property_on_backend),
        cmocka_unit_test(test_property_not_supported),
        cmocka_unit_test(test_read_rsc_stats),
        cmocka_unit_test(test_set_rsc_interval),
        cmocka_unit_test(test_over_unix_socket),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
