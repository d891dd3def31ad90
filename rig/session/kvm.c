/*
 * KVM probe: see session-kvm.h.
 */
#include "session/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PROBE_MEM_SIZE  (256 * 1024)
#define PROBE_CODE_ADDR 0x1000

/*
 * Real-mode program at 0x1000: zero 0x10000..0x2ffff (32 pages, so that the
 * second-level page faults are in the time), count CX down from 0xffff,
 * halt.
 */
static const guint8 PROBE_CODE[] = {
    0xba, 0x00, 0x10,       /* mov dx, 0x1000 */
    0x8e, 0xc2,             /* next: mov es, dx */
    0x31, 0xff,             /* xor di, di */
    0xb9, 0x00, 0x80,       /* mov cx, 0x8000 */
    0x31, 0xc0,             /* xor ax, ax */
    0xf3, 0xab,             /* rep stosw: 64 KiB */
    0x81, 0xc2, 0x00, 0x10, /* add dx, 0x1000 */
    0x81, 0xfa, 0x00, 0x30, /* cmp dx, 0x3000 */
    0x75, 0xeb,             /* jne next */
    0xb9, 0xff, 0xff,       /* mov cx, 0xffff */
    0xe2, 0xfe,             /* loop $ */
    0xf4,                   /* hlt */
};

typedef struct {
    int kvm;
    int vm;
    int vcpu;
    guint8 *mem;
    struct kvm_run *run;
    int run_size;
} Probe;

static void probe_close(Probe *p)
{
    if (p->run != NULL) {
        munmap(p->run, (size_t)p->run_size);
    }
    if (p->mem != NULL) {
        munmap(p->mem, PROBE_MEM_SIZE);
    }
    if (p->vcpu >= 0) {
        close(p->vcpu);
    }
    if (p->vm >= 0) {
        close(p->vm);
    }
    if (p->kvm >= 0) {
        close(p->kvm);
    }
}

/* Sets up the VM; returns the failed step, or NULL (errno kept). */
static const char *probe_setup(Probe *p)
{
    struct kvm_userspace_memory_region region = {0};
    struct kvm_sregs sregs;
    struct kvm_regs regs = {0};
    void *mem;
    void *run;

    p->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (p->kvm < 0) {
        return "cannot open /dev/kvm";
    }
    if (ioctl(p->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
        errno = 0;
        return "unexpected KVM API version";
    }
    p->vm = ioctl(p->kvm, KVM_CREATE_VM, 0);
    if (p->vm < 0) {
        return "KVM_CREATE_VM failed";
    }
    mem = mmap(NULL, PROBE_MEM_SIZE, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        return "cannot map the probe's guest memory";
    }
    p->mem = mem;
    memcpy(p->mem + PROBE_CODE_ADDR, PROBE_CODE, sizeof(PROBE_CODE));
    region.memory_size = PROBE_MEM_SIZE;
    region.userspace_addr = (guint64)(guintptr)p->mem;
    if (ioctl(p->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        return "KVM_SET_USER_MEMORY_REGION failed";
    }
    p->vcpu = ioctl(p->vm, KVM_CREATE_VCPU, 0);
    if (p->vcpu < 0) {
        return "KVM_CREATE_VCPU failed";
    }
    p->run_size = ioctl(p->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (p->run_size <= 0) {
        return "KVM_GET_VCPU_MMAP_SIZE failed";
    }
    run = mmap(NULL, (size_t)p->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
               p->vcpu, 0);
    if (run == MAP_FAILED) {
        return "cannot map the vCPU's kvm_run";
    }
    p->run = run;
    if (ioctl(p->vcpu, KVM_GET_SREGS, &sregs) < 0) {
        return "KVM_GET_SREGS failed";
    }
    /* Reset state is real mode at f000:fff0; start at 0000:1000 instead. */
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(p->vcpu, KVM_SET_SREGS, &sregs) < 0) {
        return "KVM_SET_SREGS failed";
    }
    regs.rip = PROBE_CODE_ADDR;
    regs.rflags = 0x2; /* bit 1 is reserved and must be set */
    if (ioctl(p->vcpu, KVM_SET_REGS, &regs) < 0) {
        return "KVM_SET_REGS failed";
    }
    return NULL;
}

SessionKvmVerdict session_kvm_probe(double *ret_ms, char **ret_reason)
{
    Probe p = {.kvm = -1, .vm = -1, .vcpu = -1};
    const char *step = probe_setup(&p);
    SessionKvmVerdict verdict = SESSION_KVM_OK;
    g_autofree char *reason = NULL;
    double ms = 0;

    if (step != NULL) {
        int err = errno;

        verdict = SESSION_KVM_UNAVAILABLE;
        reason = err != 0 ? g_strdup_printf("%s: %s", step, g_strerror(err))
                          : g_strdup(step);
    } else {
        gint64 start = g_get_monotonic_time();
        int r;

        do {
            r = ioctl(p.vcpu, KVM_RUN, 0);
        } while (r < 0 && errno == EINTR);
        ms = (double)(g_get_monotonic_time() - start) / 1000.0;
        if (r < 0) {
            verdict = SESSION_KVM_UNAVAILABLE;
            reason = g_strdup_printf("KVM_RUN failed: %s", g_strerror(errno));
        } else if (p.run->exit_reason != KVM_EXIT_HLT) {
            verdict = SESSION_KVM_UNAVAILABLE;
            reason = g_strdup_printf("the probe's vCPU stopped with exit "
                                     "reason %u instead of halting",
                                     p.run->exit_reason);
        } else if (ms > SESSION_KVM_PROBE_MAX_MS) {
            verdict = SESSION_KVM_TOO_SLOW;
            reason = g_strdup_printf(
                "KVM runs guest code far too slowly here: %.0f ms for a probe "
                "that takes about 1 ms on working KVM (limit %d ms; nested "
                "virtualisation without hardware support?)",
                ms, SESSION_KVM_PROBE_MAX_MS);
        }
    }
    probe_close(&p);
    if (ret_ms != NULL) {
        *ret_ms = ms;
    }
    if (ret_reason != NULL && reason != NULL) {
        *ret_reason = g_steal_pointer(&reason);
    }
    return verdict;
}
