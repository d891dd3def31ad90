/*
 * QEMU stream netdev framing (4-byte big-endian length + frame): the
 * encoder, the decoder under every split of the byte stream, and the
 * stream and dgram transports over real unix sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "trafgen/streamframe.h"
#include "trafgen/transport.h"

static void test_header(void **state)
{
    uint8_t hdr[4];

    assert_int_equal(trafgen_stream_put_header(hdr, 0x01020304 & 0xffff), 0);
    assert_memory_equal(hdr, ((uint8_t[]){0, 0, 0x03, 0x04}), 4);
    assert_int_equal(trafgen_stream_put_header(hdr, 1514), 0);
    assert_memory_equal(hdr, ((uint8_t[]){0, 0, 0x05, 0xea}), 4);
    assert_int_equal(trafgen_stream_put_header(hdr, TRAFGEN_STREAM_MAX_FRAME),
                     0);
    assert_int_equal(
        trafgen_stream_put_header(hdr, TRAFGEN_STREAM_MAX_FRAME + 1),
        -EMSGSIZE);
}

/* Three frames (one empty) as one byte stream. */
static GByteArray *make_stream(void)
{
    GByteArray *s = g_byte_array_new();
    const size_t lens[] = {60, 0, 1514};

    for (size_t f = 0; f < G_N_ELEMENTS(lens); f++) {
        uint8_t hdr[4];

        assert_int_equal(trafgen_stream_put_header(hdr, lens[f]), 0);
        g_byte_array_append(s, hdr, 4);
        for (size_t i = 0; i < lens[f]; i++) {
            uint8_t b = (uint8_t)(f * 31 + i);

            g_byte_array_append(s, &b, 1);
        }
    }
    return s;
}

static void check_frames(GPtrArray *frames)
{
    const size_t lens[] = {60, 0, 1514};

    assert_int_equal(frames->len, 3);
    for (guint f = 0; f < 3; f++) {
        gsize len;
        const uint8_t *d = g_bytes_get_data(frames->pdata[f], &len);

        assert_int_equal(len, lens[f]);
        for (size_t i = 0; i < len; i++) {
            assert_int_equal(d[i], (uint8_t)(f * 31 + i));
        }
    }
}

static void test_decoder_every_split(void **state)
{
    g_autoptr(GByteArray) s = make_stream();

    /* feed in chunks of every size from 1 byte to all at once */
    for (guint chunk = 1; chunk <= s->len; chunk += (chunk < 16 ? 1 : 97)) {
        g_autoptr(TrafgenStreamDecoder) d = trafgen_stream_decoder_new();
        g_autoptr(GPtrArray) frames =
            g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);

        for (guint off = 0; off < s->len; off += chunk) {
            GBytes *frame;

            trafgen_stream_decoder_feed(d, s->data + off,
                                        MIN(chunk, s->len - off));
            while (trafgen_stream_decoder_next(d, &frame) == 1) {
                g_ptr_array_add(frames, frame);
            }
        }
        check_frames(frames);
    }
}

static void test_decoder_oversize(void **state)
{
    g_autoptr(TrafgenStreamDecoder) d = trafgen_stream_decoder_new();
    const uint8_t huge[4] = {0, 0x02, 0, 0}; /* 128 KiB */
    GBytes *frame = NULL;

    trafgen_stream_decoder_feed(d, huge, 3);
    assert_int_equal(trafgen_stream_decoder_next(d, &frame), 0);
    trafgen_stream_decoder_feed(d, huge + 3, 1);
    assert_int_equal(trafgen_stream_decoder_next(d, &frame), -EMSGSIZE);
    assert_null(frame);
}

static char *socket_path(const char *name)
{
    g_autofree char *dir = g_dir_make_tmp("trafgen-XXXXXX", NULL);

    assert_non_null(dir);
    return g_build_filename(dir, name, NULL);
}

static void remove_path(const char *path)
{
    g_autofree char *dir = g_path_get_dirname(path);

    unlink(path);
    rmdir(dir);
}

static int listen_unix(const char *path, int type)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, type, 0);

    assert_true(fd >= 0);
    g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    if (type == SOCK_STREAM) {
        assert_int_equal(listen(fd, 1), 0);
    }
    return fd;
}

static void test_stream_transport(void **state)
{
    g_autofree char *path = socket_path("stream.sock");
    g_autofree char *address = g_strdup_printf("unix:%s", path);
    g_autoptr(TrafgenTransport) t = NULL;
    g_autoptr(TrafgenStreamDecoder) d = trafgen_stream_decoder_new();
    g_autoptr(GPtrArray) frames =
        g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    g_autoptr(GByteArray) s = make_stream();
    g_autoptr(GError) error = NULL;
    int lfd = listen_unix(path, SOCK_STREAM);
    int cfd;
    uint8_t buf[4096];
    ssize_t n;

    t = trafgen_transport_new_stream(address, &error);
    assert_non_null(t);
    assert_int_equal(trafgen_transport_kind(t), TRAFGEN_TRANSPORT_STREAM);
    cfd = accept(lfd, NULL, NULL);
    assert_true(cfd >= 0);
    /* send the same three frames through the transport */
    for (guint off = 0; off < s->len;) {
        size_t len = ((size_t)s->data[off + 2] << 8) | s->data[off + 3];

        assert_int_equal(trafgen_transport_send(t, s->data + off + 4, len, 0),
                         0);
        off += 4 + (guint)len;
    }
    assert_int_equal(
        trafgen_transport_send(t, buf, TRAFGEN_STREAM_MAX_FRAME + 1, 0),
        -EMSGSIZE);
    trafgen_transport_free(g_steal_pointer(&t));
    while ((n = read(cfd, buf, sizeof(buf))) > 0) {
        GBytes *frame;

        trafgen_stream_decoder_feed(d, buf, (size_t)n);
        while (trafgen_stream_decoder_next(d, &frame) == 1) {
            g_ptr_array_add(frames, frame);
        }
    }
    check_frames(frames);
    close(cfd);
    close(lfd);
    remove_path(path);
}

static void test_dgram_transport(void **state)
{
    g_autofree char *path = socket_path("dgram.sock");
    g_autofree char *address = g_strdup_printf("unix:%s", path);
    g_autoptr(TrafgenTransport) t = NULL;
    g_autoptr(GError) error = NULL;
    int fd = listen_unix(path, SOCK_DGRAM);
    uint8_t frame[1514];
    uint8_t buf[2048];
    struct iovec iov[3];

    for (size_t i = 0; i < sizeof(frame); i++) {
        frame[i] = (uint8_t)i;
    }
    t = trafgen_transport_new_dgram(address, NULL, &error);
    assert_non_null(t);
    assert_int_equal(trafgen_transport_send(t, frame, sizeof(frame), 0), 0);
    /* one datagram per frame, no length prefix */
    assert_int_equal(recv(fd, buf, sizeof(buf), 0), sizeof(frame));
    assert_memory_equal(buf, frame, sizeof(frame));
    for (int i = 0; i < 3; i++) {
        iov[i].iov_base = frame;
        iov[i].iov_len = (size_t)(60 + i);
    }
    assert_int_equal(trafgen_transport_send_batch(t, iov, 3), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(recv(fd, buf, sizeof(buf), 0), 60 + i);
    }
    close(fd);
    remove_path(path);
}

static void test_bad_addresses(void **state)
{
    static const char *const bad[] = {"tcp:1.2.3.4:5", "inet:1.2.3.4",
                                      "inet:host.example:80", "unix:"};

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;

        assert_null(trafgen_transport_new_stream(bad[i], &error));
        assert_non_null(error);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_decoder_every_split),
        cmocka_unit_test(test_decoder_oversize),
        cmocka_unit_test(test_stream_transport),
        cmocka_unit_test(test_dgram_transport),
        cmocka_unit_test(test_bad_addresses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
