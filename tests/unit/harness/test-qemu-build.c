/*
 * `--qemu fixed|stock|PATH`: which binary each names, what its build
 * record says, and that a keyword never silently runs the other build.
 * Real files in a temporary prefix stand for ci/build-qemu's output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib/gstdio.h>

#include "harness/qemu-build.h"

typedef struct {
    char *dir;
    char *fixed_bin;
    char *stock_bin;
} Fixture;

/* A prefix as ci/build-qemu leaves it: bin/qemu-system-x86_64 + record. */
static char *make_prefix(const char *dir, const char *name, const char *record)
{
    g_autofree char *bindir = g_build_filename(dir, name, "bin", NULL);
    g_autofree char *rec =
        g_build_filename(dir, name, "rig-qemu-build.json", NULL);
    char *bin = g_build_filename(bindir, "qemu-system-x86_64", NULL);

    assert_int_equal(g_mkdir_with_parents(bindir, 0755), 0);
    assert_true(g_file_set_contents(bin, "#!/bin/sh\n", -1, NULL));
    assert_int_equal(g_chmod(bin, 0755), 0);
    if (record) {
        assert_true(g_file_set_contents(rec, record, -1, NULL));
    }
    return bin;
}

static int setup(void **state)
{
    Fixture *fx = g_new0(Fixture, 1);

    fx->dir = g_dir_make_tmp("rig-qemu-build-XXXXXX", NULL);
    assert_non_null(fx->dir);
    fx->fixed_bin =
        make_prefix(fx->dir, "fixed",
                    "{\"build\": \"fixed\", \"qemu_version\": \"10.0.13\", "
                    "\"debian_version\": \"1:10.0.13+ds-0+deb13u1\", "
                    "\"series_sha256\": \"aaaa\", \"cache_key\": \"k1\", "
                    "\"patches\": [\"0001-a.patch\", \"0002-b.patch\"]}");
    fx->stock_bin = make_prefix(fx->dir, "stock",
                                "{\"build\": \"stock\", \"qemu_version\": "
                                "\"10.0.13\", \"series_sha256\": \"bbbb\"}");
    g_setenv("RIG_QEMU", fx->fixed_bin, TRUE);
    g_setenv("RIG_QEMU_STOCK", fx->stock_bin, TRUE);
    *state = fx;
    return 0;
}

static void rm_rf(const char *path)
{
    g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *child = g_build_filename(path, name, NULL);

        if (g_file_test(child, G_FILE_TEST_IS_DIR)) {
            rm_rf(child);
        } else {
            g_unlink(child);
        }
    }
    g_rmdir(path);
}

static int teardown(void **state)
{
    Fixture *fx = *state;

    rm_rf(fx->dir);
    g_free(fx->dir);
    g_free(fx->fixed_bin);
    g_free(fx->stock_bin);
    g_free(fx);
    g_unsetenv("RIG_QEMU");
    g_unsetenv("RIG_QEMU_STOCK");
    return 0;
}

static void test_keywords(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GError) error = NULL;
    g_autoptr(QemuBuild) fixed = qemu_build_resolve(NULL, &error);
    g_autoptr(QemuBuild) patched = qemu_build_resolve("patched", &error);
    g_autoptr(QemuBuild) stock = qemu_build_resolve("stock", &error);

    assert_null(error);
    assert_non_null(fixed);
    assert_int_equal(fixed->kind, QEMU_BUILD_FIXED);
    assert_string_equal(fixed->requested, "fixed");
    assert_string_equal(fixed->path, fx->fixed_bin);
    assert_string_equal(fixed->version, "10.0.13");
    assert_string_equal(fixed->debian_version, "1:10.0.13+ds-0+deb13u1");
    assert_string_equal(fixed->series_hash, "aaaa");
    assert_string_equal(fixed->cache_key, "k1");
    assert_int_equal(g_strv_length(fixed->patches), 2);
    assert_string_equal(fixed->patches[1], "0002-b.patch");
    assert_int_equal(patched->kind, QEMU_BUILD_FIXED);
    assert_int_equal(stock->kind, QEMU_BUILD_STOCK);
    assert_string_equal(stock->series_hash, "bbbb");
    assert_null(stock->patches);
}

static void test_path_kind_from_record(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GError) error = NULL;
    g_autoptr(QemuBuild) b = qemu_build_resolve(fx->stock_bin, &error);
    g_autofree char *bare = make_prefix(fx->dir, "bare", NULL);
    g_autoptr(QemuBuild) other = qemu_build_resolve(bare, &error);
    g_autoptr(JsonNode) json = NULL;
    JsonObject *o;

    assert_non_null(b);
    assert_int_equal(b->kind, QEMU_BUILD_STOCK);
    assert_string_equal(b->requested, fx->stock_bin);
    /* No record (e.g. Debian's qemu-system-x86): another build. */
    assert_non_null(other);
    assert_int_equal(other->kind, QEMU_BUILD_OTHER);
    assert_false(other->has_record);
    assert_null(other->series_hash);
    json = qemu_build_to_json(other);
    o = json_node_get_object(json);
    assert_string_equal(json_object_get_string_member(o, "build"), "other");
    assert_true(json_object_get_null_member(o, "patch_series_hash"));
    assert_true(json_object_get_null_member(o, "patches"));
}

static void test_errors(void **state)
{
    Fixture *fx = *state;
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    g_autoptr(GError) e3 = NULL;
    g_autoptr(GError) e4 = NULL;

    /* A keyword pointing at the other variant is refused, not swapped. */
    g_setenv("RIG_QEMU", fx->stock_bin, TRUE);
    assert_null(qemu_build_resolve("fixed", &e1));
    assert_true(
        g_error_matches(e1, QEMU_BUILD_ERROR, QEMU_BUILD_ERROR_MISMATCH));
    assert_non_null(strstr(e1->message, "build \"stock\""));
    g_setenv("RIG_QEMU", fx->fixed_bin, TRUE);

    assert_null(qemu_build_resolve("qemu-system-x86_64", &e2));
    assert_true(
        g_error_matches(e2, QEMU_BUILD_ERROR, QEMU_BUILD_ERROR_INVALID));
    assert_null(qemu_build_resolve("/nonexistent/qemu", &e3));
    assert_true(
        g_error_matches(e3, QEMU_BUILD_ERROR, QEMU_BUILD_ERROR_MISSING));
    /* Unset environment and (in this test build) no build-time default. */
    g_setenv("RIG_QEMU_STOCK", "", TRUE);
    if (RIG_TEST_NO_STOCK_DEFAULT) {
        assert_null(qemu_build_resolve("stock", &e4));
        assert_true(g_error_matches(e4, QEMU_BUILD_ERROR,
                                    QEMU_BUILD_ERROR_NOT_CONFIGURED));
        assert_non_null(strstr(e4->message, "ci/build-qemu --stock"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keywords, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_kind_from_record, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
