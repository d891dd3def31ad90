/*
 * rig-frame: builds the frames of the case catalogue and writes them as a
 * pcap (for tshark), as raw files (fuzzer seeds), or describes what each
 * case must decode to, in tshark field names, derived from the description
 * alone (never from the built bytes) so that a dissector can check us.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "net/build.h"
#include "net/frame-cases.h"
#include "net/pcap-writer.h"
#include "output/output-file.h"
#include "rig-config.h"

enum {
    EXIT_OK = 0,
    EXIT_FAILURE_RUN = 1, /* a file could not be written, a build failed */
    EXIT_USAGE = 2,
};

/* A fixed epoch makes the pcap reproducible: 2024-01-01T00:00:00Z. */
#define PCAP_EPOCH_NS G_GINT64_CONSTANT(1704067200000000000)

typedef struct Options {
    gboolean list;
    gboolean describe;
    char *cases;
    char *pcap;
    char *raw_dir;
} Options;

static void options_clear(Options *o)
{
    g_free(o->cases);
    g_free(o->pcap);
    g_free(o->raw_dir);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Options, options_clear)

/* Returns: the selected cases (array of const RigNetFrameCase *). */
static GPtrArray *select_cases(const char *spec, GError **error)
{
    g_autoptr(GPtrArray) sel = g_ptr_array_new();
    g_auto(GStrv) names = NULL;

    if (!spec || g_str_equal(spec, "all")) {
        for (size_t i = 0; i < rig_net_frame_cases_count(); i++) {
            g_ptr_array_add(sel, (gpointer)rig_net_frame_cases_get(i));
        }
        return g_steal_pointer(&sel);
    }
    names = g_strsplit(spec, ",", -1);
    for (char **n = names; *n; n++) {
        const RigNetFrameCase *fc = rig_net_frame_cases_find(g_strstrip(*n));

        if (!fc) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "unknown case '%s' (rig-frame --list shows them)", *n);
            return NULL;
        }
        g_ptr_array_add(sel, (gpointer)fc);
    }
    return g_steal_pointer(&sel);
}

static gboolean build_case(const RigNetFrameCase *fc, guint8 *buf, gsize size,
                           gsize *ret_len, GError **error)
{
    RigNetFrameDesc d;
    ssize_t n;

    rig_net_frame_case_desc(fc, &d);
    n = rig_net_build_frame(&d, buf, size);
    if (n < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno((int)-n),
                    "building case %s failed: %s", fc->name,
                    g_strerror((int)-n));
        return FALSE;
    }
    *ret_len = (gsize)n;
    return TRUE;
}

static gboolean write_pcap(GPtrArray *sel, const char *path, GError **error)
{
    g_autoptr(RigPcapWriter) w = NULL;
    g_autofree guint8 *buf = g_malloc(RIG_NET_FRAME_MAX);

    w = rig_pcap_writer_new(path, RIG_PCAP_LINKTYPE_ETHERNET, 0, error);
    if (!w) {
        return FALSE;
    }
    for (guint i = 0; i < sel->len; i++) {
        gsize len;

        if (!build_case(sel->pdata[i], buf, RIG_NET_FRAME_MAX, &len, error) ||
            !rig_pcap_writer_write(w, PCAP_EPOCH_NS + (gint64)i * 1000, buf,
                                   len, len, error)) {
            return FALSE;
        }
    }
    return rig_pcap_writer_close(g_steal_pointer(&w), error);
}

static gboolean write_raw(GPtrArray *sel, const char *dir, GError **error)
{
    g_autofree guint8 *buf = g_malloc(RIG_NET_FRAME_MAX);

    if (g_mkdir_with_parents(dir, 0755) < 0) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
                    "cannot create directory %s: %s", dir, g_strerror(errno));
        return FALSE;
    }
    for (guint i = 0; i < sel->len; i++) {
        const RigNetFrameCase *fc = sel->pdata[i];
        g_autofree char *name = g_strconcat(fc->name, ".bin", NULL);
        g_autofree char *path = g_build_filename(dir, name, NULL);
        gsize len;

        if (!build_case(fc, buf, RIG_NET_FRAME_MAX, &len, error) ||
            !rig_output_write(path, buf, len, error)) {
            return FALSE;
        }
    }
    return TRUE;
}

static void add_str(JsonBuilder *b, const char *field, const char *value)
{
    json_builder_set_member_name(b, field);
    json_builder_add_string_value(b, value);
}

static void add_int(JsonBuilder *b, const char *field, gint64 value)
{
    json_builder_set_member_name(b, field);
    json_builder_add_int_value(b, value);
}

static void add_mac(JsonBuilder *b, const char *field, const uint8_t *m)
{
    g_autofree char *s = g_strdup_printf("%02x:%02x:%02x:%02x:%02x:%02x", m[0],
                                         m[1], m[2], m[3], m[4], m[5]);

    add_str(b, field, s);
}

static void add_addr(JsonBuilder *b, const char *field, int family,
                     const uint8_t *a)
{
    g_autoptr(GInetAddress) ia = g_inet_address_new_from_bytes(
        a, family == 4 ? G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6);
    g_autofree char *s = g_inet_address_to_string(ia);

    add_str(b, field, s);
}

static void add_payload(JsonBuilder *b, const char *field,
                        const RigNetFrameDesc *d)
{
    g_autofree guint8 *p = g_malloc(d->payload_len + 1);
    g_autoptr(GString) hex = g_string_sized_new(d->payload_len * 2 + 1);

    if (d->payload) {
        memcpy(p, d->payload, d->payload_len);
    } else if (d->pattern == RIG_NET_PATTERN_ZERO) {
        memset(p, 0, d->payload_len);
    } else if (d->pattern == RIG_NET_PATTERN_FILL) {
        memset(p, d->fill_byte, d->payload_len);
    } else {
        rig_net_pattern_fill(p, d->payload_len,
                             d->protocol == RIG_IPPROTO_TCP ? d->seq
                                                            : d->pattern_seed);
    }
    for (size_t i = 0; i < d->payload_len; i++) {
        g_string_append_printf(hex, "%02x", p[i]);
    }
    add_str(b, field, hex->str);
}

static void describe_tcp_options(JsonBuilder *b, const RigNetFrameDesc *d)
{
    for (size_t i = 0; i < d->tcp_option_count; i++) {
        const RigNetTcpOption *o = &d->tcp_options[i];

        switch (o->kind) {
        case RIG_TCPOPT_MSS:
            add_int(b, "tcp.options.mss_val", o->mss);
            break;
        case RIG_TCPOPT_WSCALE:
            add_int(b, "tcp.options.wscale.shift", o->wscale);
            break;
        case RIG_TCPOPT_TIMESTAMP:
            add_int(b, "tcp.options.timestamp.tsval", o->ts_val);
            add_int(b, "tcp.options.timestamp.tsecr", o->ts_ecr);
            break;
        case RIG_TCPOPT_SACK: {
            g_autoptr(GString) le = g_string_new(NULL);
            g_autoptr(GString) re = g_string_new(NULL);

            for (unsigned k = 0; k < o->sack_count; k++) {
                g_string_append_printf(le, "%s%u", k ? "," : "", o->sack[k][0]);
                g_string_append_printf(re, "%s%u", k ? "," : "", o->sack[k][1]);
            }
            add_str(b, "tcp.options.sack_le", le->str);
            add_str(b, "tcp.options.sack_re", re->str);
            break;
        }
        default:
            break;
        }
    }
    if (d->tcp_option_count) {
        g_autoptr(GString) kinds = g_string_new(NULL);

        for (size_t i = 0; i < d->tcp_option_count; i++) {
            g_string_append_printf(kinds, "%s%u", i ? "," : "",
                                   d->tcp_options[i].kind);
        }
        add_str(b, "tcp.option_kind", kinds->str);
    }
}

/* Expected tshark fields: what a correct frame for @d decodes to. */
static void describe_case(JsonBuilder *b, const RigNetFrameCase *fc,
                          guint index)
{
    RigNetFrameDesc d;
    gboolean l3_ok, l4_ok, fragment = FALSE;
    uint8_t nexthdr;

    rig_net_frame_case_desc(fc, &d);
    /* Deliberate damage: only the layers in front of it must decode. */
    l3_ok = !(d.corrupt & RIG_NET_CORRUPT_TRUNCATE);
    l4_ok = !(d.corrupt & (RIG_NET_CORRUPT_TRUNCATE | RIG_NET_CORRUPT_IP_LEN |
                           RIG_NET_CORRUPT_UDP_LEN));

    json_builder_begin_object(b);
    add_int(b, "index", index);
    add_str(b, "name", fc->name);
    add_str(b, "summary", fc->summary);
    json_builder_set_member_name(b, "expect_expert");
    if (fc->expect_expert) {
        json_builder_add_string_value(b, fc->expect_expert);
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_set_member_name(b, "fields");
    json_builder_begin_object(b);
    add_mac(b, "eth.src", d.src_mac);
    add_mac(b, "eth.dst", d.dst_mac);
    if (d.vlan) {
        add_int(b, "vlan.priority", d.vlan_tci >> 13);
        add_int(b, "vlan.dei", (d.vlan_tci >> 12) & 1);
        add_int(b, "vlan.id", d.vlan_tci & 0xfff);
    }
    if (d.family == 4) {
        /* A total length below the header stops tshark at the length. */
        if (!(d.corrupt & RIG_NET_CORRUPT_IP_LEN) ||
            d.ip_len_value >= RIG_IPV4_HLEN) {
            add_addr(b, "ip.src", 4, d.src_ip);
            add_addr(b, "ip.dst", 4, d.dst_ip);
        }
        if (l3_ok && l4_ok) {
            add_int(b, "ip.ttl", d.ttl ? d.ttl : 64);
            add_int(b, "ip.dsfield.dscp", d.tos >> 2);
            add_int(b, "ip.dsfield.ecn", d.tos & RIG_ECN_MASK);
            add_int(b, "ip.id", d.ip_id);
            add_int(b, "ip.flags.df", d.df);
            add_int(b, "ip.flags.mf", d.mf);
            add_int(b, "ip.frag_offset", d.frag_offset); /* 8-byte units */
            add_int(b, "ip.proto", d.protocol);
            add_int(b, "ip.hdr_len", 20 + (d.ipv4_options_len + 3) / 4 * 4);
        }
        fragment = d.mf || d.frag_offset;
    } else {
        add_addr(b, "ipv6.src", 6, d.src_ip);
        add_addr(b, "ipv6.dst", 6, d.dst_ip);
        nexthdr = d.ipv6_ext_count ? d.ipv6_ext[0].type : d.protocol;
        add_int(b, "ipv6.nxt", nexthdr);
        add_int(b, "ipv6.hlim", d.ttl ? d.ttl : 64);
        add_int(b, "ipv6.tclass.dscp", d.tos >> 2);
        add_int(b, "ipv6.tclass.ecn", d.tos & RIG_ECN_MASK);
        add_int(b, "ipv6.flow", d.flow_label);
        for (size_t i = 0; i < d.ipv6_ext_count; i++) {
            const RigNetIpv6Ext *e = &d.ipv6_ext[i];

            if (e->type == RIG_IPPROTO_FRAGMENT) {
                add_int(b, "ipv6.fraghdr.ident", e->frag_id);
                add_int(b, "ipv6.fraghdr.more", e->frag_more);
                add_int(b, "ipv6.fraghdr.offset", e->frag_offset);
                fragment = e->frag_more || e->frag_offset;
            } else if (e->type == RIG_IPPROTO_ROUTING) {
                add_int(b, "ipv6.routing.type", e->routing_type);
                add_int(b, "ipv6.routing.segleft", e->segments_left);
            }
        }
    }
    if (l4_ok && !fragment && d.protocol == RIG_IPPROTO_TCP) {
        add_int(b, "tcp.srcport", d.src_port);
        add_int(b, "tcp.dstport", d.dst_port);
        add_int(b, "tcp.seq_raw", d.seq);
        if (d.tcp_flags & RIG_TCP_ACK) {
            add_int(b, "tcp.ack_raw", d.ack);
        }
        add_int(b, "tcp.flags", d.tcp_flags);
        add_int(b, "tcp.window_size_value", d.window);
        if (d.tcp_flags & RIG_TCP_URG) {
            add_int(b, "tcp.urgent_pointer", d.urg_ptr);
        }
        add_int(b, "tcp.len", (gint64)d.payload_len);
        describe_tcp_options(b, &d);
        if (d.payload_len) {
            add_payload(b, "tcp.payload", &d);
        }
    } else if (l4_ok && !fragment && d.protocol == RIG_IPPROTO_UDP) {
        add_int(b, "udp.srcport", d.src_port);
        add_int(b, "udp.dstport", d.dst_port);
        add_int(b, "udp.length", (gint64)(RIG_UDP_HLEN + d.payload_len));
        add_payload(b, "data.data", &d);
    } else if (l4_ok && !fragment) {
        add_payload(b, "data.data", &d);
    }
    json_builder_end_object(b);
    json_builder_end_object(b);
}

static void describe(GPtrArray *sel)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *text = NULL;

    json_builder_begin_array(b);
    for (guint i = 0; i < sel->len; i++) {
        describe_case(b, sel->pdata[i], i);
    }
    json_builder_end_array(b);
    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    text = json_generator_to_data(gen, NULL);
    puts(text);
}

int main(int argc, char **argv)
{
    g_auto(Options) o = {0};
    g_autoptr(GOptionContext) ctx = NULL;
    g_autoptr(GPtrArray) sel = NULL;
    g_autoptr(GError) error = NULL;
    GOptionEntry entries[] = {
        {"list", 'l', 0, G_OPTION_ARG_NONE, &o.list,
         "List the case names and what each one builds", NULL},
        {"cases", 'c', 0, G_OPTION_ARG_STRING, &o.cases,
         "Comma-separated case names, or 'all' (default)", "NAMES"},
        {"pcap", 'w', 0, G_OPTION_ARG_FILENAME, &o.pcap,
         "Write the frames to a pcap file (nanosecond timestamps)", "FILE"},
        {"raw-dir", 'r', 0, G_OPTION_ARG_FILENAME, &o.raw_dir,
         "Write each frame to DIR/NAME.bin (fuzzer seeds)", "DIR"},
        {"describe", 'd', 0, G_OPTION_ARG_NONE, &o.describe,
         "Print, as JSON, the tshark fields each case must decode to", NULL},
        {NULL},
    };

    ctx = g_option_context_new("- build the rig's reference frames");
    g_option_context_set_summary(
        ctx, "Builds every case of the rig/net frame catalogue (or the ones\n"
             "named with --cases) and writes them out.  pcap output is\n"
             "classic pcap with nanosecond timestamps: libpcap cannot write\n"
             "pcapng.\n\n"
             "Exit status: 0 success, 1 a frame or file could not be\n"
             "written, 2 usage error.");
    g_option_context_set_description(ctx, "rig-frame " RIG_VERSION);
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        g_printerr("rig-frame: %s (try --help)\n", error->message);
        return EXIT_USAGE;
    }
    if (argc > 1) {
        g_printerr("rig-frame: unexpected argument '%s' (try --help)\n",
                   argv[1]);
        return EXIT_USAGE;
    }
    if (!o.list && !o.describe && !o.pcap && !o.raw_dir) {
        g_printerr("rig-frame: nothing to do: give --list, --describe, "
                   "--pcap FILE or --raw-dir DIR (try --help)\n");
        return EXIT_USAGE;
    }
    sel = select_cases(o.cases, &error);
    if (!sel) {
        g_printerr("rig-frame: %s\n", error->message);
        return EXIT_USAGE;
    }
    if (o.list) {
        for (guint i = 0; i < sel->len; i++) {
            const RigNetFrameCase *fc = sel->pdata[i];

            printf("%-24s %s%s%s\n", fc->name, fc->summary,
                   fc->expect_expert ? "; expect " : "",
                   fc->expect_expert ? fc->expect_expert : "");
        }
    }
    if (o.describe) {
        describe(sel);
    }
    if (o.pcap && !write_pcap(sel, o.pcap, &error)) {
        g_printerr("rig-frame: %s\n", error->message);
        return EXIT_FAILURE_RUN;
    }
    if (o.raw_dir && !write_raw(sel, o.raw_dir, &error)) {
        g_printerr("rig-frame: %s\n", error->message);
        return EXIT_FAILURE_RUN;
    }
    return EXIT_OK;
}
