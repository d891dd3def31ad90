/*
 * The KVM probe on this machine, for real: its verdict must agree with what
 * /dev/kvm and the measured time say, whatever the machine is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "session/kvm.h"

static void test_probe_verdict_matches_machine(void **state)
{
    g_autofree char *reason = NULL;
    double ms = -1;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    SessionKvmVerdict v = session_kvm_probe(&ms, &reason);

    if (fd >= 0) {
        close(fd);
    }
    print_message("# verdict %d, %.1f ms, %s\n", (int)v, ms,
                  reason != NULL ? reason : "KVM is usable");
    switch (v) {
    case SESSION_KVM_OK:
        assert_true(fd >= 0);
        assert_null(reason);
        assert_true(ms > 0 && ms <= SESSION_KVM_PROBE_MAX_MS);
        break;
    case SESSION_KVM_TOO_SLOW:
        assert_true(fd >= 0);
        assert_true(ms > SESSION_KVM_PROBE_MAX_MS);
        assert_non_null(strstr(reason, "too slowly"));
        break;
    case SESSION_KVM_UNAVAILABLE:
        assert_non_null(reason);
        if (fd < 0) {
            assert_non_null(strstr(reason, "/dev/kvm"));
        }
        break;
    default:
        fail_msg("unknown verdict %d", (int)v);
    }
}

static void test_probe_null_outputs(void **state)
{
    /* Both outputs are optional. */
    SessionKvmVerdict v = session_kvm_probe(NULL, NULL);

    assert_true(v == SESSION_KVM_OK || v == SESSION_KVM_TOO_SLOW ||
                v == SESSION_KVM_UNAVAILABLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_verdict_matches_machine),
        cmocka_unit_test(test_probe_null_outputs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
