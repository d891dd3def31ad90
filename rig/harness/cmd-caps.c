/*
 * `rig caps`: what a QEMU binary can do for the rig (rig/qemu/caps.h), as
 * a table or as JSON, so that a user learns before a run which checks will
 * be skipped on it and why.
 */
#include <stdio.h>

#include <glib.h>

#include "harness/commands.h"
#include "harness/qemu-build.h"
#include "qemu/caps.h"

static void print_table(const RigQemuCaps *caps)
{
    printf("QEMU %s%s%s%s (%s), probed in %.2f s\n", caps->version,
           caps->package[0] ? " (" : "", caps->package,
           caps->package[0] ? ")" : "", caps->qemu, caps->probe_s);
    for (guint i = 0; i < RIG_QEMU_N_CAPS; i++) {
        printf("  %-22s %-3s  %s\n", rig_qemu_cap_name(i),
               caps->has[i] ? "yes" : "no", rig_qemu_cap_description(i));
    }
    if (caps->trace_events[0]) {
        g_autofree char *events = g_strjoinv(" ", caps->trace_events);

        printf("  trace events: %s\n", events);
    }
    if (caps->interval_detail) {
        printf("  rsc_interval: %s\n", caps->interval_detail);
    }
    if (!caps->has[RIG_QEMU_CAP_ACCEL_QTEST]) {
        printf("Profiles with clock = qtest run on the real-time clock here, "
               "with their timing-exact checks skipped.\n");
    }
}

int rig_cmd_caps(int argc, char **argv)
{
    g_autofree char *qemu = NULL;
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        {"qemu", 0, 0, G_OPTION_ARG_FILENAME, &qemu,
         "QEMU to probe: fixed (default), stock or a path", "fixed|stock|PATH"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json,
         "Print the probe as JSON (the form rig run records)", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- show what a QEMU binary can do for the rig");
    g_autoptr(GError) error = NULL;
    QemuBuild *build;
    const RigQemuCaps *caps;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Starts the binary once, paused, with one virtio-net-pci, and "
             "asks over QMP for:\n"
             "  accel-qtest            -accel qtest (the deterministic "
             "clock)\n"
             "  rsc-ext                RSC in virtio-net (guest_rsc_ext)\n"
             "  rsc-stats              RSC counters (rsc-stats property)\n"
             "  rsc-trace              virtio_net_rsc_* trace events\n"
             "  rsc-interval-writable  qom-set rsc_interval on a running "
             "VM\n"
             "Checks that need a missing capability are skipped by rig run, "
             "naming it.\n"
             "\n"
             "Exit status: 0 probed, 2 the binary could not be probed.\n");
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        g_printerr("rig caps: %s (see rig caps --help)\n", error->message);
        return RIG_EXIT_CANNOT_RUN;
    }
    if (argc > 1) {
        g_printerr("rig caps: unexpected argument '%s' (see rig caps "
                   "--help)\n",
                   argv[1]);
        return RIG_EXIT_CANNOT_RUN;
    }
    build = qemu_build_resolve(qemu, &error);
    if (!build) {
        g_printerr("rig caps: %s\n", error->message);
        return RIG_EXIT_CANNOT_RUN;
    }
    caps = rig_qemu_caps_probe(build->path, &error);
    qemu_build_free(build);
    if (!caps) {
        g_printerr("rig caps: %s\n", error->message);
        return RIG_EXIT_CANNOT_RUN;
    }
    if (json) {
        g_autoptr(JsonNode) node = rig_qemu_caps_to_json(caps);
        g_autofree char *text = json_to_string(node, TRUE);

        printf("%s\n", text);
    } else {
        print_table(caps);
    }
    return RIG_EXIT_OK;
}
