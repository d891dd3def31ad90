/*
 * rig/output: what every user-named output path goes through.  Device
 * nodes are made with mknod in a private directory (never the machine's
 * own /dev/null or /dev/full: a regression would replace them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "output/output-file.h"

typedef struct {
    char *dir;
} Fixture;

static int setup(void **state)
{
    Fixture *f = g_new0(Fixture, 1);

    f->dir = g_dir_make_tmp("rig-output-XXXXXX", NULL);
    assert_non_null(f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fixture *f = *state;
    g_autoptr(GDir) d = g_dir_open(f->dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(f->dir, name, NULL);

        g_unlink(p);
    }
    g_rmdir(f->dir);
    g_free(f->dir);
    g_free(f);
    return 0;
}

static char *path_in(Fixture *f, const char *name)
{
    return g_build_filename(f->dir, name, NULL);
}

static guint count_entries(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    guint n = 0;

    while (g_dir_read_name(d)) {
        n++;
    }
    return n;
}

static void assert_contents(const char *path, const char *expected)
{
    g_autofree char *text = NULL;

    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    assert_string_equal(text, expected);
}

/* a character device with the numbers of /dev/null (1,3) or /dev/full (1,7) */
static char *make_chardev(Fixture *f, const char *name, unsigned minor)
{
    char *p = path_in(f, name);

    if (mknod(p, S_IFCHR | 0666, makedev(1, minor)) < 0) {
        g_free(p);
        return NULL;
    }
    return p;
}

static void test_regular_replaced_atomically(void **state)
{
    Fixture *f = *state;
    g_autofree char *p = path_in(f, "r.json");
    g_autoptr(GError) error = NULL;
    g_autoptr(RigOutputFile) out = NULL;
    struct stat st;

    /* absent: created with the umask's mode */
    assert_true(rig_output_write(p, "one", 3, &error));
    assert_contents(p, "one");
    assert_int_equal(count_entries(f->dir), 1);
    assert_false(rig_output_is_stream(p));

    /* an existing file keeps its mode */
    assert_int_equal(g_chmod(p, 0640), 0);
    out = rig_output_file_open(p, &error);
    assert_non_null(out);
    assert_true(rig_output_file_write(out, "two", 3, &error));
    /* until the commit, readers see the old content */
    assert_contents(p, "one");
    assert_true(rig_output_file_commit(g_steal_pointer(&out), &error));
    assert_contents(p, "two");
    assert_int_equal(g_stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(count_entries(f->dir), 1);

    /* abandoned: old content kept, no temporary left */
    out = rig_output_file_open(p, &error);
    assert_true(rig_output_file_write(out, "three", 5, &error));
    g_clear_pointer(&out, rig_output_file_free);
    assert_contents(p, "two");
    assert_int_equal(count_entries(f->dir), 1);
}

static void test_symlink_written_through(void **state)
{
    Fixture *f = *state;
    g_autofree char *target = path_in(f, "target.json");
    g_autofree char *link = path_in(f, "link.json");
    g_autofree char *link2 = path_in(f, "link2.json");
    g_autofree char *dangling = path_in(f, "dangling.json");
    g_autofree char *created = path_in(f, "created.json");
    g_autoptr(GError) error = NULL;
    struct stat st;

    assert_true(g_file_set_contents(target, "old", -1, NULL));
    assert_int_equal(symlink("target.json", link), 0); /* relative */
    assert_int_equal(symlink(link, link2), 0);         /* a chain */
    assert_true(rig_output_write(link2, "new", 3, &error));
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(lstat(link2, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_contents(target, "new");

    /* a dangling link names the file to create */
    assert_int_equal(symlink("created.json", dangling), 0);
    assert_true(rig_output_check(dangling, &error));
    assert_true(rig_output_write(dangling, "made", 4, &error));
    assert_int_equal(lstat(dangling, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_contents(created, "made");
}

static void test_symlink_loop(void **state)
{
    Fixture *f = *state;
    g_autofree char *a = path_in(f, "a");
    g_autofree char *b = path_in(f, "b");
    g_autoptr(GError) error = NULL;

    assert_int_equal(symlink("b", a), 0);
    assert_int_equal(symlink("a", b), 0);
    assert_false(rig_output_write(a, "x", 1, &error));
    assert_non_null(strstr(error->message, a));
    assert_non_null(strstr(error->message, g_strerror(ELOOP)));
}

static void test_devices_written_through(void **state)
{
    Fixture *f = *state;
    g_autofree char *null = make_chardev(f, "null", 3);
    g_autofree char *full = make_chardev(f, "full", 7);
    g_autofree char *link = path_in(f, "to-full");
    g_autoptr(GError) error = NULL;
    struct stat st;

    if (!null || !full) {
        skip(); /* mknod needs CAP_MKNOD */
    }
    assert_true(rig_output_is_stream(null));
    assert_true(rig_output_check(null, &error));
    assert_true(rig_output_write(null, "x", 1, &error));
    assert_int_equal(lstat(null, &st), 0);
    assert_true(S_ISCHR(st.st_mode));

    /* the device's refusal is the writer's error, naming the path */
    assert_int_equal(symlink(full, link), 0);
    assert_true(rig_output_check(link, &error));
    assert_false(rig_output_write(link, "x", 1, &error));
    assert_true(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOSPC));
    assert_non_null(strstr(error->message, link));
    assert_int_equal(lstat(full, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
}

static void *read_fifo(void *arg)
{
    g_autofree char *text = NULL;

    g_file_get_contents(arg, &text, NULL, NULL);
    return g_steal_pointer(&text);
}

static void test_fifo_written_through(void **state)
{
    Fixture *f = *state;
    g_autofree char *fifo = path_in(f, "fifo");
    g_autoptr(GError) error = NULL;
    g_autofree char *got = NULL;
    pthread_t reader;
    struct stat st;

    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_true(rig_output_is_stream(fifo));
    /* checking does not wait for a reader */
    assert_true(rig_output_check(fifo, &error));
    assert_int_equal(pthread_create(&reader, NULL, read_fifo, fifo), 0);
    assert_true(rig_output_write(fifo, "through", 7, &error));
    assert_int_equal(pthread_join(reader, (void **)&got), 0);
    assert_string_equal(got, "through");
    assert_int_equal(lstat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
}

/* /dev/stdout, /dev/fd/N, /proc/self/fd/N: the descriptor, not the file */
static void test_own_descriptors(void **state)
{
    Fixture *f = *state;
    g_autofree char *p = path_in(f, "redirected.txt");
    g_autoptr(GError) error = NULL;
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    g_autofree char *via_dev = g_strdup_printf("/dev/fd/%d", fd);
    g_autofree char *via_proc = g_strdup_printf("/proc/self/fd/%d", fd);
    int ro = open("/dev/null", O_RDONLY | O_CLOEXEC);
    g_autofree char *via_ro = g_strdup_printf("/dev/fd/%d", ro);
    struct stat st;

    assert_true(fd >= 0 && ro >= 0);
    assert_int_equal(write(fd, "table\n", 6), 6);
    assert_true(rig_output_is_stream(via_dev));
    assert_false(rig_output_is_stdout(via_dev));
    assert_true(rig_output_is_stdout("-"));
    assert_true(rig_output_check(via_dev, &error));
    assert_true(rig_output_write(via_dev, "json\n", 5, &error));
    assert_true(rig_output_write(via_proc, "more\n", 5, &error));
    /* appended where the process was, the file never replaced */
    assert_contents(p, "table\njson\nmore\n");
    assert_int_equal(count_entries(f->dir), 1);
    assert_int_equal(fstat(fd, &st), 0);
    assert_true(st.st_nlink == 1);
    assert_false(rig_output_check(via_ro, &error));
    assert_non_null(strstr(error->message, "read-only"));
    close(fd);
    close(ro);
}

static void test_refused_paths(void **state)
{
    Fixture *f = *state;
    g_autofree char *nodir = path_in(f, "nodir/x.json");
    g_autofree char *nodir_dir = path_in(f, "nodir");
    g_autoptr(GError) error = NULL;

    assert_false(rig_output_check(nodir, &error));
    assert_true(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT));
    assert_non_null(strstr(error->message, nodir));
    assert_non_null(strstr(error->message, g_strerror(ENOENT)));
    g_clear_error(&error);
    assert_false(rig_output_write(nodir, "x", 1, &error));
    assert_non_null(strstr(error->message, nodir));
    g_clear_error(&error);
    assert_false(rig_output_check_dir(nodir_dir, &error));
    g_clear_error(&error);

    assert_false(rig_output_check(f->dir, &error));
    assert_true(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_ISDIR));
    g_clear_error(&error);
    assert_false(rig_output_write(f->dir, "x", 1, &error));
    g_clear_error(&error);

    /* checks leave nothing behind */
    assert_true(rig_output_check_dir(f->dir, &error));
    assert_int_equal(count_entries(f->dir), 0);
}

static void test_stream_on_regular_file(void **state)
{
    Fixture *f = *state;
    g_autofree char *p = path_in(f, "s.bin");
    g_autoptr(GError) error = NULL;
    RigOutputFile *out = rig_output_file_open(p, &error);
    FILE *stream;

    assert_non_null(out);
    stream = rig_output_file_dup_stream(out, &error);
    assert_non_null(stream);
    assert_true(fputs("via stdio", stream) >= 0);
    assert_int_equal(fclose(stream), 0);
    assert_false(g_file_test(p, G_FILE_TEST_EXISTS));
    assert_true(rig_output_file_commit(out, &error));
    assert_contents(p, "via stdio");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_regular_replaced_atomically, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_symlink_written_through, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_symlink_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_devices_written_through, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fifo_written_through, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_own_descriptors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_on_regular_file, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
