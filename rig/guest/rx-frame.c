#include "guest/rx-frame.h"

#include <string.h>

/* NetKVM's nMaxDataSize: *JumboPacket 1514 minus the Ethernet header. */
#define NETKVM_MAX_DATA_SIZE 1500

/* PktGetTCPCoalescedSegmentsCount (NetKVM/wlh/ParaNdis6_Impl.cpp). */
static uint32_t netkvm_estimate_segments(const RigNetView *v, uint16_t mss)
{
    size_t headers = v->l3_hdr_len + v->l4_hdr_len;
    uint32_t payload = (uint32_t)v->payload_len;
    uint32_t max_mss = headers < NETKVM_MAX_DATA_SIZE
                           ? (uint32_t)(NETKVM_MAX_DATA_SIZE - headers)
                           : 1;

    if (mss > max_mss || mss == 0) {
        mss = (uint16_t)max_mss;
    }
    return payload / mss + !!(payload % mss);
}

static void netkvm_classify(const RigNetView *v, gboolean parsed,
                            RigGuestFrame *f)
{
    f->netkvm_kind = RIG_GUEST_NETKVM_SINGLE;
    f->netkvm_segments = 1;
    if (f->gso_type == RIG_VIRTIO_NET_HDR_GSO_NONE) {
        return;
    }
    if (f->flags & RIG_VIRTIO_NET_HDR_F_RSC_INFO) {
        f->netkvm_kind = RIG_GUEST_NETKVM_WIN;
        f->netkvm_segments = f->csum_start;
    } else {
        f->netkvm_kind = RIG_GUEST_NETKVM_HOST;
        if (parsed && v->protocol == RIG_IPPROTO_TCP && v->l4_off != 0) {
            f->netkvm_segments = netkvm_estimate_segments(v, f->gso_size);
        }
    }
}

void rig_guest_frame_decode(const uint8_t *buf, size_t len,
                            RigGuestFrame *ret_frame)
{
    RigGuestFrame *f = ret_frame;
    RigNetView view;
    RigNetError reason = RIG_NET_ERR_NONE;
    g_autofree char *digest = NULL;
    int r;

    f->len = (uint32_t)len;
    f->segments = 1;
    digest = g_compute_checksum_for_data(G_CHECKSUM_SHA256, buf, len);
    g_strlcpy(f->sha256, digest, sizeof(f->sha256));

    if (len >= RIG_VIRTIO_NET_HDR_V1_LEN) {
        const RigVirtioNetHdrV1 *h = (const RigVirtioNetHdrV1 *)buf;

        f->flags = h->flags;
        f->gso_type = h->gso_type;
        f->hdr_len = rig_le16(h->hdr_len);
        f->gso_size = rig_le16(h->gso_size);
        f->csum_start = rig_le16(h->csum_start);
        f->csum_offset = rig_le16(h->csum_offset);
        f->num_buffers = rig_le16(h->num_buffers);
        /* Spec: with RSC_INFO the checksum fields carry RSC counts. */
        f->coalesced = (h->flags & RIG_VIRTIO_NET_HDR_F_RSC_INFO) != 0;
        if (f->coalesced) {
            f->segments = rig_vnet_hdr_rsc_segments(h);
            f->dup_acks = rig_vnet_hdr_rsc_dup_acks(h);
        }
    }

    r = rig_net_parse(buf, len, RIG_NET_PARSE_VNET_HDR, &view, &reason);
    netkvm_classify(&view, r >= 0, f);
    if (r < 0) {
        f->parse_errno = r;
        f->parse_error = rig_net_error_name(reason);
        return;
    }
    if (view.family != 0) {
        f->ip_len = (uint32_t)view.l3_len;
    }
    f->family = view.family;
    f->protocol = view.protocol;
    if (view.family != 0) {
        (void)rig_flow_key_format(&view.flow, f->flow, sizeof(f->flow));
    }
    if (view.family != 0 && view.protocol == RIG_IPPROTO_TCP &&
        view.l4_off != 0) {
        f->seq = view.seq;
        f->ack = view.ack;
        f->tcp_flags = view.tcp_flags;
        f->window = view.window;
    }
    f->payload_len = (uint32_t)view.payload_len;
}

void rig_guest_frame_free(RigGuestFrame *frame)
{
    if (!frame) {
        return;
    }
    g_clear_pointer(&frame->data, g_bytes_unref);
    g_free(frame);
}

void rig_guest_counters_add(RigGuestCounters *c, const RigGuestFrame *frame)
{
    c->frames++;
    if (frame->len > RIG_VIRTIO_NET_HDR_V1_LEN) {
        c->bytes += frame->len - RIG_VIRTIO_NET_HDR_V1_LEN;
    }
    if (frame->coalesced) {
        c->coalesced_frames++;
        c->segments += frame->segments;
        c->dup_acks += frame->dup_acks;
        c->coalesced_bytes += frame->payload_len;
    }
    if (frame->gso_type != RIG_VIRTIO_NET_HDR_GSO_NONE) {
        c->gso_frames++;
    }
    if (frame->parse_errno != 0) {
        c->parse_errors++;
    }
    /* NBLSetRSCInfo and the framesCoalesced* counters. */
    if (frame->netkvm_kind != RIG_GUEST_NETKVM_SINGLE) {
        c->netkvm.coalesced_packets += frame->netkvm_segments;
        c->netkvm.coalesced_bytes += frame->ip_len;
        c->netkvm.coalescing_events++;
        if (frame->netkvm_kind == RIG_GUEST_NETKVM_WIN) {
            c->netkvm.coalesced_win++;
        } else {
            c->netkvm.coalesced_host++;
        }
    }
}

void rig_guest_flow_account(GHashTable *flows, const RigGuestFrame *frame)
{
    RigGuestFlowStats *fs;
    uint32_t seq_len;

    if (frame->parse_errno != 0 || frame->protocol != RIG_IPPROTO_TCP ||
        frame->family == 0) {
        return;
    }
    fs = g_hash_table_lookup(flows, frame->flow);
    /* SYN and FIN take one sequence number each. */
    seq_len = frame->payload_len + ((frame->tcp_flags & RIG_TCP_SYN) ? 1 : 0) +
              ((frame->tcp_flags & RIG_TCP_FIN) ? 1 : 0);
    if (!fs) {
        fs = g_new0(RigGuestFlowStats, 1);
        g_strlcpy(fs->flow, frame->flow, sizeof(fs->flow));
        fs->next_seq = frame->seq;
        g_hash_table_insert(flows, g_strdup(frame->flow), fs);
    }
    if (seq_len > 0) {
        int32_t delta = (int32_t)(frame->seq - fs->next_seq);

        if (delta > 0) {
            fs->gaps++;
            fs->gap_bytes += (guint64)delta;
        } else if (delta < 0) {
            fs->overlaps++;
        }
        if (delta >= 0 || (int32_t)(frame->seq + seq_len - fs->next_seq) > 0) {
            fs->next_seq = frame->seq + seq_len;
        }
    }
    fs->frames++;
    fs->payload_bytes += frame->payload_len;
}

static const char *hex_digits = "0123456789abcdef";

JsonNode *rig_guest_frame_to_json(const RigGuestFrame *frame,
                                  gboolean with_data)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "index");
    json_builder_add_int_value(b, (gint64)frame->index);
    json_builder_set_member_name(b, "host_ns");
    json_builder_add_int_value(b, frame->host_ns);
    json_builder_set_member_name(b, "vclock_ns");
    json_builder_add_int_value(b, frame->vclock_ns);
    json_builder_set_member_name(b, "len");
    json_builder_add_int_value(b, frame->len);
    json_builder_set_member_name(b, "hdr");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "flags");
    json_builder_add_int_value(b, frame->flags);
    json_builder_set_member_name(b, "gso_type");
    json_builder_add_int_value(b, frame->gso_type);
    json_builder_set_member_name(b, "hdr_len");
    json_builder_add_int_value(b, frame->hdr_len);
    json_builder_set_member_name(b, "gso_size");
    json_builder_add_int_value(b, frame->gso_size);
    json_builder_set_member_name(b, "csum_start");
    json_builder_add_int_value(b, frame->csum_start);
    json_builder_set_member_name(b, "csum_offset");
    json_builder_add_int_value(b, frame->csum_offset);
    json_builder_set_member_name(b, "num_buffers");
    json_builder_add_int_value(b, frame->num_buffers);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "coalesced");
    json_builder_add_boolean_value(b, frame->coalesced);
    json_builder_set_member_name(b, "segments");
    json_builder_add_int_value(b, frame->segments);
    json_builder_set_member_name(b, "dup_acks");
    json_builder_add_int_value(b, frame->dup_acks);
    json_builder_set_member_name(b, "netkvm");
    json_builder_add_string_value(
        b, frame->netkvm_kind == RIG_GUEST_NETKVM_WIN    ? "win"
           : frame->netkvm_kind == RIG_GUEST_NETKVM_HOST ? "host"
                                                         : "single");
    json_builder_set_member_name(b, "netkvm_segments");
    json_builder_add_int_value(b, frame->netkvm_segments);
    json_builder_set_member_name(b, "ip_len");
    json_builder_add_int_value(b, frame->ip_len);
    json_builder_set_member_name(b, "family");
    json_builder_add_int_value(b, frame->family);
    json_builder_set_member_name(b, "protocol");
    json_builder_add_int_value(b, frame->protocol);
    json_builder_set_member_name(b, "flow");
    json_builder_add_string_value(b, frame->flow);
    json_builder_set_member_name(b, "seq");
    json_builder_add_int_value(b, frame->seq);
    json_builder_set_member_name(b, "seq_end");
    json_builder_add_int_value(b, (uint32_t)(frame->seq + frame->payload_len));
    json_builder_set_member_name(b, "ack");
    json_builder_add_int_value(b, frame->ack);
    json_builder_set_member_name(b, "tcp_flags");
    json_builder_add_int_value(b, frame->tcp_flags);
    json_builder_set_member_name(b, "window");
    json_builder_add_int_value(b, frame->window);
    json_builder_set_member_name(b, "payload_len");
    json_builder_add_int_value(b, frame->payload_len);
    json_builder_set_member_name(b, "parse_error");
    if (frame->parse_error) {
        json_builder_add_string_value(b, frame->parse_error);
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_set_member_name(b, "sha256");
    json_builder_add_string_value(b, frame->sha256);
    if (with_data && frame->data) {
        gsize n;
        const uint8_t *p = g_bytes_get_data(frame->data, &n);
        g_autofree char *hex = g_malloc(n * 2 + 1);

        for (gsize i = 0; i < n; i++) {
            hex[2 * i] = hex_digits[p[i] >> 4];
            hex[2 * i + 1] = hex_digits[p[i] & 15];
        }
        hex[n * 2] = '\0';
        json_builder_set_member_name(b, "data");
        json_builder_add_string_value(b, hex);
    }
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

char *rig_guest_frame_log_line(const RigGuestFrame *frame)
{
    return g_strdup_printf(
        "%" G_GUINT64_FORMAT " vclock=%" G_GINT64_FORMAT " len=%u flags=%u "
        "gso=%u gso_size=%u csum_start=%u csum_offset=%u nbuf=%u flow=%s "
        "seq=%u ack=%u tcp=0x%03x win=%u payload=%u sha256=%s",
        frame->index, frame->vclock_ns, frame->len, frame->flags,
        frame->gso_type, frame->gso_size, frame->csum_start, frame->csum_offset,
        frame->num_buffers, frame->flow[0] ? frame->flow : "-", frame->seq,
        frame->ack, frame->tcp_flags, frame->window, frame->payload_len,
        frame->sha256);
}

static void add_uint(JsonBuilder *b, const char *name, guint64 v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, (gint64)v);
}

JsonNode *rig_guest_netkvm_counters_to_json(const RigGuestNetkvmCounters *c)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "rsc_statistics");
    json_builder_begin_object(b);
    add_uint(b, "CoalescedPackets", c->coalesced_packets);
    add_uint(b, "CoalescedBytes", c->coalesced_bytes);
    add_uint(b, "CoalescingEvents", c->coalescing_events);
    /* NetKVM reports no exceptions: RSC.Statistics has no Aborts count. */
    add_uint(b, "CoalescingExceptions", 0);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "netkvm_diag");
    json_builder_begin_object(b);
    add_uint(b, "CoalescedWin", c->coalesced_win);
    add_uint(b, "CoalescedHost", c->coalesced_host);
    json_builder_end_object(b);
    add_uint(b, "dropped_multi_buffer", c->dropped_multi_buf);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

JsonNode *rig_guest_counters_to_json(const RigGuestCounters *c,
                                     GHashTable *flows)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    add_uint(b, "frames", c->frames);
    add_uint(b, "coalesced_frames", c->coalesced_frames);
    add_uint(b, "segments", c->segments);
    add_uint(b, "coalesced_bytes", c->coalesced_bytes);
    add_uint(b, "bytes", c->bytes);
    add_uint(b, "dup_acks", c->dup_acks);
    add_uint(b, "gso_frames", c->gso_frames);
    add_uint(b, "parse_errors", c->parse_errors);
    add_uint(b, "buffers_posted", c->buffers_posted);
    add_uint(b, "starved_buffers", c->starved_buffers);
    add_uint(b, "tx_frames", c->tx_frames);
    add_uint(b, "ctrl_commands", c->ctrl_commands);
    add_uint(b, "ctrl_failed", c->ctrl_failed);
    if (flows) {
        g_autoptr(GList) keys =
            g_list_sort(g_hash_table_get_keys(flows), (GCompareFunc)g_strcmp0);
        guint64 gaps = 0;
        guint64 gap_bytes = 0;

        json_builder_set_member_name(b, "flows");
        json_builder_begin_array(b);
        for (GList *l = keys; l; l = l->next) {
            const RigGuestFlowStats *fs = g_hash_table_lookup(flows, l->data);

            json_builder_begin_object(b);
            json_builder_set_member_name(b, "flow");
            json_builder_add_string_value(b, fs->flow);
            add_uint(b, "frames", fs->frames);
            add_uint(b, "payload_bytes", fs->payload_bytes);
            add_uint(b, "next_seq", fs->next_seq);
            add_uint(b, "gaps", fs->gaps);
            add_uint(b, "gap_bytes", fs->gap_bytes);
            add_uint(b, "overlaps", fs->overlaps);
            json_builder_end_object(b);
            gaps += fs->gaps;
            gap_bytes += fs->gap_bytes;
        }
        json_builder_end_array(b);
        /* Data a receiving TCP would miss: the loss the device caused. */
        add_uint(b, "lost_gaps", gaps);
        add_uint(b, "lost_bytes", gap_bytes);
    }
    json_builder_end_object(b);
    return json_builder_get_root(b);
}
