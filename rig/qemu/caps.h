/*
 * What a QEMU binary can do for the rig, probed once per binary and run.
 *
 * The rig certifies any QEMU: the rig's own stock and fixed builds, a
 * distribution's binary (Debian 12's 7.2 has no qtest accelerator, no RSC
 * counters), a developer's tree.  Rather than let QEMU stop a run with its
 * own words ("invalid accelerator qtest"), the harness asks the probe first
 * and skips, naming the capability, whatever the binary cannot do.
 *
 * The probe starts the binary once, paused (-S, so no firmware runs), with
 * one virtio-net-pci and no backend, and asks over QMP:
 *   version                  query-version
 *   accel-qtest              qom-list-types implements=accel has
 *                            "qtest-accel"
 *   rsc-ext                  the device has the guest_rsc_ext property
 *   rsc-stats                the device has the rsc-stats property
 *   rsc-trace                trace-event-get-state virtio_net_rsc_* lists
 *                            at least one event
 *   rsc-interval-writable    qom-set rsc_interval on the running device
 *                            succeeds and qom-get reads the value back
 * Results are cached in-process, keyed by the binary's canonical path and
 * its inode, size and modification time.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define RIG_QEMU_CAPS_ERROR (rig_qemu_caps_error_quark())

typedef enum {
    RIG_QEMU_CAPS_ERROR_FAILED, /* the binary did not start or answer */
} RigQemuCapsError;

typedef enum {
    RIG_QEMU_CAP_ACCEL_QTEST,
    RIG_QEMU_CAP_RSC_EXT,
    RIG_QEMU_CAP_RSC_STATS,
    RIG_QEMU_CAP_RSC_TRACE,
    RIG_QEMU_CAP_RSC_INTERVAL_WRITABLE,
    RIG_QEMU_N_CAPS,
} RigQemuCap;

typedef struct {
    char *qemu;    /* the path as given */
    char *version; /* "7.2.22" (query-version) */
    char *package; /* "Debian 1:7.2+dfsg-7+deb12u18+b3"; "" if none */
    gboolean has[RIG_QEMU_N_CAPS];
    char **trace_events;   /* the virtio_net_rsc_* events, NULL-terminated */
    char *interval_detail; /* why rsc-interval-writable is missing, or NULL */
    double probe_s;        /* how long the probe took */
} RigQemuCaps;

/**
 * rig_qemu_caps_error_quark:
 *
 * Returns: the GQuark of the RIG_QEMU_CAPS_ERROR domain.
 */
GQuark rig_qemu_caps_error_quark(void);

/**
 * rig_qemu_cap_name:
 * @cap: a capability
 *
 * Returns: (transfer none): its stable name ("accel-qtest", "rsc-stats",
 *   ...), used in JSON, skip reasons and the compatibility matrix.
 */
const char *rig_qemu_cap_name(RigQemuCap cap);

/**
 * rig_qemu_cap_description:
 * @cap: a capability
 *
 * Returns: (transfer none): what it is, in a few words, e.g. "the qtest
 *   accelerator (-accel qtest)".
 */
const char *rig_qemu_cap_description(RigQemuCap cap);

/**
 * rig_qemu_caps_probe:
 * @qemu: path of a QEMU binary
 * @error: return location; RIG_QEMU_CAPS_ERROR_FAILED names the binary and
 *   quotes why it did not start (or RIG_VM_ERROR_QEMU_MISSING from the
 *   launcher)
 *
 * Probes @qemu, or returns the result cached for the same file.  Missing
 * capabilities are results, not errors.  Thread-safe.
 *
 * Returns: (transfer none): the capabilities, valid for the rest of the
 *   process; or NULL.
 */
const RigQemuCaps *rig_qemu_caps_probe(const char *qemu, GError **error);

/**
 * rig_qemu_caps_missing:
 * @caps: a probe result
 * @cap: the capability a check or mode needs
 *
 * Returns: (transfer full) (nullable): NULL when @caps has @cap, else a
 *   sentence for a skip reason: "needs rsc-stats (QEMU's RSC counters over
 *   QMP), which QEMU 7.2.22 (/usr/bin/qemu-system-x86_64) lacks"
 */
char *rig_qemu_caps_missing(const RigQemuCaps *caps, RigQemuCap cap);

/**
 * rig_qemu_caps_to_json:
 * @caps: a probe result
 *
 * Returns: (transfer full): {"qemu", "version", "package", "capabilities":
 *   {"accel-qtest": true, ...}, "missing": ["..."], "trace_events": [...],
 *   "probe_s"} (json_node_unref).
 */
JsonNode *rig_qemu_caps_to_json(const RigQemuCaps *caps);

/*
 * Interpreting QMP replies; exposed for unit tests.  Each takes the
 * "return" value of the command.
 */

/**
 * rig_qemu_caps_parse_accels:
 * @types: the reply of qom-list-types implements=accel
 *
 * Returns: TRUE when the list has "qtest-accel".
 */
gboolean rig_qemu_caps_parse_accels(JsonNode *types);

/**
 * rig_qemu_caps_parse_trace_events:
 * @events: the reply of trace-event-get-state name=virtio_net_rsc_*
 *
 * Returns: (transfer full): the event names, sorted, NULL-terminated
 *   (g_strfreev); an empty vector for a reply that is not a list.
 */
char **rig_qemu_caps_parse_trace_events(JsonNode *events);

/**
 * rig_qemu_caps_parse_version:
 * @version: the reply of query-version
 * @ret_package: (out) (transfer full): the "package" string, "" if absent;
 *   set only on success
 *
 * Returns: (transfer full) (nullable): "MAJOR.MINOR.MICRO", or NULL for a
 *   malformed reply.
 */
char *rig_qemu_caps_parse_version(JsonNode *version, char **ret_package);

G_END_DECLS
