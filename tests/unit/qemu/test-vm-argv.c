/*
 * QEMU's argv from a RigVmConfig: what the rig asks QEMU for, with no
 * shell in between, and descriptions that cannot be expressed rejected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
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

/* What rig session asks for: a daemonized guest with disks and NICs. */
static void test_session_guest(void **state)
{
    g_autoptr(RigVmConfig) config = rig_vm_config_new();
    g_autoptr(GArray) fds = NULL;
    g_autoptr(GError) error = NULL;
    RigVmNic *nic;
    RigVmDisk *disk;
    guint16 fwd[2] = {4000, 5003};
    int q1 = dup(STDIN_FILENO);
    int q2 = dup(STDIN_FILENO);

    config->qemu = g_strdup("/q");
    config->name = g_strdup("rig-s1-client1");
    config->cpu = g_strdup("max");
    config->cpus = 2;
    disk = rig_vm_config_add_disk(config, "/img/a,b.qcow2", "qcow2");
    disk->snapshot = TRUE;
    config->vnc_display = 10;
    config->vga = TRUE;
    config->agent_socket = g_strdup("/s/c1.qga");
    config->serial_log = g_strdup("/s/c1-serial.log");
    g_ptr_array_add(config->trace_events, g_strdup("virtio_net_rsc_*"));
    config->trace_log = g_strdup("/s/c1-trace.log");
    config->daemonize = TRUE;
    config->pidfile = g_strdup("/s/c1.pid");

    nic = rig_vm_config_add_nic(config, "ctl", dup(STDIN_FILENO));
    nic->model = g_strdup("e1000e");
    nic->guest_rsc_ext = FALSE;
    nic = rig_vm_config_add_nic(config, "tst", q1);
    nic->queue_fds = g_array_new(FALSE, FALSE, sizeof(int));
    g_array_append_val(nic->queue_fds, q2);
    nic->rsc_interval_ns = 1000000;
    nic->netkvm_offloads = TRUE;
    nic->speed_mbps = 10000;
    nic = rig_vm_config_add_nic(config, "world", -1);
    nic->user = TRUE;
    nic->model = g_strdup("e1000e");
    nic->host_forwards = g_array_new(FALSE, FALSE, sizeof(guint16));
    g_array_append_vals(nic->host_forwards, fwd, 2);

    g_auto(GStrv) argv =
        rig_vm_config_build_argv(config, "/s/c1.qmp", NULL, NULL, &fds, &error);
    assert_non_null(argv);
    assert_option(argv, "-name", "rig-s1-client1,process=rig-s1-client1");
    assert_option(argv, "-cpu", "max");
    assert_option(argv, "-smp", "2");
    /* A comma in a file name is doubled, or QEMU reads a new key. */
    assert_option(argv, "-drive",
                  "file=/img/a,,b.qcow2,format=qcow2,if=none,id=rig-disk0,"
                  "snapshot=on");
    assert_option(argv, "-device", "ide-hd,drive=rig-disk0,bus=ide.0");
    assert_option(argv, "-vnc", "127.0.0.1:10,to=99");
    assert_option(argv, "-chardev",
                  "socket,id=rig-qmp,path=/s/c1.qmp,server=on,wait=off");
    assert_option(argv, "-chardev",
                  "socket,id=rig-qga,path=/s/c1.qga,server=on,wait=off");
    assert_option(argv, "-chardev",
                  "file,id=rig-serial0,path=/s/c1-serial.log");
    assert_option(argv, "-trace", "enable=virtio_net_rsc_*");
    assert_option(argv, "-D", "/s/c1-trace.log");
    assert_option(argv, "-netdev", "tap,id=rig-net0,fd=3,vhost=off");
    assert_option(argv, "-device", "e1000e,id=ctl,netdev=rig-net0,romfile=");
    assert_option(argv, "-netdev", "tap,id=rig-net1,fds=4:5,vhost=off");
    assert_option(argv, "-device",
                  "virtio-net-pci,id=tst,netdev=rig-net1,guest_rsc_ext=on,"
                  "rsc_interval=1000000,csum=on,guest_csum=on,guest_tso4=on,"
                  "guest_tso6=on,host_tso4=on,host_tso6=on,mrg_rxbuf=on,"
                  "ctrl_vq=on,ctrl_guest_offloads=on,romfile=,mq=on,"
                  "vectors=6,speed=10000,duplex=full");
    assert_option(argv, "-netdev",
                  "user,id=rig-net2,hostfwd=tcp:127.0.0.1:4000-:5003");
    assert_option(argv, "-pidfile", "/s/c1.pid");
    assert_true(find_arg(argv, "-daemonize") > 0);
    assert_int_equal(fds->len, 6);
    assert_int_equal(g_array_index(fds, int, 2), q1);
    assert_int_equal(g_array_index(fds, int, 4), q2);
    assert_int_equal(g_array_index(fds, int, 5), 5);
}

static void test_session_invalid(void **state)
{
    g_autoptr(RigVmConfig) config = rig_vm_config_new();
    g_autoptr(GArray) fds = NULL;
    g_autoptr(GError) error = NULL;
    RigVmNic *nic = rig_vm_config_add_nic(config, "ctl", -1);

    nic->user = TRUE;
    nic->model = g_strdup("e1000e");
    nic->speed_mbps = 1000;
    assert_null(
        rig_vm_config_build_argv(config, "/q", NULL, NULL, &fds, &error));
    assert_non_null(strstr(error->message, "need virtio-net-pci"));
    g_clear_error(&error);
    nic->speed_mbps = 0;
    config->daemonize = TRUE;
    assert_null(
        rig_vm_config_build_argv(config, "/q", NULL, NULL, &fds, &error));
    assert_non_null(strstr(error->message, "pidfile"));
    g_clear_error(&error);
    assert_null(rig_vm_start(config, &error));
    assert_int_equal(error->code, RIG_VM_ERROR_INVALID_CONFIG);
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
        cmocka_unit_test(test_session_guest),
        cmocka_unit_test(test_session_invalid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
