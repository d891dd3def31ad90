/*
 * Session profile loading and validation: defaults, overrides, and errors
 * that name the file, group and key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "session/profile.h"

/* Loads @ini expecting failure; checks the message contains @needle. */
static void expect_error(const char *ini, const char *needle)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SessionProfile) p =
        session_profile_load_data(ini, "bad.ini", &error);

    assert_null(p);
    assert_non_null(error);
    if (strstr(error->message, needle) == NULL) {
        fail_msg("\"%s\" does not contain \"%s\"", error->message, needle);
    }
}

static void test_defaults(void **state)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SessionProfile) p =
        session_profile_load_data("", "e.ini", &error);
    SessionVmSpec *c1;
    SessionVmSpec *c2;

    assert_non_null(p);
    assert_int_equal(p->clients, 2);
    assert_int_equal(p->vms->len, 3);
    assert_string_equal(p->machine, "q35");
    assert_null(p->cpu_model); /* auto: host under KVM, max under TCG */
    assert_int_equal(p->firmware, SESSION_FIRMWARE_SEABIOS);
    assert_int_equal(p->accel, SESSION_ACCEL_AUTO);
    assert_int_equal(p->disk_mode, SESSION_DISK_SNAPSHOT);
    assert_true(p->netns);
    assert_null(p->host_bridge);
    assert_string_equal(p->control_nic, "e1000e");
    assert_string_equal(p->test_nic, "virtio-net-pci");
    assert_true(p->guest_rsc_ext);
    assert_int_equal(p->rsc_interval_ns, 300000);
    assert_false(p->world);
    c1 = session_profile_find_vm(p, "client1");
    c2 = session_profile_find_vm(p, "client2");
    assert_non_null(session_profile_find_vm(p, "studio"));
    assert_null(session_profile_find_vm(p, "client3"));
    assert_int_equal(c1->cpus, 2);
    assert_int_equal(c1->memory_mib, 2048);
    assert_int_not_equal(c1->test_mac[5], c2->test_mac[5]);
}

static void test_overrides(void **state)
{
    static const char ini[] =
        "[session]\nclients = 3\nmemory = 512\nfirmware = ovmf\n"
        "accel = tcg\ncpu = qemu64\ndisk_mode = overlay\nkernel = /k\n"
        "append = quiet\n"
        "[studio]\nmemory = 4096\ncpus = 4\n"
        "[client3]\ntest_mac = 52:54:00:aa:bb:09\n"
        "[test]\nrsc_interval = 1000000\ndevice_options = mq=off\n"
        "[world]\nenabled = yes\nforwards = 3389, 15985:5985\n";
    g_autoptr(GError) error = NULL;
    g_autoptr(SessionProfile) p =
        session_profile_load_data(ini, "o.ini", &error);
    SessionVmSpec *st;
    SessionVmSpec *c3;
    SessionForward *f;

    assert_non_null(p);
    assert_int_equal(p->vms->len, 4);
    st = session_profile_find_vm(p, "studio");
    c3 = session_profile_find_vm(p, "client3");
    assert_int_equal(st->memory_mib, 4096);
    assert_int_equal(st->cpus, 4);
    assert_int_equal(c3->memory_mib, 512);
    assert_string_equal(c3->kernel, "/k");
    assert_string_equal(c3->append, "quiet");
    assert_true(c3->test_mac_set);
    assert_int_equal(c3->test_mac[5], 9);
    assert_int_equal(p->firmware, SESSION_FIRMWARE_OVMF);
    assert_int_equal(p->accel, SESSION_ACCEL_TCG);
    assert_string_equal(p->cpu_model, "qemu64");
    assert_int_equal(p->disk_mode, SESSION_DISK_OVERLAY);
    assert_int_equal(p->rsc_interval_ns, 1000000);
    assert_string_equal(p->test_device_options, "mq=off");
    assert_true(p->world);
    assert_int_equal(p->forwards->len, 2);
    f = &g_array_index(p->forwards, SessionForward, 0);
    assert_int_equal(f->host_port, 0);
    assert_int_equal(f->guest_port, 3389);
    f = &g_array_index(p->forwards, SessionForward, 1);
    assert_int_equal(f->host_port, 15985);
    assert_int_equal(f->guest_port, 5985);
}

static void test_errors_name_file_group_key(void **state)
{
    expect_error("[session]\nclients = 0\n", "bad.ini: [session] clients:");
    expect_error("[session]\nclients = 9\n", "[session] clients");
    expect_error("[session]\nfirmware = uefi\n",
                 "bad.ini: [session] firmware: \"uefi\" is not one of");
    expect_error("[session]\nnetns = maybe\n", "[session] netns");
    expect_error("[session]\nbogus = 1\n", "[session] bogus: unknown key");
    expect_error("[studio]\nmemory = lots\n", "[studio] memory");
    expect_error("[studio]\ntest_mac = 52:54:00:00:00:01\n",
                 "[studio] test_mac: unknown key");
    expect_error("[client3]\ncpus = 1\n", "bad.ini: [client3]: the profile "
                                          "has only 2 client(s)");
    expect_error("[lab]\nx = 1\n", "bad.ini: [lab]: unknown group");
    expect_error("[test]\nrsc_interval = 0\n", "[test] rsc_interval");
    expect_error("[world]\nforwards = 3389\n",
                 "[world] forwards: port forwards need");
    expect_error("[world]\nenabled = true\nforwards = rdp\n",
                 "[world] forwards: \"rdp\"");
    expect_error("[client1]\ntest_mac = 53:54:00:00:00:01\n",
                 "[client1] test_mac: \"53:54:00:00:00:01\" is not a unicast");
    expect_error("[client1]\ninitrd = /i\n", "[client1] initrd: needs kernel");
    expect_error("not an ini", "bad.ini");
    /* issue 11 item 8: duplicates were merged silently */
    expect_error("[client1]\ncpus = 1\n[client2]\n[client1]\ncpus = 2\n",
                 "bad.ini: [client1]: the group appears twice (lines 1 and 4)");
    expect_error("[test]\nrsc_interval = 1000\nrsc_interval = 2000\n",
                 "bad.ini: [test] rsc_interval: given twice (lines 2 and 3)");
}

static void test_same_last_mac_byte_refused(void **state)
{
    /* client1 forced to end in 02, which client2 gets by default. */
    expect_error("[client1]\ntest_mac = 52:54:00:12:34:02\n",
                 "[client1] test_mac: the test NICs of client1 and client2 "
                 "end in the same byte (02)");
    expect_error("[client1]\ntest_mac = 52:54:00:00:00:07\n"
                 "[client2]\ntest_mac = 52:54:00:00:01:07\n",
                 "169.254.1.<last MAC byte>");
}

static void test_mac_helpers(void **state)
{
    guint8 mac[6];
    g_autofree char *text = NULL;

    session_mac_for(12, 2, 1, mac);
    text = session_mac_format(mac);
    assert_string_equal(text, "52:54:00:0c:02:01");
}

static void test_load_missing_file(void **state)
{
    g_autoptr(GError) error = NULL;

    assert_null(session_profile_load("/nonexistent/studio.ini", &error));
    assert_true(g_error_matches(error, SESSION_PROFILE_ERROR,
                                SESSION_PROFILE_ERROR_IO));
}

/* The per-client options HCK labs use, and the test taps' offload. */
static void test_client_options(void **state)
{
    static const char ini[] =
        "[session]\ntrace_events = virtio_net_rsc_*\n"
        "[test]\ntap_tx_offload = true\n"
        "[client1]\nqueues = 4\nlink_speed = 10000\nextra_nic = e1000e\n"
        "world = true\ntrace_events = virtio_set_status, virtio_notify\n";
    g_autoptr(GError) error = NULL;
    g_autoptr(SessionProfile) p =
        session_profile_load_data(ini, "c.ini", &error);
    SessionVmSpec *c1;
    SessionVmSpec *c2;
    SessionVmSpec *st;

    assert_non_null(p);
    assert_true(p->test_tap_tx_offload);
    c1 = session_profile_find_vm(p, "client1");
    c2 = session_profile_find_vm(p, "client2");
    st = session_profile_find_vm(p, "studio");
    assert_int_equal(c1->queues, 4);
    assert_int_equal(c1->link_speed, 10000);
    assert_string_equal(c1->extra_nic, "e1000e");
    assert_true(c1->world);
    assert_int_equal(g_strv_length(c1->trace_events), 2);
    assert_string_equal(c1->trace_events[1], "virtio_notify");
    /* [session] sets the default of every VM. */
    assert_string_equal(c2->trace_events[0], "virtio_net_rsc_*");
    assert_string_equal(st->trace_events[0], "virtio_net_rsc_*");
    assert_int_equal(c2->queues, 1);
    assert_null(c2->extra_nic);
    assert_false(c2->world);

    expect_error("[client1]\nqueues = 17\n", "bad.ini: [client1] queues:");
    expect_error("[client1]\nqueues = 0\n", "[client1] queues:");
    expect_error("[studio]\nqueues = 2\n", "[studio] queues: unknown key");
    expect_error("[client1]\ntrace_events = a;b\n",
                 "[client1] trace_events: \"a;b\" is not a trace event");
    expect_error("[test]\ntap_tx_offload = sometimes\n",
                 "[test] tap_tx_offload");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_errors_name_file_group_key),
        cmocka_unit_test(test_same_last_mac_byte_refused),
        cmocka_unit_test(test_mac_helpers),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_client_options),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
