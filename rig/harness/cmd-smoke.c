/*
 * `rig smoke`: the shortest end-to-end proof that the rig can run QEMU the
 * way certification needs it: patched QEMU, virtio-net-pci with
 * guest_rsc_ext=on on a vnet_hdr tap in a private network namespace, and
 * QEMU's RSC properties readable over QMP.  No guest is needed: -accel
 * qtest runs no vCPU, and the rig holds the qtest socket.
 */
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness/commands.h"
#include "qemu/caps.h"
#include "qemu/netns.h"
#include "qemu/rsc-stats.h"
#include "qemu/vm.h"
#include "rig-config.h"

#define SMOKE_DEVICE_ID      "net0"
#define SMOKE_TAP            "rigtap0"
#define SMOKE_MAC            "52:54:00:12:34:01"
#define SMOKE_RSC_INTERVAL   300000
#define SMOKE_LOG_TAIL_LINES 20

typedef struct {
    /* options */
    char *qemu;
    gint64 rsc_interval;
    int hold_seconds;
    gboolean json;
    /* state */
    int signal;           /* SIGINT/SIGTERM received, 0 otherwise */
    gboolean qemu_exited; /* QEMU ended during the hold */
    GMainLoop *loop;
    guint hold_timer; /* 0 once it fired or was removed */
    RigNetns *netns;
    RigVm *vm;
    /* results */
    guint64 interval;
    gboolean have_interval;
    RigRscStats stats;
    gboolean have_stats;
    char *stats_path;
    char *stats_error;
    GPtrArray *problems; /* char *: why the check failed */
} Smoke;

/* A signal source's user data: which signal, and for whom. */
typedef struct {
    Smoke *smoke;
    int signum;
} SignalWatch;

G_GNUC_PRINTF(1, 2)
static void progress(const char *format, ...)
{
    va_list args;

    va_start(args, format);
    g_autofree char *text = g_strdup_vprintf(format, args);
    va_end(args);
    fprintf(stderr, "rig smoke: %s\n", text);
}

static gboolean on_signal(gpointer user_data)
{
    SignalWatch *watch = user_data;

    /* The first signal wins; the source stays so that more are absorbed. */
    if (watch->smoke->signal == 0) {
        watch->smoke->signal = watch->signum;
        progress("%s received: shutting down and cleaning up",
                 watch->signum == SIGINT ? "SIGINT" : "SIGTERM");
    }
    if (watch->smoke->loop != NULL) {
        g_main_loop_quit(watch->smoke->loop);
    }
    return G_SOURCE_CONTINUE;
}

/* Runs pending signal sources between blocking steps. */
static gboolean interrupted(Smoke *smoke)
{
    while (g_main_context_iteration(NULL, FALSE)) {
    }
    return smoke->signal != 0;
}

static void on_qemu_exit(GObject *source, GAsyncResult *result,
                         gpointer user_data)
{
    g_autoptr(GError) error = NULL;

    /* Cancelled at the end of the hold: @user_data may be gone. */
    if (!g_subprocess_wait_finish(G_SUBPROCESS(source), result, &error) &&
        g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        return;
    }
    Smoke *smoke = user_data;
    smoke->qemu_exited = TRUE;
    g_main_loop_quit(smoke->loop);
}

static gboolean on_hold_over(gpointer user_data)
{
    Smoke *smoke = user_data;

    smoke->hold_timer = 0;
    g_main_loop_quit(smoke->loop);
    return G_SOURCE_REMOVE;
}

static gboolean start(Smoke *smoke, GError **error)
{
    g_autoptr(RigVmConfig) config = rig_vm_config_new();
    const RigQemuCaps *caps;
    int tap_fd = -1;

    caps = rig_qemu_caps_probe(smoke->qemu, error);
    if (caps == NULL) {
        return FALSE;
    }
    if (!caps->has[RIG_QEMU_CAP_ACCEL_QTEST]) {
        /* Smoke needs no virtual clock: a halted vCPU keeps firmware off
         * the device just as well. */
        progress("QEMU %s has no qtest accelerator (-accel qtest): using "
                 "TCG with a vCPU halted at reset",
                 caps->version);
        g_free(config->accel);
        config->accel = g_strdup("tcg");
        config->halt_firmware = TRUE;
    }
    progress("creating a network namespace with tap %s", SMOKE_TAP);
    smoke->netns = rig_netns_new(error);
    if (smoke->netns == NULL) {
        return FALSE;
    }
    if (!rig_netns_add_tap(smoke->netns, SMOKE_TAP, &tap_fd, error)) {
        return FALSE;
    }
    g_free(config->qemu);
    config->qemu = g_strdup(smoke->qemu);
    config->qtest = TRUE;
    RigVmNic *nic = rig_vm_config_add_nic(config, SMOKE_DEVICE_ID, tap_fd);
    nic->rsc_interval_ns = smoke->rsc_interval;
    nic->mac = g_strdup(SMOKE_MAC);
    progress("starting %s in netns %s", smoke->qemu,
             rig_netns_get_name(smoke->netns));
    smoke->vm = rig_vm_start(config, error);
    /* @config closes the rig's copy of the tap: QEMU holds the only one. */
    return smoke->vm != NULL;
}

G_GNUC_PRINTF(2, 3)
static void add_problem(Smoke *smoke, const char *format, ...)
{
    va_list args;

    va_start(args, format);
    g_ptr_array_add(smoke->problems, g_strdup_vprintf(format, args));
    va_end(args);
}

/* Reads the properties; FALSE (error set) only when QMP itself failed. */
static gboolean check(Smoke *smoke, GError **error)
{
    RigQmp *qmp = rig_vm_get_qmp(smoke->vm);
    g_autoptr(GError) local_error = NULL;

    if (rig_qmp_read_rsc_interval(qmp, SMOKE_DEVICE_ID, &smoke->interval,
                                  &local_error)) {
        smoke->have_interval = TRUE;
        if (smoke->interval != (guint64)smoke->rsc_interval) {
            add_problem(smoke,
                        "rsc_interval is %" G_GUINT64_FORMAT
                        " ns, %" G_GINT64_FORMAT " was requested",
                        smoke->interval, smoke->rsc_interval);
        }
    } else if (g_error_matches(local_error, RIG_QMP_ERROR,
                               RIG_QMP_ERROR_NOT_SUPPORTED)) {
        add_problem(smoke, "%s", local_error->message);
        g_clear_error(&local_error);
    } else {
        g_propagate_error(error, g_steal_pointer(&local_error));
        return FALSE;
    }

    if (rig_qmp_read_rsc_stats(qmp, SMOKE_DEVICE_ID, &smoke->stats,
                               &smoke->stats_path, &local_error)) {
        smoke->have_stats = TRUE;
    } else if (g_error_matches(local_error, RIG_QMP_ERROR,
                               RIG_QMP_ERROR_NOT_SUPPORTED) ||
               g_error_matches(local_error, RIG_QMP_ERROR,
                               RIG_QMP_ERROR_INVALID_REPLY)) {
        /* Stock QEMU: the device view is "unavailable". */
        smoke->stats_error = g_strdup(local_error->message);
        add_problem(smoke,
                    "rsc-stats unavailable: %s (is this QEMU built "
                    "by ci/build-qemu with the rig's patches?)",
                    local_error->message);
    } else {
        g_propagate_error(error, g_steal_pointer(&local_error));
        return FALSE;
    }
    return TRUE;
}

static JsonNode *result_to_json(Smoke *smoke, const char *verdict,
                                const char *error_text)
{
    g_autoptr(JsonBuilder) builder = json_builder_new();

    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "verdict");
    json_builder_add_string_value(builder, verdict);
    if (error_text != NULL) {
        json_builder_set_member_name(builder, "error");
        json_builder_add_string_value(builder, error_text);
    }
    json_builder_set_member_name(builder, "qemu");
    json_builder_add_string_value(builder, smoke->qemu);
    if (smoke->vm != NULL) {
        json_builder_set_member_name(builder, "qemu_pid");
        json_builder_add_int_value(builder, rig_vm_get_pid(smoke->vm));
    }
    if (smoke->netns != NULL) {
        json_builder_set_member_name(builder, "netns");
        json_builder_add_string_value(builder,
                                      rig_netns_get_name(smoke->netns));
        json_builder_set_member_name(builder, "tap");
        json_builder_add_string_value(builder, SMOKE_TAP);
    }
    json_builder_set_member_name(builder, "device");
    json_builder_add_string_value(builder, SMOKE_DEVICE_ID);
    json_builder_set_member_name(builder, "rsc_interval_requested");
    json_builder_add_int_value(builder, smoke->rsc_interval);
    json_builder_set_member_name(builder, "rsc_interval");
    if (smoke->have_interval) {
        json_builder_add_int_value(builder, (gint64)smoke->interval);
    } else {
        json_builder_add_null_value(builder);
    }
    json_builder_set_member_name(builder, "rsc_stats");
    if (smoke->have_stats) {
        json_builder_add_value(builder, rig_rsc_stats_to_json(&smoke->stats));
        json_builder_set_member_name(builder, "rsc_stats_path");
        json_builder_add_string_value(builder, smoke->stats_path);
    } else {
        json_builder_add_null_value(builder);
    }
    if (smoke->stats_error != NULL) {
        json_builder_set_member_name(builder, "rsc_stats_error");
        json_builder_add_string_value(builder, smoke->stats_error);
    }
    json_builder_set_member_name(builder, "problems");
    json_builder_begin_array(builder);
    for (guint i = 0; i < smoke->problems->len; i++) {
        json_builder_add_string_value(builder,
                                      g_ptr_array_index(smoke->problems, i));
    }
    json_builder_end_array(builder);
    json_builder_end_object(builder);
    return json_builder_get_root(builder);
}

static void print_json(Smoke *smoke, const char *verdict,
                       const char *error_text)
{
    g_autoptr(JsonNode) root = result_to_json(smoke, verdict, error_text);
    g_autoptr(JsonGenerator) generator = json_generator_new();

    json_generator_set_root(generator, root);
    g_autofree char *text = json_generator_to_data(generator, NULL);
    printf("%s\n", text);
    fflush(stdout);
}

static void print_human(Smoke *smoke, const char *verdict)
{
    printf("QEMU:          %s (pid %d)\n", smoke->qemu,
           (int)rig_vm_get_pid(smoke->vm));
    printf("netns / tap:   %s / %s\n", rig_netns_get_name(smoke->netns),
           SMOKE_TAP);
    if (smoke->have_interval) {
        printf("rsc_interval:  %" G_GUINT64_FORMAT
               " ns (requested %" G_GINT64_FORMAT ")\n",
               smoke->interval, smoke->rsc_interval);
    } else {
        printf("rsc_interval:  unavailable\n");
    }
    if (smoke->have_stats) {
        printf("rsc-stats:     %s\n", smoke->stats_path);
        printf("  %-22s %12s %12s\n", "counter", "ipv4", "ipv6");
        for (guint i = 0; i < RSC_STATS_N_FIELDS; i++) {
            printf("  %-22s %12" G_GUINT64_FORMAT " %12" G_GUINT64_FORMAT "\n",
                   rsc_stats_field_name(i), smoke->stats.ipv4.counter[i],
                   smoke->stats.ipv6.counter[i]);
        }
    } else {
        printf("rsc-stats:     unavailable\n");
    }
    for (guint i = 0; i < smoke->problems->len; i++) {
        printf("problem:       %s\n",
               (const char *)g_ptr_array_index(smoke->problems, i));
    }
    printf("verdict:       %s\n", verdict);
    fflush(stdout);
}

/* Holds until the time is up, a signal, or QEMU's death. */
static void hold(Smoke *smoke)
{
    g_autoptr(GCancellable) cancellable = g_cancellable_new();

    printf("ready qemu-pid=%d netns=%s tap=%s\n",
           (int)rig_vm_get_pid(smoke->vm), rig_netns_get_name(smoke->netns),
           SMOKE_TAP);
    fflush(stdout);
    if (smoke->hold_seconds > 0) {
        progress("holding for %d s (SIGINT to stop)", smoke->hold_seconds);
        smoke->hold_timer = g_timeout_add_seconds((guint)smoke->hold_seconds,
                                                  on_hold_over, smoke);
    } else {
        progress("holding until SIGINT or SIGTERM");
    }
    smoke->loop = g_main_loop_new(NULL, FALSE);
    g_subprocess_wait_async(rig_vm_get_subprocess(smoke->vm), cancellable,
                            on_qemu_exit, smoke);
    if (!interrupted(smoke) && !smoke->qemu_exited) {
        g_main_loop_run(smoke->loop);
    }
    g_cancellable_cancel(cancellable);
    if (smoke->hold_timer != 0) {
        g_source_remove(smoke->hold_timer);
        smoke->hold_timer = 0;
    }
    /* Let the cancelled wait complete while @smoke is still alive. */
    while (g_main_context_iteration(NULL, FALSE)) {
    }
    g_clear_pointer(&smoke->loop, g_main_loop_unref);
}

static int run(Smoke *smoke)
{
    g_autoptr(GError) error = NULL;
    const char *verdict;
    int status;

    if (!start(smoke, &error) || interrupted(smoke) || !check(smoke, &error)) {
        goto failed;
    }
    status = smoke->problems->len == 0 ? RIG_EXIT_OK : RIG_EXIT_CHECK_FAILED;
    verdict = status == RIG_EXIT_OK ? "pass" : "fail";
    if (smoke->json) {
        print_json(smoke, verdict, NULL);
    } else {
        print_human(smoke, verdict);
    }
    if (smoke->hold_seconds != 0 && !interrupted(smoke)) {
        hold(smoke);
    }
    if (smoke->qemu_exited) {
        /* Reaps it: the description needs the exit status. */
        rig_vm_shutdown(smoke->vm, NULL);
        g_autofree char *how = rig_vm_describe_exit(smoke->vm);
        g_autofree char *tail =
            rig_vm_get_log_tail(smoke->vm, SMOKE_LOG_TAIL_LINES);
        g_set_error(&error, RIG_VM_ERROR, RIG_VM_ERROR_EXITED,
                    "QEMU (pid %d) %s during the hold; its last output:\n%s",
                    (int)rig_vm_get_pid(smoke->vm), how,
                    tail[0] != '\0' ? tail : "(nothing)");
        fprintf(stderr, "rig smoke: error: %s\n", error->message);
        return RIG_EXIT_CANNOT_RUN;
    }
    return status;

failed:
    if (error == NULL) {
        g_set_error(&error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                    "interrupted by %s before the check completed",
                    smoke->signal == SIGINT ? "SIGINT" : "SIGTERM");
    }
    fprintf(stderr, "rig smoke: error: %s\n", error->message);
    if (smoke->json) {
        print_json(smoke, "error", error->message);
    }
    return RIG_EXIT_CANNOT_RUN;
}

int rig_cmd_smoke(int argc, char **argv)
{
    Smoke smoke = {.rsc_interval = SMOKE_RSC_INTERVAL};
    g_autofree char *qemu = NULL;
    g_autoptr(GError) error = NULL;
    const GOptionEntry entries[] = {
        {"qemu", 0, 0, G_OPTION_ARG_FILENAME, &qemu,
         "QEMU binary (default: $RIG_QEMU, else the build's patched QEMU)",
         "PATH"},
        {"rsc-interval", 0, 0, G_OPTION_ARG_INT64, &smoke.rsc_interval,
         "rsc_interval of the NIC in ns (default 300000)", "NS"},
        {"hold", 0, 0, G_OPTION_ARG_INT, &smoke.hold_seconds,
         "after the check, keep QEMU running for SECONDS (-1: until "
         "SIGINT/SIGTERM) and print 'ready qemu-pid=PID netns=NAME tap=TAP'",
         "SECONDS"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &smoke.json,
         "print the result as one line of JSON", NULL},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) context = g_option_context_new("");
    g_autofree char *default_qemu = g_strdup(rig_vm_default_qemu());
    g_autofree char *description = g_strdup_printf(
        "Creates a private network namespace with a vnet_hdr tap, starts "
        "QEMU\n(-M q35 -accel qtest) with virtio-net-pci,guest_rsc_ext=on "
        "on that tap,\nreads rsc_interval and rsc-stats over QMP and prints "
        "them, then shuts\nQEMU down and removes the namespace, also on "
        "SIGINT/SIGTERM.  Needs root.\n\n"
        "Default QEMU now: %s\n\n"
        "Exit status: 0 the properties are as requested; 1 a check failed "
        "(rsc-stats\nunavailable, rsc_interval differs); 2 the rig could not "
        "run (no QEMU,\nnot root, QEMU died, ...).",
        default_qemu[0] != '\0' ? default_qemu : "(none: run ci/build-qemu)");

    g_option_context_set_summary(context,
                                 "Start QEMU with RSC on a tap and read its "
                                 "RSC properties over QMP.");
    g_option_context_set_description(context, description);
    g_option_context_add_main_entries(context, entries, NULL);
    if (!g_option_context_parse(context, &argc, &argv, &error)) {
        fprintf(stderr, "rig smoke: %s (see `rig smoke --help`)\n",
                error->message);
        return RIG_EXIT_CANNOT_RUN;
    }
    if (argc > 1) {
        fprintf(stderr,
                "rig smoke: unexpected argument '%s' (see `rig "
                "smoke --help`)\n",
                argv[1]);
        return RIG_EXIT_CANNOT_RUN;
    }
    if (smoke.rsc_interval < 0 || smoke.rsc_interval > G_MAXUINT32) {
        fprintf(stderr, "rig smoke: --rsc-interval must be 0..%u ns\n",
                G_MAXUINT32);
        return RIG_EXIT_CANNOT_RUN;
    }
    if (smoke.hold_seconds < -1) {
        fprintf(stderr, "rig smoke: --hold must be >= -1\n");
        return RIG_EXIT_CANNOT_RUN;
    }
    smoke.qemu = g_strdup(qemu != NULL ? qemu : default_qemu);
    smoke.problems = g_ptr_array_new_with_free_func(g_free);

    SignalWatch on_int = {&smoke, SIGINT};
    SignalWatch on_term = {&smoke, SIGTERM};
    guint int_source = g_unix_signal_add(SIGINT, on_signal, &on_int);
    guint term_source = g_unix_signal_add(SIGTERM, on_signal, &on_term);

    int status = run(&smoke);

    /* Teardown on every path: QEMU first (it holds the tap), then netns. */
    g_clear_pointer(&smoke.vm, rig_vm_free);
    g_clear_pointer(&smoke.netns, rig_netns_free);
    if (smoke.signal != 0) {
        progress("cleaned up after %s",
                 smoke.signal == SIGINT ? "SIGINT" : "SIGTERM");
    }
    g_source_remove(int_source);
    g_source_remove(term_source);
    g_free(smoke.qemu);
    g_free(smoke.stats_path);
    g_free(smoke.stats_error);
    g_ptr_array_unref(smoke.problems);
    return status;
}
