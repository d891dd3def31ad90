/*
 * Whether KVM is worth using for a session.  A /dev/kvm that opens and
 * creates a vCPU can still be useless: nested virtualisation without
 * hardware help (seen on cloud builders) runs guest code thousands of times
 * slower than TCG, and Windows or even a Linux test guest then never boots.
 * So the probe runs a few instructions for real and times them.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A probe that takes about 1 ms on working KVM; above this it is emulated. */
#define SESSION_KVM_PROBE_MAX_MS 25

typedef enum {
    SESSION_KVM_OK,
    SESSION_KVM_UNAVAILABLE, /* no /dev/kvm, no permission, no vCPU */
    SESSION_KVM_TOO_SLOW,    /* works, but runs guest code far too slowly */
} SessionKvmVerdict;

/**
 * session_kvm_probe:
 * @ret_ms: (out) (optional): how long the probe's guest code ran, in ms
 *     (0 unless it ran); set on every return
 * @ret_reason: (out) (optional) (transfer full): why KVM is not used, set
 *     only when the verdict is not SESSION_KVM_OK
 *
 * Creates a VM with 256 KiB of memory and one vCPU in real mode, runs a
 * 16-bit program that writes 32 pages and loops 65535 times, then halts,
 * and times KVM_RUN.
 *
 * Returns: the verdict.
 */
SessionKvmVerdict session_kvm_probe(double *ret_ms, char **ret_reason);

G_END_DECLS
