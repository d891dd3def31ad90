/* pcap writer/reader: nanosecond round trip, file header, errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib/gstdio.h>

#include "net/pcap-writer.h"

#define assert_error(err, dom, c)                                              \
    do {                                                                       \
        assert_non_null(err);                                                  \
        assert_true((err)->domain == (dom));                                   \
        assert_int_equal((err)->code, (c));                                    \
    } while (0)

static void test_round_trip(void **state)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("rig-pcap-XXXXXX", &error);
    g_autofree char *path = g_build_filename(dir, "t.pcap", NULL);
    g_autofree char *contents = NULL;
    const gint64 ts[3] = {G_GINT64_CONSTANT(1704067200123456789), 1,
                          G_GINT64_CONSTANT(2147483647999999999)};
    guint8 frame[300];
    gsize size = 0;
    RigPcapWriter *w;

    assert_non_null(dir);
    for (size_t i = 0; i < sizeof(frame); i++) {
        frame[i] = (guint8)i;
    }
    w = rig_pcap_writer_new(path, RIG_PCAP_LINKTYPE_ETHERNET, 200, &error);
    assert_non_null(w);
    assert_true(rig_pcap_writer_write(w, ts[0], frame, 60, 60, &error));
    assert_true(rig_pcap_writer_write(w, ts[1], frame, 0, 0, &error));
    /* Snapped record: 200 of 300 bytes stored. */
    assert_true(rig_pcap_writer_write(w, ts[2], frame, 200, 300, &error));
    assert_false(rig_pcap_writer_write(w, ts[0], frame, 201, 300, &error));
    assert_error(error, RIG_PCAP_ERROR, RIG_PCAP_ERROR_INVALID);
    g_clear_error(&error);
    assert_false(rig_pcap_writer_write(w, ts[0], frame, 20, 10, &error));
    g_clear_error(&error);
    assert_false(rig_pcap_writer_write(w, ts[2] + 1, frame, 20, 20, &error));
    g_clear_error(&error);
    assert_false(rig_pcap_writer_write(w, -1, frame, 20, 20, &error));
    g_clear_error(&error);
    assert_true(rig_pcap_writer_flush(w, &error));
    assert_true(rig_pcap_writer_close(w, &error));

    /* Classic pcap, nanosecond magic, snaplen 200, Ethernet. */
    assert_true(g_file_get_contents(path, &contents, &size, NULL));
    assert_int_equal(size, 24 + (16 + 60) + 16 + (16 + 200));
    assert_memory_equal(contents, "\x4d\x3c\xb2\xa1", 4);
    assert_int_equal((guint8)contents[16], 200);
    assert_int_equal((guint8)contents[20], 1);

    {
        g_autoptr(RigPcapReader) r = rig_pcap_reader_new(path, &error);
        RigPcapRecord rec;
        gboolean eof = TRUE;

        assert_non_null(r);
        assert_int_equal(rig_pcap_reader_get_linktype(r), 1);
        assert_true(rig_pcap_reader_next(r, &rec, &eof, &error));
        assert_false(eof);
        assert_int_equal(rec.ts_ns, ts[0]);
        assert_int_equal(rec.caplen, 60);
        assert_memory_equal(rec.data, frame, 60);
        assert_true(rig_pcap_reader_next(r, &rec, &eof, &error));
        assert_int_equal(rec.ts_ns, 1);
        assert_int_equal(rec.caplen, 0);
        assert_true(rig_pcap_reader_next(r, &rec, &eof, &error));
        assert_int_equal(rec.ts_ns, ts[2]);
        assert_int_equal(rec.caplen, 200);
        assert_int_equal(rec.origlen, 300);
        assert_memory_equal(rec.data, frame, 200);
        assert_true(rig_pcap_reader_next(r, &rec, &eof, &error));
        assert_true(eof);
    }
    g_unlink(path);
    g_rmdir(dir);
}

static void test_errors(void **state)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(RigPcapWriter) w = NULL;
    g_autoptr(RigPcapReader) r = NULL;
    g_autofree char *dir = g_dir_make_tmp("rig-pcap-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "junk.pcap", NULL);

    w = rig_pcap_writer_new("/nonexistent-dir/x.pcap",
                            RIG_PCAP_LINKTYPE_ETHERNET, 0, &error);
    assert_null(w);
    assert_error(error, RIG_PCAP_ERROR, RIG_PCAP_ERROR_OPEN);
    assert_non_null(strstr(error->message, "/nonexistent-dir/x.pcap"));
    g_clear_error(&error);

    r = rig_pcap_reader_new("/nonexistent-dir/x.pcap", &error);
    assert_null(r);
    assert_error(error, RIG_PCAP_ERROR, RIG_PCAP_ERROR_OPEN);
    g_clear_error(&error);

    assert_true(
        g_file_set_contents(path, "not a capture file at all", -1, NULL));
    r = rig_pcap_reader_new(path, &error);
    assert_null(r);
    assert_error(error, RIG_PCAP_ERROR, RIG_PCAP_ERROR_OPEN);
    g_clear_error(&error);

    /* A record cut short by a crash: the reader reports it. */
    {
        RigPcapWriter *tw = rig_pcap_writer_new(path, 1, 0, &error);
        guint8 frame[100] = {0};
        g_autofree char *contents = NULL;
        gsize size;
        RigPcapRecord rec;
        gboolean eof;

        assert_non_null(tw);
        assert_true(rig_pcap_writer_write(tw, 5, frame, 100, 100, &error));
        assert_true(rig_pcap_writer_close(tw, &error));
        assert_true(g_file_get_contents(path, &contents, &size, NULL));
        assert_true(
            g_file_set_contents(path, contents, (gssize)size - 30, NULL));
        r = rig_pcap_reader_new(path, &error);
        assert_non_null(r);
        assert_false(rig_pcap_reader_next(r, &rec, &eof, &error));
        assert_error(error, RIG_PCAP_ERROR, RIG_PCAP_ERROR_READ);
    }
    rig_pcap_writer_free(NULL);
    rig_pcap_reader_free(NULL);
    g_unlink(path);
    g_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
