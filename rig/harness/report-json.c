/*
 * JSON writer for the run report (schema: hck-profiles/README.md,
 * "Results JSON").  Built with JsonBuilder so that every string is
 * escaped by json-glib, never by hand.
 */
#include "harness/report.h"

#include "output/output-file.h"
#include "qemu/rsc-stats.h"

static void add_string(JsonBuilder *b, const char *key, const char *value)
{
    json_builder_set_member_name(b, key);
    if (value) {
        json_builder_add_string_value(b, value);
    } else {
        json_builder_add_null_value(b);
    }
}

static void add_int(JsonBuilder *b, const char *key, gint64 value)
{
    json_builder_set_member_name(b, key);
    json_builder_add_int_value(b, value);
}

static void add_double(JsonBuilder *b, const char *key, double value)
{
    json_builder_set_member_name(b, key);
    json_builder_add_double_value(b, value);
}

static void add_bool(JsonBuilder *b, const char *key, gboolean value)
{
    json_builder_set_member_name(b, key);
    json_builder_add_boolean_value(b, value);
}

/* A copy of @value, or null. */
static void add_node(JsonBuilder *b, const char *key, JsonNode *value)
{
    json_builder_set_member_name(b, key);
    if (value) {
        json_builder_add_value(b, json_node_copy(value));
    } else {
        json_builder_add_null_value(b);
    }
}

/* The build object (with "capabilities", null when never probed, if
 * @with_caps), or null before any QEMU was resolved. */
static void add_qemu(JsonBuilder *b, const QemuBuild *build,
                     JsonNode *capabilities, gboolean with_caps)
{
    if (build) {
        JsonNode *node = qemu_build_to_json(build);
        JsonObject *o = json_node_get_object(node);

        if (capabilities) {
            json_object_set_member(o, "capabilities",
                                   json_node_copy(capabilities));
        } else if (with_caps) {
            json_object_set_null_member(o, "capabilities");
        }
        json_builder_add_value(b, node);
    } else {
        json_builder_add_null_value(b);
    }
}

static void add_frame(JsonBuilder *b, const CheckFrame *f)
{
    json_builder_begin_object(b);
    add_int(b, "time_ns", f->time_ns);
    json_builder_set_member_name(b, "flow");
    if (f->flow == CHECK_FLOW_NONE) {
        json_builder_add_null_value(b);
    } else {
        json_builder_add_int_value(b, f->flow);
    }
    add_int(b, "family", f->family);
    add_bool(b, "tcp", f->is_tcp);
    add_int(b, "tcp_flags", f->tcp_flags);
    add_bool(b, "tcp_options", f->tcp_options);
    add_int(b, "seq", f->seq);
    add_int(b, "ack", f->ack);
    add_int(b, "window", f->window);
    add_int(b, "payload_len", f->payload_len);
    add_int(b, "l3_len", f->l3_len);
    add_int(b, "frame_len", f->frame_len);
    add_int(b, "hdr_flags", f->hdr_flags);
    add_int(b, "gso_type", f->gso_type);
    add_int(b, "gso_size", f->gso_size);
    add_int(b, "csum_start", f->csum_start);
    add_int(b, "csum_offset", f->csum_offset);
    json_builder_end_object(b);
}

/* Totals in the shape NetKVM reports them, then every frame. */
static void add_view(JsonBuilder *b, const char *key, const CheckView *v)
{
    guint frames = 0, coalesced = 0, segments = 0, dup_acks = 0;
    guint64 bytes = 0;

    json_builder_set_member_name(b, key);
    json_builder_begin_object(b);
    add_bool(b, "available", v->available);
    add_string(b, "unavailable_reason", v->unavailable_reason);
    for (guint i = 0; i < v->frames->len; i++) {
        const CheckFrame *f = &g_array_index(v->frames, CheckFrame, i);

        if (f->flow == CHECK_FLOW_NONE || !f->is_tcp) {
            continue;
        }
        frames++;
        bytes += f->payload_len;
        if (f->hdr_flags & CHECK_HDR_F_RSC_INFO) {
            coalesced++;
            segments += f->csum_start;
            dup_acks += f->csum_offset;
        } else if (f->payload_len) {
            segments++;
        }
    }
    json_builder_set_member_name(b, "totals");
    json_builder_begin_object(b);
    add_int(b, "frames", frames);
    add_int(b, "coalesced_frames", coalesced);
    add_int(b, "segments", segments);
    add_int(b, "payload_bytes", (gint64)bytes);
    add_int(b, "dup_acks", dup_acks);
    add_int(b, "other_frames", v->frames->len - frames);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "frames");
    json_builder_begin_array(b);
    for (guint i = 0; i < v->frames->len; i++) {
        add_frame(b, &g_array_index(v->frames, CheckFrame, i));
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
}

static void add_views(JsonBuilder *b, const CheckScenario *cs)
{
    json_builder_set_member_name(b, "flows");
    json_builder_begin_array(b);
    for (guint i = 0; i < cs->flows->len; i++) {
        const CheckFlow *f = g_ptr_array_index(cs->flows, i);

        json_builder_begin_object(b);
        add_int(b, "index", i);
        add_string(b, "name", f->name);
        add_int(b, "family", f->family);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);

    json_builder_set_member_name(b, "views");
    json_builder_begin_object(b);
    add_view(b, "sent", cs->sent);
    add_view(b, "guest", cs->guest);
    json_builder_set_member_name(b, "device");
    json_builder_begin_object(b);
    add_bool(b, "available", cs->device.available);
    add_string(b, "unavailable_reason",
               cs->device.available ? NULL : cs->device.unavailable_reason);
    json_builder_set_member_name(b, "counters");
    if (cs->device.available) {
        json_builder_add_value(b, rig_rsc_stats_to_json(&cs->device.delta));
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "oracle");
    json_builder_begin_object(b);
    add_string(b, "reference", cs->build == QEMU_BUILD_FIXED ? "spec" : "qemu");
    add_view(b, "qemu", cs->oracle_qemu);
    add_view(b, "spec", cs->oracle_spec);
    json_builder_set_member_name(b, "counters");
    if (cs->oracle_counters_valid) {
        json_builder_add_value(b, rig_rsc_stats_to_json(&cs->oracle_counters));
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_end_object(b);
    json_builder_end_object(b);
}

static void add_scenario(JsonBuilder *b, const ReportScenario *s)
{
    json_builder_begin_object(b);
    add_string(b, "profile", s->profile);
    add_string(b, "name", s->name);
    add_string(b, "family", s->family);
    add_string(b, "qemu_build", s->qemu_build);
    add_string(b, "fixed_by", s->fixed_by);
    add_string(b, "pattern", s->pattern);
    add_double(b, "duration_s", s->duration_s);
    add_string(b, "error", s->error);
    add_string(b, "trace_file", s->trace_file);
    json_builder_set_member_name(b, "trace");
    if (s->trace) {
        json_builder_begin_array(b);
        for (guint i = 0; i < s->trace->len; i++) {
            json_builder_add_string_value(b, g_ptr_array_index(s->trace, i));
        }
        json_builder_end_array(b);
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_set_member_name(b, "checks");
    json_builder_begin_array(b);
    for (guint i = 0; i < s->checks->len; i++) {
        const CheckResult *c = g_ptr_array_index(s->checks, i);

        json_builder_begin_object(b);
        add_string(b, "name", c->name);
        add_string(b, "status", check_status_name(c->status));
        add_string(b, "expected", c->expected);
        add_string(b, "observed", c->observed);
        add_string(b, "detail", c->detail);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    if (s->views) {
        add_views(b, s->views);
    }
    json_builder_end_object(b);
}

JsonNode *report_to_json(const Report *report)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    ReportVerdict verdict = report_verdict(report);
    g_autoptr(GDateTime) started =
        g_date_time_new_from_unix_utc(report->started_unix_us / G_USEC_PER_SEC);
    g_autofree char *started_iso = g_date_time_format_iso8601(started);

    json_builder_begin_object(b);
    add_string(b, "schema", REPORT_JSON_SCHEMA);
    add_string(b, "verdict", report_verdict_name(verdict));
    add_int(b, "exit_code", report_exit_code(verdict));
    add_string(b, "error", report->error);
    add_bool(b, "complete", report->complete);
    add_string(b, "rig_version", report->rig_version);
    add_string(b, "started", started_iso);
    add_double(b, "duration_s", report->duration_s);

    json_builder_set_member_name(b, "qemu");
    add_qemu(b, report->qemu, report->qemu_capabilities, TRUE);

    json_builder_set_member_name(b, "profiles");
    json_builder_begin_array(b);
    for (guint i = 0; i < report->profiles->len; i++) {
        const ReportProfile *p = g_ptr_array_index(report->profiles, i);

        json_builder_begin_object(b);
        add_string(b, "name", p->name);
        add_string(b, "path", p->path);
        add_string(b, "sha256", p->sha256);
        add_string(b, "clock", profile_clock_name(p->clock));
        add_string(b, "clock_fallback", p->clock_fallback);
        add_node(b, "qemu_capabilities", p->qemu_capabilities);
        add_int(b, "rsc_interval_us", p->rsc_interval_us);
        add_string(b, "guest_features", p->guest_features);
        json_builder_set_member_name(b, "qemu");
        add_qemu(b, p->qemu, NULL, FALSE);
        add_string(b, "oracle_fixes", p->oracle_fixes);
        add_string(b, "unknown_fix_patches", p->unknown_fix_patches);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);

    json_builder_set_member_name(b, "scenarios");
    json_builder_begin_array(b);
    for (guint i = 0; i < report->scenarios->len; i++) {
        add_scenario(b, g_ptr_array_index(report->scenarios, i));
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

gboolean report_write_json(const Report *report, const char *path,
                           GError **error)
{
    g_autoptr(JsonNode) root = report_to_json(report);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *text = NULL;
    gsize len;

    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    text = json_generator_to_data(gen, &len);
    return rig_output_write(path, text, len, error);
}
