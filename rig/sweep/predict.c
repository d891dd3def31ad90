/*
 * Oracle predictions of a sweep point (see predict.h).
 */
#include "sweep/predict.h"

#include <string.h>

#include "harness/run-views.h"
#include "harness/run.h"
#include "net/build.h"
#include "rsc/oracle.h"
#include "trafgen/frame.h"

/* Where the ideal schedule starts: the oracle starts its clock at 0. */
#define PREDICT_T0_NS 1000000

static RscOracle *point_oracle(const Profile *p)
{
    /* RSC per family: what the reference guest negotiates (run-env.c). */
    gboolean rsc = !g_str_equal(p->guest_features, "no-rsc");
    RscOracleConfig cfg = {
        .mode = RSC_MODE_QEMU,
        .interval_ns = (guint64)p->rsc_interval_us * 1000,
        .ipv4_enabled = rsc && (p->families & PROFILE_FAMILY_IPV4) &&
                        !g_str_equal(p->guest_features, "rsc-v6-only"),
        .ipv6_enabled = rsc && (p->families & PROFILE_FAMILY_IPV6) &&
                        !g_str_equal(p->guest_features, "rsc-v4-only"),
    };

    return rsc_oracle_new(&cfg);
}

static void take_delivered(RscOracle *o, RunFlows *flows, CheckView *view)
{
    g_autoptr(GPtrArray) out = rsc_oracle_take_delivered(o);

    for (guint i = 0; i < out->len; i++) {
        const RscDelivered *d = g_ptr_array_index(out, i);
        g_autofree guint8 *buf = g_malloc(sizeof(d->hdr) + d->len);

        memcpy(buf, &d->hdr, sizeof(d->hdr));
        memcpy(buf + sizeof(d->hdr), d->frame, d->len);
        run_views_add_received(flows, view, buf, sizeof(d->hdr) + d->len,
                               (gint64)d->t_ns);
    }
}

CheckScenario *sweep_predict(const Profile *profile, const ProfileScenario *sc,
                             const CheckView *sent_times, GError **error)
{
    g_autoptr(TrafgenPattern) pattern =
        run_scenario_pattern(sc->pattern, sc->family, sc->count, error);
    g_autoptr(CheckScenario) cs = NULL;
    g_autoptr(RunFlows) flows = NULL;
    g_autoptr(RscOracle) oracle = NULL;
    g_autofree TrafgenCursor *cursors = NULL;
    g_autofree guint8 *frame = g_malloc(RIG_NET_FRAME_MAX);
    TrafgenEndpoints ep;
    gint64 t = PREDICT_T0_NS, last = PREDICT_T0_NS;
    guint k = 0;

    if (!pattern) {
        return NULL;
    }
    cs = check_scenario_new(sc);
    flows = run_flows_new(cs);
    oracle = point_oracle(profile);
    trafgen_endpoints_init_default(&ep, sc->family == PROFILE_FAMILY_IPV6);
    cursors = g_new0(TrafgenCursor, sc->flows);
    for (guint f = 0; f < sc->flows; f++) {
        trafgen_cursor_init(&cursors[f], pattern, f, sc->payload,
                            sc->family == PROFILE_FAMILY_IPV6);
    }
    for (;;) {
        gboolean any = FALSE;

        for (guint f = 0; f < sc->flows; f++) {
            TrafgenSegment seg;
            ssize_t len;

            if (!trafgen_cursor_next(&cursors[f], &seg)) {
                continue;
            }
            any = TRUE;
            if (seg.kind == TRAFGEN_STEP_IDLE) {
                continue;
            }
            len = trafgen_frame_build(&ep, &seg, frame, RIG_NET_FRAME_MAX);
            if (len <= 0) {
                continue;
            }
            if (sent_times) {
                if (k >= sent_times->frames->len) {
                    break; /* the run stopped early: predict what was sent */
                }
                t = g_array_index(sent_times->frames, CheckFrame, k).time_ns;
            }
            k++;
            last = MAX(last, t);
            run_views_add_sent(flows, frame, (gsize)len, last);
            rsc_oracle_receive(oracle, (guint64)last, NULL, frame, (gsize)len);
        }
        if (!any) {
            break;
        }
        t += (gint64)sc->period_us * 1000;
    }
    rsc_oracle_flush(oracle);
    take_delivered(oracle, flows, cs->oracle_qemu);
    return g_steal_pointer(&cs);
}
