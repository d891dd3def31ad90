/*
 * Internals of `rig run` shared by run-env.c and run-scenario.c: the
 * components of one profile's environment.
 */
#pragma once

#include "guest/guest-net.h"
#include "harness/run-trace.h"
#include "harness/run.h"
#include "qemu/caps.h"
#include "qemu/netns.h"
#include "qemu/rsc-stats.h"
#include "qemu/vm.h"
#include "trafgen/transport.h"

struct RunEnv {
    const Profile *profile;
    const RunOptions *options;
    QemuBuild *build;    /* borrowed: the QEMU this profile runs on */
    RunTrace *trace_log; /* --trace; NULL otherwise */
    /* What the "spec" oracle models: on the fixed build the fixes its
     * record lists (all when it lists none), else every fix. */
    guint spec_fixes;
    RigNetns *netns;
    RigVm *vm;
    RigQtest *qtest;
    RigGuestNet *guest;
    TrafgenTransport *injector; /* AF_PACKET on the tap's host side */
    guint8 guest_mac[6];
    gboolean rsc_ipv4; /* negotiated: what the oracle is configured with */
    gboolean rsc_ipv6;
    gboolean mrg_rxbuf;
    const RigQemuCaps *caps; /* what the QEMU can do (probed once) */
    /* The clock scenarios run on: the profile's, or realtime when clock =
     * qtest but the QEMU has no qtest accelerator (clock_fallback then
     * says so, naming the capability). */
    ProfileClock clock;
    char *clock_fallback;
};

/**
 * run_env_read_stats:
 * @env: an environment
 * @ret_stats: (out): the device's RSC counters; set only on success
 * @error: return location; RIG_QMP_ERROR_NOT_SUPPORTED on a stock QEMU
 *
 * Returns: TRUE on success
 */
gboolean run_env_read_stats(RunEnv *env, RigRscStats *ret_stats,
                            GError **error);

/**
 * run_env_tap_name:
 *
 * Returns: (transfer none): the tap's name inside the namespace
 */
const char *run_env_tap_name(void);

/**
 * run_env_nic_id:
 *
 * Returns: (transfer none): the -device id= of the virtio-net NIC
 */
const char *run_env_nic_id(void);
