/*
 * rig-guest, the debugging CLI: what its parts (main, --script, --bench)
 * share.  Not a library API.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "guest/guest-net.h"
#include "guest/qtest.h"
#include "qemu/netns.h"
#include "qemu/vm.h"
#include "trafgen/transport.h"

#define EXIT_CHECK_FAILED 1
#define EXIT_CANNOT_RUN   2
#define NIC_ID            "net0"
#define TAP_NAME          "rgtap0"

typedef struct {
    char *qemu;
    char *attach;
    char *profile;
    char *clock;
    char *accel;
    gint count;
    gdouble timeout_s;
    gboolean json;
    gboolean script;
    gdouble bench_s;
    gint64 rsc_interval;
    gboolean no_rsc_ext;
    gint rx_queue_size;
    gint rx_buffers;
    gint mrg_buf_size;
    gint memory_mib;
    gboolean keep_data;
    gboolean skip_offloads;
    char *ram_access;
    gint bench_flows;
    gboolean bench_tcp;
} Options;

typedef struct {
    Options *opt;
    RigNetns *netns;            /* NULL when attached */
    RigVm *vm;                  /* NULL when attached */
    TrafgenTransport *injector; /* the tap's host side (bench) */
    RigQtest *qtest;
    RigGuestNet *net;
    RigGuestClockMode clock;
    gboolean shared_ram; /* guest RAM through the launcher's mapping */
} Session;

/**
 * rig_guest_cli_print_json:
 * @node: printed on one line of stdout, flushed (borrowed)
 */
void rig_guest_cli_print_json(JsonNode *node);

/**
 * rig_guest_cli_run_script:
 * @s: a started session (borrowed)
 *
 * Reads commands from stdin until EOF or "quit"; one JSON reply per line.
 *
 * Returns: the exit status.
 */
int rig_guest_cli_run_script(Session *s);

/**
 * rig_guest_cli_run_bench:
 * @s: a session that started QEMU (borrowed)
 *
 * Injects UDP frames on the tap for --bench seconds and prints the
 * harvest rate.
 *
 * Returns: the exit status.
 */
int rig_guest_cli_run_bench(Session *s);
