/*
 * QEMU's argv from a RigVmConfig: what the rig asks QEMU for, with no
 * shell in between, and descriptions that cannot be expressed rejected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <unistd.h>

#include "qemu/vm.h"

/* Index of @arg in @argv, or -1. */
static int find_arg(char **argv, const char *arg)
{
    for (int i = 0; argv[i] != NULL; i++) {
        if (g_strcmp0(argv[i], arg) == 0) {
            return i;
        }
    }
    return -1;
}

static void assert_option(char **argv, const char *option, const char *value)
{
    for (int i = 0; argv[i] != NULL && argv[i + 1] != NULL; i++) {
        if (g_strcmp0(argv[i], option) == 0 &&
            g_strcmp0(argv[i + 1], value) == 0) {
            return;
        }
    }
    g_autofree char *joined = g_strjoinv(" ", argv);
    fail_msg("no \"%s %s\" in: %s", option, value, joined);
}

static void test_smoke_vm(void **state)
{
    g_autoptr(RigVmConfig) config = rig_vm_config_new();
    g_autoptr(GArray) fds = NULL;
    g_autoptr(GError) error = NULL;
    int tap = dup(STDIN_FILENO);

    g_free(config->qemu);
    config->qemu = g_strdup("/opt/qemu/bin/qemu-system-x86_64");
    config->qtest = TRUE;
    RigVmNic *nic = rig_vm_config_add_nic(config, "net0", tap);
    nic->rsc_interval_ns = 250000;
    nic->mac = g_strdup("52:54:00:12:34:56");

    g_auto(GStrv) argv = rig_vm_config_build_argv(
        config, "/run/x/qmp.sock", "/run/x/qtest.sock", NULL, &fds, &error);
    assert_non_null(argv);
    assert_string_equal(argv[0], "/opt/qemu/bin/qemu-system-x86_64");
    assert_option(argv, "-M", "q35");
    assert_option(argv, "-accel", "qtest");
    assert_option(argv, "-m", "128");
    assert_option(argv, "-display", "none");
    assert_true(find_arg(argv, "-nodefaults") > 0);
    assert_option(argv, "-chardev", "socket,id=rig-qmp,path=/run/x/qmp.sock");
    assert_option(argv, "-mon", "chardev=rig-qmp,mode=control");
    assert_option(argv, "-qtest", "unix:/run/x/qtest.sock");
    assert_option(argv, "-qtest-log", "none");
    assert_option(argv, "-netdev", "tap,id=rig-net0,fd=3,vhost=off");
    assert_option(argv, "-device",
                  "virtio-net-pci,id=net0,netdev=rig-net0,guest_rsc_ext=on,"
                  "rsc_interval=250000,mac=52:54:00:12:34:56,romfile=");
    assert_int_equal(fds->len, 2);
    assert_int_equal(g_array_index(fds, int, 0), tap);
    assert_int_equal(g_array_index(fds, int, 1), 3);
}

static void test_two_nics_and_extras(void **state)
{
    g_autoptr(RigVmConfig) config = rig_vm_config_new();
    g_autoptr(GArray) fds = NULL;
    g_autoptr(GError) error = NULL;

    g_clear_pointer(&config->accel, g_free);
    g_ptr_array_set_size(config->firmware_dirs, 0);
    g_ptr_array_add(config->firmware_dirs, g_strdup("/fw"));
    rig_vm_config_add_nic(config, "a", dup(STDIN_FILENO));
    RigVmNic *b = rig_vm_config_add_nic(config, "b", -1);
    b->tap_ifname = g_strdup("tap9");
    b->guest_rsc_ext = FALSE;
    b->no_rom = FALSE;
    b->extra_props = g_strdup("mq=off");
    g_ptr_array_add(config->extra_args, g_strdup("-S"));

    g_auto(GStrv) argv =
        rig_vm_config_build_argv(config, "/q", NULL, NULL, &fds, &error);
    assert_non_null(argv);
    assert_int_equal(find_arg(argv, "-accel"), -1);
    assert_int_equal(find_arg(argv, "-qtest"), -1);
    assert_option(argv, "-L", "/fw");
    assert_option(argv, "-netdev",
                  "tap,id=rig-net1,ifname=tap9,script=no,downscript=no,"
                  "vnet_hdr=on,vhost=off");
    assert_option(argv, "-device",
                  "virtio-net-pci,id=b,netdev=rig-net1,guest_rsc_ext=off,"
                  "mq=off");
    assert_string_equal(argv[g_strv_length(argv) - 1], "-S");
    assert_int_equal(fds->len, 2);
}

static void test_halt_firmware(void **state)
{
    g_autoptr(RigVmConfig) config = rig_vm_config_new();
    g_autoptr(GArray) fds = NULL;
    g_autoptr(GError) error = NULL;

    config->halt_firmware = TRUE;
    g_auto(GStrv) argv = rig_vm_config_build_argv(
        config, "/q", NULL, "/run/x/halt.bin", &fds, &error);
    assert_non_null(argv);
    assert_option(argv, "-bios", "/run/x/halt.bin");

    /* Without the firmware's path the config cannot be honoured. */
    g_autoptr(GArray) no_fds = NULL;
    g_auto(GStrv) none =
        rig_vm_config_build_argv(config, "/q", NULL, NULL, &no_fds, &error);
    assert_null(none);
    assert_null(no_fds);
    assert_true(
        g_error_matches(error, RIG_VM_ERROR, RIG_VM_ERROR_INVALID_CONFIG));
}

static void assert_invalid(RigVmConfig *config)
{
    g_autoptr(GArray) fds = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) argv =
        rig_vm_config_build_argv(config, "/q", NULL, NULL, &fds, &error);

    assert_null(argv);
    assert_null(fds);
    assert_true(
        g_error_matches(error, RIG_VM_ERROR, RIG_VM_ERROR_INVALID_CONFIG));
}

static void test_invalid(void **state)
{
    g_autoptr(RigVmConfig) comma = rig_vm_config_new();
    rig_vm_config_add_nic(comma, "net0,romfile=x", dup(STDIN_FILENO));
    assert_invalid(comma);

    g_autoptr(RigVmConfig) no_backend = rig_vm_config_new();
    rig_vm_config_add_nic(no_backend, "net0", -1);
    assert_invalid(no_backend);

    g_autoptr(RigVmConfig) interval = rig_vm_config_new();
    RigVmNic *nic = rig_vm_config_add_nic(interval, "n", dup(STDIN_FILENO));
    nic->rsc_interval_ns = (gint64)G_MAXUINT32 + 1;
    assert_invalid(interval);

    g_autoptr(RigVmConfig) machine = rig_vm_config_new();
    g_free(machine->machine);
    machine->machine = g_strdup("q35,accel=kvm");
    assert_invalid(machine);
}

static void test_missing_binary(void **state)
{
    g_autoptr(RigVmConfig) config = rig_vm_config_new();
    g_autoptr(GError) error = NULL;

    config->qemu = g_strdup("/nonexistent/qemu-system-x86_64");
    g_autoptr(RigVm) vm = rig_vm_start(config, &error);
    assert_null(vm);
    assert_true(
        g_error_matches(error, RIG_VM_ERROR, RIG_VM_ERROR_QEMU_MISSING));
    assert_non_null(strstr(error->message, "/nonexistent/qemu-system-x86_64"));
    assert_non_null(strstr(error->message, "ci/build-qemu"));
}

static void test_default_qemu_from_env(void **state)
{
    g_setenv("RIG_QEMU", "/from/env/qemu", TRUE);
    assert_string_equal(rig_vm_default_qemu(), "/from/env/qemu");
    g_setenv("RIG_QEMU", "", TRUE);
    assert_string_not_equal(rig_vm_default_qemu(), "/from/env/qemu");
    g_unsetenv("RIG_QEMU");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smoke_vm),
        cmocka_unit_test(test_two_nics_and_extras),
        cmocka_unit_test(test_halt_firmware),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_missing_binary),
        cmocka_unit_test(test_default_qemu_from_env),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
