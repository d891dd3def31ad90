/*
 * The deterministic slot loop: see run-slots.h.
 */
#include "harness/run-slots.h"

#include <string.h>

#include "harness/run.h"
#include "net/build.h"

/* clang-format off */
G_DEFINE_QUARK(rig-run-error-quark, run_error)
/* clang-format on */

/* The shortest Ethernet frame without its FCS (802.3). */
#define RUN_ETH_MIN_FRAME 60

typedef struct {
    const RunSlotsConfig *config;
    const RunWorldOps *ops;
    gpointer world;
    const RunSlotsObserver *observer;
    gpointer user_data;
    gboolean starving;
} Slots;

static void tell_rx_buffers(Slots *s, guint64 count)
{
    if (s->observer != NULL && s->observer->rx_buffers != NULL) {
        s->observer->rx_buffers(s->user_data, s->ops->vclock(s->world), count);
    }
}

/*
 * Injects one frame; with vnet_hdr the frame goes with the header an
 * offloading peer's kernel would give it (the TCP checksum then holds the
 * pseudo-header sum), and the observer sees both as the device does.
 */
static gboolean inject(Slots *s, const guint8 *frame, gsize len, GError **error)
{
    gint64 t = s->ops->vclock(s->world);
    TrafgenVnetMode mode = s->config->vnet;
    RigVirtioNetHdrV1 hdr = {0};
    g_autofree guint8 *copy = NULL;
    g_autofree guint8 *padded = NULL;

    /* A frame that crossed an Ethernet link: padded to 60 bytes. */
    if (s->config->pad_to_min && len < RUN_ETH_MIN_FRAME) {
        padded = g_malloc0(RUN_ETH_MIN_FRAME);
        memcpy(padded, frame, len);
        frame = padded;
        len = RUN_ETH_MIN_FRAME;
    }
    if (mode != TRAFGEN_VNET_NONE) {
        copy = g_memdup2(frame, len);
        if (trafgen_vnet_prepare(mode, 0, copy, len, &hdr) < 0) {
            memcpy(copy, frame, len); /* a malformed case goes plain */
            memset(&hdr, 0, sizeof(hdr));
        }
        frame = copy;
    }
    if (!s->ops->inject(s->world, &hdr, mode != TRAFGEN_VNET_NONE, frame, len,
                        error)) {
        return FALSE;
    }
    if (s->observer != NULL && s->observer->sent != NULL) {
        s->observer->sent(s->user_data, t, &hdr, frame, len);
    }
    return TRUE;
}

/* The guest stops re-posting and every free buffer gets a UDP frame. */
static gboolean starve_fill(Slots *s, GError **error)
{
    TrafgenSegment udp = {.kind = TRAFGEN_STEP_UDP, .payload_len = 64};
    g_autofree guint8 *frame = g_malloc(RIG_NET_FRAME_MAX);
    TrafgenEndpoints ep = s->config->ep;
    guint64 free_buffers;
    ssize_t len;

    udp.knobs.trunc = -1;
    ep.src_port = s->config->filler_port;
    len = trafgen_frame_build(&ep, &udp, frame, RIG_NET_FRAME_MAX);
    if (len <= 0) {
        g_set_error(error, RUN_ERROR, RUN_ERROR_FAILED,
                    "building the RX-ring filler frame: %s",
                    g_strerror((int)-len));
        return FALSE;
    }
    s->ops->starve(s->world);
    s->starving = TRUE;
    free_buffers = s->ops->free_rx_buffers(s->world);
    tell_rx_buffers(s, free_buffers);
    for (guint64 i = 0; i < free_buffers; i++) {
        if (!inject(s, frame, (gsize)len, error)) {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean starve_end(Slots *s, GError **error)
{
    if (!s->starving) {
        return TRUE;
    }
    s->starving = FALSE;
    tell_rx_buffers(s, RUN_SLOTS_RX_UNLIMITED);
    return s->ops->post_rx(s->world, error);
}

static gboolean step_clock(Slots *s, gint64 ns, GError **error)
{
    return ns <= 0 || s->ops->step_clock(s->world, ns, error);
}

gboolean run_slots_harvest_quiet(const RunWorldOps *ops, gpointer world,
                                 guint quiet_ms, GError **error)
{
    for (;;) {
        guint got = 0;

        if (!ops->alive(world, error) ||
            !ops->harvest(world, quiet_ms, &got, error)) {
            return FALSE;
        }
        if (got == 0) {
            return TRUE;
        }
    }
}

/*
 * Steps @total ns in slots of @slot ns (all at once when 0), taking what
 * the device delivered after each: a frame's virtual time is then the end
 * of the slot in which its drain timer fired, as during the pattern, not
 * the end of the whole drain period.  A starved guest's ring is left
 * alone.
 */
static gboolean step_drain(Slots *s, gint64 slot, gint64 total, GError **error)
{
    while (total > 0) {
        /* A starved guest takes nothing: keep its ring as the scenario
         * left it. */
        gint64 ns = slot > 0 && !s->starving ? MIN(slot, total) : total;

        if (!step_clock(s, ns, error) ||
            !s->ops->harvest(s->world, 0, NULL, error)) {
            return FALSE;
        }
        total -= ns;
    }
    return TRUE;
}

gboolean run_slots(const RunSlotsConfig *config, const RunWorldOps *ops,
                   gpointer world, const RunSlotsObserver *observer,
                   gpointer user_data, GError **error)
{
    Slots s = {.config = config,
               .ops = ops,
               .world = world,
               .observer = observer,
               .user_data = user_data};
    g_autofree TrafgenCursor *cursors = g_new0(TrafgenCursor, config->flows);
    g_autofree guint8 *frame = g_malloc(RIG_NET_FRAME_MAX);
    gboolean saw_data = FALSE, filled = FALSE, rsc_off = FALSE;
    guint slot = 0;

    for (guint f = 0; f < config->flows; f++) {
        trafgen_cursor_init(&cursors[f], config->pattern, f, config->payload,
                            config->ipv6);
    }
    if (config->rsc_off_at_slot && !ops->set_rsc) {
        g_set_error(error, RUN_ERROR, RUN_ERROR_FAILED,
                    "rsc_off_at_slot: this world can not turn RSC off");
        return FALSE;
    }
    for (;;) {
        gboolean any = FALSE, idle_slot = FALSE;

        if (++slot == config->rsc_off_at_slot) {
            if (!ops->set_rsc(world, FALSE, error)) {
                return FALSE;
            }
            rsc_off = TRUE;
            if (observer != NULL && observer->rsc != NULL) {
                observer->rsc(user_data, ops->vclock(world), FALSE);
            }
        }
        for (guint f = 0; f < config->flows; f++) {
            TrafgenSegment seg;
            ssize_t len;

            if (!trafgen_cursor_next(&cursors[f], &seg)) {
                continue;
            }
            any = TRUE;
            if (seg.kind == TRAFGEN_STEP_IDLE) {
                idle_slot = TRUE;
                continue;
            }
            len = trafgen_frame_build(&config->ep, &seg, frame,
                                      RIG_NET_FRAME_MAX);
            if (len < 0) {
                g_set_error(error, RUN_ERROR, RUN_ERROR_FAILED,
                            "flow %u step %u (%s): the frame builder refused "
                            "it: %s",
                            f, seg.step + 1,
                            trafgen_step_kind_to_string(seg.kind),
                            g_strerror((int)-len));
                return FALSE;
            }
            if (!starve_end(&s, error) ||
                !inject(&s, frame, (gsize)len, error)) {
                return FALSE;
            }
            saw_data |= seg.kind == TRAFGEN_STEP_DATA;
        }
        if (!any) {
            break;
        }
        if (idle_slot && saw_data && !filled && config->fill_at_drain) {
            filled = TRUE;
            if (!starve_fill(&s, error)) {
                return FALSE;
            }
        }
        if (!step_clock(&s, config->period_ns, error)) {
            return FALSE;
        }
    }
    /* Let every drain timer fire, then give the guest its buffers back
     * (and RSC, for the next scenario). */
    return step_drain(&s, config->period_ns, 2 * config->interval_ns, error) &&
           starve_end(&s, error) &&
           step_drain(&s, config->period_ns, 2 * config->interval_ns, error) &&
           run_slots_harvest_quiet(ops, world, 5, error) &&
           (!rsc_off || ops->set_rsc(world, TRUE, error));
}
