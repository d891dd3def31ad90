/*
 * run.c - the sending loop
 */
#include "trafgen/run.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "net/build.h"

#define BATCH_MAX 64

void trafgen_run_config_init(TrafgenRunConfig *config)
{
    memset(config, 0, sizeof(*config));
    config->flows = 1;
    config->payload = TRAFGEN_DEFAULT_PAYLOAD;
    trafgen_endpoints_init_default(&config->endpoints, FALSE);
    config->period_ns = 100000;
    config->late_threshold_ns = 0;
    config->rsc_interval_ns = 300000;
    config->late_policy = TRAFGEN_LATE_CATCHUP;
    config->pacer.guard_ns = TRAFGEN_DEFAULT_GUARD_NS;
    config->pacer.realtime = TRUE;
    config->pacer.cpu = -1;
    config->pacer.lock_memory = TRUE;
    config->dodge = TRUE;
}

typedef struct {
    TrafgenCursor cursor;
    TrafgenSegment segment;
    uint8_t *frame;
    ssize_t frame_len;
    gboolean pending; /* segment/frame hold the next thing to send */
    gboolean done;
} FlowSlot;

static double timeval_s(const struct timeval *tv)
{
    return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* Builds the next frame of @fs; FALSE when the flow has ended. */
static gboolean flow_prepare(const TrafgenRunConfig *config, FlowSlot *fs,
                             GError **error)
{
    if (fs->pending) {
        return TRUE;
    }
    if (fs->done || !trafgen_cursor_next(&fs->cursor, &fs->segment)) {
        fs->done = TRUE;
        return FALSE;
    }
    fs->frame_len = trafgen_frame_build(&config->endpoints, &fs->segment,
                                        fs->frame, RIG_NET_FRAME_MAX);
    if (fs->frame_len < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "flow %u step %u (%s): the frame builder refused the "
                    "segment: %s",
                    fs->segment.flow, fs->segment.step + 1,
                    trafgen_step_kind_to_string(fs->segment.kind),
                    g_strerror((int)-fs->frame_len));
        fs->done = TRUE;
        return FALSE;
    }
    fs->pending = TRUE;
    return TRUE;
}

typedef struct {
    guint flow;
    TrafgenStepKind kind;
    uint32_t payload_len;
    size_t frame_len;
} Sent;

static Sent sent_of(const FlowSlot *fs)
{
    return (Sent){
        .flow = fs->segment.flow,
        .kind = fs->segment.kind,
        .payload_len = fs->segment.payload_len,
        .frame_len = (size_t)fs->frame_len,
    };
}

static void account(TrafgenReport *report, const Sent *sent,
                    int64_t deadline_ns, int64_t sent_ns)
{
    TrafgenFlowCounters *c =
        &g_array_index(report->flows, TrafgenFlowCounters, sent->flow);
    TrafgenSample sample = {
        .flow = sent->flow,
        .deadline_ns = deadline_ns,
        .sent_ns = sent_ns,
    };

    g_array_append_val(report->samples, sample);
    c->frames++;
    c->wire_bytes += sent->frame_len;
    if (sent->kind != TRAFGEN_STEP_UDP && sent->kind != TRAFGEN_STEP_ARP) {
        c->segments++;
    }
    c->payload_bytes += sent->payload_len;
}

static void progress(const TrafgenRunConfig *config, TrafgenReport *report,
                     int64_t now_ns, int64_t *next_ns)
{
    if (!config->progress || now_ns < *next_ns) {
        return;
    }
    *next_ns = now_ns + G_GINT64_CONSTANT(1000000000);
    fprintf(stderr,
            "rsc-trafgen: %u frames sent in %.1f s, %" G_GUINT64_FORMAT
            " late slots\n",
            report->samples->len, (double)(now_ns - report->start_ns) / 1e9,
            report->late_slots);
}

static gboolean send_failed(TrafgenTransport *transport, TrafgenReport *report,
                            int err, GError **error)
{
    report->send_errors++;
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err),
                "send on %s failed: %s", trafgen_transport_describe(transport),
                g_strerror(err));
    return FALSE;
}

static gboolean should_stop(const TrafgenRunConfig *config,
                            const TrafgenReport *report, int64_t now_ns)
{
    return (config->stop && *config->stop) ||
           (config->duration_ns > 0 &&
            now_ns - report->start_ns >= config->duration_ns);
}

/*
 * Unpaced: a builder thread fills batches of up to BATCH_MAX frames while
 * this thread sends the previous batch with one sendmmsg(), so building
 * (payload, checksums) overlaps the kernel's send path.  Batches circulate
 * between two queues; a batch with no frame ends the run.
 */
enum { BATCH_SLOT = 2048, BATCH_POOL = 32 };

typedef struct {
    uint8_t *arena;          /* BATCH_MAX slots of BATCH_SLOT bytes */
    uint8_t *big[BATCH_MAX]; /* frames too big for a slot */
    struct iovec iov[BATCH_MAX];
    Sent sent[BATCH_MAX];
    size_t n;
} Batch;

typedef struct {
    const TrafgenRunConfig *config;
    FlowSlot *slots;
    GAsyncQueue *free_batches;
    GAsyncQueue *full_batches;
    gint stop;     /* set by the sender: stop building */
    GError *error; /* set by the builder on a bad frame */
} Pipeline;

/* Builds the next frame of some flow into slot @i of @batch. */
static gboolean batch_add(Pipeline *p, Batch *batch, guint *flow,
                          gboolean *ret_added)
{
    const TrafgenRunConfig *config = p->config;
    guint ended = 0;

    *ret_added = FALSE;
    while (ended < config->flows) {
        FlowSlot *fs = &p->slots[*flow];
        uint8_t *buf = batch->arena + batch->n * BATCH_SLOT;
        ssize_t len;

        *flow = (*flow + 1) % config->flows;
        if (fs->done || !trafgen_cursor_next(&fs->cursor, &fs->segment)) {
            fs->done = TRUE;
            ended++;
            continue;
        }
        ended = 0;
        len = trafgen_frame_build(&config->endpoints, &fs->segment, buf,
                                  BATCH_SLOT);
        if (len == -ENOSPC) {
            buf = batch->big[batch->n] = g_malloc(RIG_NET_FRAME_MAX);
            len = trafgen_frame_build(&config->endpoints, &fs->segment, buf,
                                      RIG_NET_FRAME_MAX);
        }
        if (len < 0) {
            g_set_error(&p->error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "flow %u step %u (%s): the frame builder refused "
                        "the segment: %s",
                        fs->segment.flow, fs->segment.step + 1,
                        trafgen_step_kind_to_string(fs->segment.kind),
                        g_strerror((int)-len));
            return FALSE;
        }
        if (len == 0) {
            continue; /* idle steps mean nothing without a grid */
        }
        fs->frame_len = len;
        batch->iov[batch->n].iov_base = buf;
        batch->iov[batch->n].iov_len = (size_t)len;
        batch->sent[batch->n] = sent_of(fs);
        batch->n++;
        *ret_added = TRUE;
        return TRUE;
    }
    return TRUE;
}

static gpointer builder_thread(gpointer data)
{
    Pipeline *p = data;
    guint flow = 0;

    for (;;) {
        Batch *batch = g_async_queue_pop(p->free_batches);
        gboolean added = TRUE;

        for (size_t i = 0; i < BATCH_MAX; i++) {
            g_clear_pointer(&batch->big[i], g_free);
        }
        batch->n = 0;
        while (batch->n < BATCH_MAX && added && !g_atomic_int_get(&p->stop)) {
            if (!batch_add(p, batch, &flow, &added)) {
                batch->n = 0;
                break;
            }
        }
        g_async_queue_push(p->full_batches, batch);
        if (batch->n == 0) {
            return NULL;
        }
    }
}

static gboolean run_unpaced(const TrafgenRunConfig *config,
                            TrafgenTransport *transport, FlowSlot *slots,
                            TrafgenReport *report, GError **error)
{
    Pipeline p = {
        .config = config,
        .slots = slots,
        .free_batches = g_async_queue_new(),
        .full_batches = g_async_queue_new(),
    };
    Batch batches[BATCH_POOL];
    int64_t next_progress = 0;
    gboolean ok = TRUE;
    GThread *thread;

    memset(batches, 0, sizeof(batches));
    for (int i = 0; i < BATCH_POOL; i++) {
        batches[i].arena = g_malloc((size_t)BATCH_MAX * BATCH_SLOT);
        g_async_queue_push(p.free_batches, &batches[i]);
    }
    thread = g_thread_new("trafgen-build", builder_thread, &p);
    for (;;) {
        Batch *batch = g_async_queue_pop(p.full_batches);
        int64_t now;

        if (batch->n == 0) {
            break;
        }
        if (g_atomic_int_get(&p.stop)) {
            /* built before the stop: recycle without sending */
            g_async_queue_push(p.free_batches, batch);
            continue;
        }
        for (size_t off = 0; ok && off < batch->n;) {
            int r = trafgen_transport_send_batch(transport, batch->iov + off,
                                                 batch->n - off);

            if (r < 0) {
                ok = send_failed(transport, report, -r, error);
            } else {
                off += (size_t)r;
            }
        }
        now = trafgen_now_ns();
        for (size_t i = 0; ok && i < batch->n; i++) {
            account(report, &batch->sent[i], now, now);
        }
        g_async_queue_push(p.free_batches, batch);
        progress(config, report, now, &next_progress);
        if (!ok || should_stop(config, report, now)) {
            g_atomic_int_set(&p.stop, 1);
        }
    }
    g_thread_join(thread);
    if (ok && p.error) {
        g_propagate_error(error, g_steal_pointer(&p.error));
        ok = FALSE;
    }
    g_clear_error(&p.error);
    for (int i = 0; i < BATCH_POOL; i++) {
        for (size_t k = 0; k < BATCH_MAX; k++) {
            g_free(batches[i].big[k]);
        }
        g_free(batches[i].arena);
    }
    g_async_queue_unref(p.free_batches);
    g_async_queue_unref(p.full_batches);
    return ok;
}

/* Probing state of the paced loop: see dodge.h. */
typedef struct {
    TrafgenDodger dodger;
    gboolean probing;
    int64_t probe_end_ns;  /* deadline from which the probe is over */
    int64_t next_probe_ns; /* when the next one starts */
    int64_t min_send_ns;   /* shortest send of a slot so far */
} Dodging;

/* Spins through the next @length_ns from @deadline_ns on, logging stalls. */
static void dodging_begin(Dodging *dodging, int64_t deadline_ns,
                          int64_t length_ns)
{
    trafgen_dodger_begin_probe(&dodging->dodger);
    dodging->probing = TRUE;
    dodging->probe_end_ns = deadline_ns + length_ns;
    /* the next probe covers the next quarter of the recurrence window */
    dodging->next_probe_ns = deadline_ns + TRAFGEN_DODGE_INTERVAL_NS;
}

/* Ends the probe when @deadline_ns is past its window; moves the grid. */
static void dodging_end(Dodging *dodging, TrafgenSchedule *schedule,
                        int64_t deadline_ns)
{
    int64_t origin;

    if (!dodging->probing || deadline_ns < dodging->probe_end_ns) {
        return;
    }
    dodging->probing = FALSE;
    origin = schedule->origin_ns - dodging->dodger.offset_ns;
    schedule->origin_ns += trafgen_dodger_end_probe(&dodging->dodger, origin);
}

/* A send that took much longer than the shortest one was cut by a stall
 * (sends vary by 2x on their own: the receiver's stack runs in them). */
static void dodging_note_send(Dodging *dodging, int64_t start_ns,
                              int64_t end_ns)
{
    int64_t took = end_ns - start_ns;

    if (dodging->min_send_ns == 0 || took < dodging->min_send_ns) {
        dodging->min_send_ns = took;
    }
    if (dodging->probing &&
        took > 3 * dodging->min_send_ns + TRAFGEN_DODGE_STALL_MIN_NS) {
        trafgen_dodger_note_stall(&dodging->dodger, start_ns, end_ns);
    }
}

/* The grid: every slot sends the next frame of every flow. */
static gboolean run_paced(const TrafgenRunConfig *config,
                          TrafgenTransport *transport,
                          const TrafgenPacer *pacer, Dodging *dodging,
                          FlowSlot *slots, TrafgenReport *report,
                          GError **error)
{
    gboolean offline =
        trafgen_transport_kind(transport) == TRAFGEN_TRANSPORT_PCAP;
    TrafgenSchedule schedule;
    int64_t next_progress = 0;

    /* one period of lead time: the first deadline is never already late */
    trafgen_schedule_init(&schedule, report->start_ns + config->period_ns,
                          config->period_ns, config->phase_ns,
                          config->late_threshold_ns, config->late_policy);
    if (dodging) {
        int64_t lead;

        /* a first probe of the whole window before the first slot: clear
         * from the start */
        dodging_begin(dodging, schedule.origin_ns - TRAFGEN_DODGE_WINDOW_NS,
                      TRAFGEN_DODGE_WINDOW_NS);
        trafgen_pacer_spin_until(&dodging->dodger,
                                 trafgen_now_ns() + TRAFGEN_DODGE_WINDOW_NS);
        dodging_end(dodging, &schedule, schedule.origin_ns);
        /* the probe took the lead time: start whole periods later, so that
         * the phase it chose is kept, after a ms of sleep (kernel work
         * deferred by the spin runs then, not at the first deadline) */
        lead = trafgen_now_ns() +
               MAX(config->period_ns, TRAFGEN_DODGE_PROBE_NS) -
               schedule.origin_ns;
        if (lead > 0) {
            lead = (lead + config->period_ns - 1) / config->period_ns *
                   config->period_ns;
            schedule.origin_ns += lead;
            /* the rate and --duration count from the first slot's lead */
            report->start_ns += lead;
        }
    }
    for (;;) {
        gboolean any = FALSE;
        int64_t deadline;
        int64_t now;
        int64_t send_start;

        for (guint f = 0; f < config->flows; f++) {
            if (flow_prepare(config, &slots[f], error)) {
                any = TRUE;
            } else if (error && *error) {
                return FALSE;
            }
        }
        if (!any) {
            return TRUE;
        }
        now = offline ? trafgen_schedule_deadline(&schedule, schedule.slot)
                      : trafgen_now_ns();
        if (dodging) {
            int64_t next = trafgen_schedule_deadline(&schedule, schedule.slot);

            dodging_end(dodging, &schedule, next);
            if (!dodging->probing && next >= dodging->next_probe_ns) {
                dodging_begin(dodging, next, TRAFGEN_DODGE_PROBE_NS);
            }
        }
        deadline = trafgen_schedule_next(&schedule, now);
        if (config->duration_ns > 0 &&
            deadline - report->start_ns > config->duration_ns) {
            return TRUE;
        }
        if (offline) {
            send_start = deadline;
        } else if (dodging && dodging->probing) {
            send_start = trafgen_pacer_spin_until(&dodging->dodger, deadline);
        } else {
            int64_t wake = deadline - pacer->guard_ns;

            if (dodging) {
                wake =
                    trafgen_dodger_wake_time(&dodging->dodger, wake, deadline);
            }
            send_start = trafgen_pacer_wait(wake, deadline);
        }
        for (guint f = 0; f < config->flows; f++) {
            FlowSlot *fs = &slots[f];
            Sent one;
            int r;

            if (!fs->pending) {
                continue;
            }
            fs->pending = FALSE;
            if (fs->frame_len == 0) {
                continue;
            }
            r = trafgen_transport_send(transport, fs->frame,
                                       (size_t)fs->frame_len, deadline);
            /* the send's own cost is part of what the wire sees */
            now = offline ? deadline : trafgen_now_ns();
            if (r < 0) {
                return send_failed(transport, report, -r, error);
            }
            one = sent_of(fs);
            account(report, &one, deadline, now);
        }
        if (dodging) {
            dodging_note_send(dodging, send_start, now);
        }
        trafgen_schedule_sent(&schedule, now);
        trafgen_schedule_advance(&schedule);
        report->late_slots = schedule.late_slots;
        report->skipped_slots = schedule.skipped_slots;
        report->reanchors = schedule.reanchors;
        if (!offline) {
            progress(config, report, now, &next_progress);
            if (config->stop && *config->stop) {
                return TRUE;
            }
        }
    }
}

gboolean trafgen_run(const TrafgenRunConfig *config,
                     TrafgenTransport *transport, TrafgenReport **ret_report,
                     GError **error)
{
    gboolean offline =
        trafgen_transport_kind(transport) == TRAFGEN_TRANSPORT_PCAP;
    uint64_t slots_needed = trafgen_pattern_slots(config->pattern);
    uint64_t expected;
    g_autoptr(TrafgenReport) report = NULL;
    g_autofree FlowSlot *slots = NULL;
    TrafgenPacer pacer = {0};
    g_autofree Dodging *dodging = NULL;
    struct rusage before, after;
    gboolean ok;

    g_return_val_if_fail(config->flows > 0 && config->period_ns > 0, FALSE);

    if (config->duration_ns > 0) {
        slots_needed =
            MIN(slots_needed,
                (uint64_t)(config->duration_ns / config->period_ns) + 2);
    }
    expected = config->unpaced ? 0 : slots_needed * config->flows;
    /* reserve the samples now: no realloc while paced (up to 4 M samples,
     * ~100 MB, which mlockall then pins; longer runs grow the array) */
    report =
        trafgen_report_new(config->flows, MIN(expected, (uint64_t)4000000));
    report->period_ns = config->period_ns;
    report->rsc_interval_ns = config->rsc_interval_ns;
    report->unpaced = config->unpaced;
    report->offline = offline;
    report->transport = g_strdup(trafgen_transport_describe(transport));
    report->pattern = g_strdup(config->pattern->text);
    report->late_policy =
        g_strdup(trafgen_late_policy_to_string(config->late_policy));

    slots = g_new0(FlowSlot, config->flows);
    for (guint f = 0; f < config->flows; f++) {
        trafgen_cursor_init(&slots[f].cursor, config->pattern, f,
                            config->payload, config->endpoints.ipv6);
        slots[f].frame = g_malloc(RIG_NET_FRAME_MAX);
    }

    if (offline) {
        report->policy = g_strdup("offline");
    } else {
        TrafgenPacerConfig pc = config->pacer;

        if (config->unpaced) {
            /* a FIFO task that never sleeps would starve and be throttled */
            pc.realtime = FALSE;
        }
        if (pc.guard_ns > trafgen_pacer_max_guard(config->period_ns)) {
            pc.guard_ns = trafgen_pacer_max_guard(config->period_ns);
        }
        if (!trafgen_pacer_setup(&pc, &pacer, error)) {
            for (guint f = 0; f < config->flows; f++) {
                g_free(slots[f].frame);
            }
            return FALSE;
        }
        report->policy = g_strdup(pacer.policy);
        report->guard_ns = pacer.guard_ns;
        if (config->dodge && !config->unpaced) {
            if (trafgen_dodge_supported(config->period_ns)) {
                dodging = g_new0(Dodging, 1);
                trafgen_dodger_init(&dodging->dodger, config->period_ns);
                report->dodge.enabled = TRUE;
            } else {
                trafgen_pacer_add_notice(&pacer,
                                         "stall dodging off: the period "
                                         "does not divide its 4 ms probe "
                                         "window");
            }
        }
        report->notice = g_strdup(pacer.notice);
    }

    getrusage(RUSAGE_SELF, &before);
    report->start_ns = trafgen_now_ns();
    if (config->unpaced && !offline) {
        ok = run_unpaced(config, transport, slots, report, error);
    } else {
        ok =
            run_paced(config, transport, &pacer, dodging, slots, report, error);
        if (dodging) {
            report->dodge.stats = dodging->dodger.stats;
            report->dodge.offset_ns = dodging->dodger.offset_ns;
        }
    }
    report->end_ns = trafgen_now_ns();
    getrusage(RUSAGE_SELF, &after);
    if (!offline) {
        trafgen_pacer_restore(&pacer);
    }
    if (offline && report->samples->len > 0) {
        report->end_ns = g_array_index(report->samples, TrafgenSample,
                                       report->samples->len - 1)
                             .sent_ns;
    }
    report->cpu_user_s =
        timeval_s(&after.ru_utime) - timeval_s(&before.ru_utime);
    report->cpu_system_s =
        timeval_s(&after.ru_stime) - timeval_s(&before.ru_stime);
    if (ok) {
        ok = trafgen_transport_finish(transport, error);
    }
    for (guint f = 0; f < config->flows; f++) {
        g_free(slots[f].frame);
    }
    if (!ok) {
        return FALSE;
    }
    trafgen_report_compute(report);
    *ret_report = g_steal_pointer(&report);
    return TRUE;
}
