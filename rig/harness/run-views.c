/*
 * Frame bytes to CheckFrame records, through rig/net's parser.
 */
#include "harness/run-views.h"

#include "net/flow.h"
#include "net/wire.h"

struct RunFlows {
    CheckScenario *cs;
    GHashTable *by_key; /* RigFlowKey * (owned) -> index + 1 */
    guint unparsed;     /* index + 1 of the "unparsable" pseudo-flow */
};

static guint flow_key_hash(gconstpointer key)
{
    return rig_flow_key_hash(key);
}

static gboolean flow_key_equal(gconstpointer a, gconstpointer b)
{
    return rig_flow_key_equal(a, b);
}

RunFlows *run_flows_new(CheckScenario *cs)
{
    RunFlows *f = g_new0(RunFlows, 1);

    f->cs = cs;
    f->by_key =
        g_hash_table_new_full(flow_key_hash, flow_key_equal, g_free, NULL);
    return f;
}

void run_flows_free(RunFlows *flows)
{
    if (!flows) {
        return;
    }
    g_hash_table_unref(flows->by_key);
    g_free(flows);
}

static guint flows_lookup(RunFlows *flows, const RigFlowKey *key, gboolean add)
{
    gpointer v = g_hash_table_lookup(flows->by_key, key);
    char name[RIG_FLOW_KEY_STR_MAX];
    guint idx;

    if (v) {
        return GPOINTER_TO_UINT(v) - 1;
    }
    if (!add) {
        return CHECK_FLOW_NONE;
    }
    rig_flow_key_format(key, name, sizeof(name));
    idx = check_scenario_add_flow(flows->cs, name, key->family);
    g_hash_table_insert(flows->by_key, g_memdup2(key, sizeof(*key)),
                        GUINT_TO_POINTER(idx + 1));
    return idx;
}

static guint flows_unparsed(RunFlows *flows, gboolean add)
{
    if (!flows->unparsed && add) {
        flows->unparsed =
            check_scenario_add_flow(flows->cs, "unparsable frames", 0) + 1;
    }
    return flows->unparsed ? flows->unparsed - 1 : CHECK_FLOW_NONE;
}

/*
 * Whether the device delivers this frame at once, without draining the
 * flow's cached segment first (virtio_net_rsc_sanity_check4/6 and SYN):
 * such a frame may legitimately overtake data sent before it.
 */
static gboolean view_may_overtake(const RigNetView *v)
{
    if (v->protocol != RIG_IPPROTO_TCP) {
        return TRUE;
    }
    if (v->tcp_flags & RIG_TCP_SYN) {
        return TRUE;
    }
    if ((v->tos & RIG_ECN_MASK) != 0) {
        return TRUE;
    }
    if (v->family == 4) {
        return v->ipv4_options_len > 0 || v->is_fragment || !v->df;
    }
    return v->ipv6_ext_count > 0;
}

/* The only option is one timestamp, padding aside (Linux: NOP NOP TS). */
static gboolean view_ts_only(const RigNetView *v, const guint8 *buf)
{
    const guint8 *opt = buf + v->l4_off + 20;
    guint len = v->l4_hdr_len - 20;
    guint ts = 0;

    for (guint i = 0; i < len;) {
        if (opt[i] == RIG_TCPOPT_EOL) {
            break;
        } else if (opt[i] == RIG_TCPOPT_NOP) {
            i++;
        } else if (opt[i] == RIG_TCPOPT_TIMESTAMP && i + 10 <= len &&
                   opt[i + 1] == 10) {
            ts++;
            i += 10;
        } else {
            return FALSE;
        }
    }
    return ts == 1;
}

/* Fills @f from a parsed view; returns the payload pointer. */
static const guint8 *frame_from_view(const RigNetView *v, const guint8 *buf,
                                     CheckFrame *f)
{
    f->family = v->family;
    f->is_tcp = v->l4_off != 0 && v->protocol == RIG_IPPROTO_TCP;
    f->tcp_flags = f->is_tcp ? (guint8)v->tcp_flags : 0;
    f->tcp_options = f->is_tcp && v->l4_hdr_len > 20;
    f->ts_only = f->tcp_options && view_ts_only(v, buf);
    f->ecn = v->tos & RIG_ECN_MASK;
    f->bad_csum = v->ipv4_csum == RIG_NET_CSUM_BAD ||
                  (f->is_tcp && v->l4_csum == RIG_NET_CSUM_BAD);
    f->seq = v->seq;
    f->ack = v->ack;
    f->window = v->window;
    f->payload_len = (guint32)v->payload_len;
    f->l3_len = (guint32)v->l3_len;
    f->may_overtake = view_may_overtake(v);
    return buf + v->payload_off;
}

void run_views_add_sent(RunFlows *flows, const guint8 *frame, gsize len,
                        gint64 time_ns)
{
    CheckFrame f = {.time_ns = time_ns, .frame_len = (guint32)len};
    const guint8 *payload = frame;
    RigNetView v;

    if (rig_net_parse(frame, len, RIG_NET_PARSE_VERIFY_CSUM, &v, NULL) == 0 &&
        v.family != 0) {
        payload = frame_from_view(&v, frame, &f);
        f.flow = flows_lookup(flows, &v.flow, TRUE);
    } else {
        /* Malformed on purpose: compared as whole bytes. */
        f.flow = flows_unparsed(flows, TRUE);
        f.payload_len = (guint32)len;
        f.may_overtake = TRUE;
    }
    check_view_add_frame(flows->cs->sent, &f, payload);
}

void run_views_add_received(RunFlows *flows, CheckView *view, const guint8 *buf,
                            gsize len, gint64 time_ns)
{
    CheckFrame f = {.time_ns = time_ns};
    const guint8 *payload = NULL;
    RigNetView v;

    if (len < RIG_VIRTIO_NET_HDR_V1_LEN) {
        f.flow = CHECK_FLOW_NONE;
        check_view_add_frame(view, &f, NULL);
        return;
    }
    f.hdr_flags = buf[0];
    f.gso_type = buf[1];
    f.gso_size = rig_le16_get(buf + 4);
    f.csum_start = rig_le16_get(buf + 6);
    f.csum_offset = rig_le16_get(buf + 8);
    f.frame_len = (guint32)(len - RIG_VIRTIO_NET_HDR_V1_LEN);
    if (rig_net_parse(buf, len, RIG_NET_PARSE_VNET_HDR, &v, NULL) == 0 &&
        v.family != 0) {
        payload = frame_from_view(&v, buf, &f);
        f.flow = flows_lookup(flows, &v.flow, FALSE);
    } else {
        f.flow = flows_unparsed(flows, FALSE);
        if (f.flow != CHECK_FLOW_NONE) {
            f.payload_len = f.frame_len;
            payload = buf + RIG_VIRTIO_NET_HDR_V1_LEN;
        }
        /* A merge of a malformed segment (stock: a data offset < 5) still
         * says its family on L2, which rsc-info needs for the gso_type. */
        if (f.frame_len >= RIG_ETH_HLEN) {
            guint16 type = rig_be16_get(buf + RIG_VIRTIO_NET_HDR_V1_LEN + 12);

            f.family = type == RIG_ETHERTYPE_IPV6   ? 6
                       : type == RIG_ETHERTYPE_IPV4 ? 4
                                                    : 0;
        }
    }
    check_view_add_frame(view, &f, payload);
}
