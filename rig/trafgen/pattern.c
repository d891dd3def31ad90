/*
 * pattern.c - pattern parsing, built-in patterns and expansion
 */
#include "trafgen/pattern.h"

#include <errno.h>
#include <string.h>

static const char *const kind_names[] = {
    [TRAFGEN_STEP_DATA] = "data",     [TRAFGEN_STEP_ACK] = "ack",
    [TRAFGEN_STEP_DUPACK] = "dupack", [TRAFGEN_STEP_WINUPD] = "winupd",
    [TRAFGEN_STEP_SYN] = "syn",       [TRAFGEN_STEP_FIN] = "fin",
    [TRAFGEN_STEP_RST] = "rst",       [TRAFGEN_STEP_RETX] = "retx",
    [TRAFGEN_STEP_OOO] = "ooo",       [TRAFGEN_STEP_UDP] = "udp",
    [TRAFGEN_STEP_IDLE] = "idle",     [TRAFGEN_STEP_ARP] = "arp",
};

/* name, IPv4 text, IPv6 text (NULL: not in that family) */
static const struct {
    const char *name;
    const char *v4;
    const char *v6;
} builtins[] = {
    {"syn", "data*3,syn,data*3,fin", NULL},
    {"fin", "data*3,fin", NULL},
    {"rst", "data*3,rst", NULL},
    {"urg", "data*3,data:urg,data*2,fin", NULL},
    {"ece", "data*3,data:ece,data*2,fin", NULL},
    {"cwr", "data*3,data:cwr,data*2,fin", NULL},
    {"psh", "data*2,data:psh,data*2,fin", NULL},
    {"pureack", "data*3,ack,data*2,fin", NULL},
    {"dupack", "data*2,ack,dupack,dupack,data*2,fin", NULL},
    {"winupdate", "data*2,ack,winupd,data*2,fin", NULL},
    {"afterack", "ack,data*3,fin", NULL},
    {"ooo", "data*3,ooo,data*2,fin", NULL},
    {"retrans", "data*3,retx,data*2,fin", NULL},
    {"seqoow", "data*3,data:seq=+70000,data*2,fin", NULL},
    {"ackoow", "data*3,data:ack=+70000,data*2,fin", NULL},
    {"tsopt", "data*4:ts,fin", NULL},
    {"ipopt", "data*2,data:ipopt,data*2,fin", ""},
    {"nodf", "data*2,data:nodf,data*2,fin", ""},
    {"frag", "data*2,data:frag,data*2,fin", NULL},
    {"ecn", "data*2,data:ecn,data*2,fin", NULL},
    {"exthdr", "", "data*2,data:exthdr,data*2,fin"},
    {"nontcp", "data*2,udp,data*2,fin", NULL},
    {"nonip", "data*2,arp,data*2,fin", NULL},
    /* MSS-sized for a 1500-byte MTU in each family */
    {"oversize", "data*48:len=1448,fin", "data*48:len=1428,fin"},
    {"malformed",
     "data*2,data:badcsum,data:badipcsum,data:iplen=short,data:iplen=long,"
     "data:trunc=40,data*2,fin",
     "data*2,data:badcsum,data:iplen=short,data:iplen=long,data:trunc=40,"
     "data*2,fin"},
};

static const char *const builtin_names[] = {
    "whql",   "syn",     "fin",    "rst",       "urg",       "ece",  "cwr",
    "psh",    "pureack", "dupack", "winupdate", "afterack",  "ooo",  "retrans",
    "seqoow", "ackoow",  "tsopt",  "ipopt",     "nodf",      "frag", "ecn",
    "exthdr", "nontcp",  "nonip",  "oversize",  "malformed", "all",  NULL,
};

const char *const *trafgen_pattern_builtin_names(void)
{
    return builtin_names;
}

const char *trafgen_step_kind_to_string(TrafgenStepKind kind)
{
    if ((size_t)kind < G_N_ELEMENTS(kind_names)) {
        return kind_names[kind];
    }
    return "?";
}

void trafgen_pattern_free(TrafgenPattern *pattern)
{
    if (pattern == NULL) {
        return;
    }
    if (pattern->steps) {
        g_array_unref(pattern->steps);
    }
    g_free(pattern->text);
    g_free(pattern);
}

static gboolean parse_u64(const char *text, uint64_t max, uint64_t *ret_value)
{
    guint64 value;

    if (!g_ascii_string_to_unsigned(text, 10, 0, max, &value, NULL)) {
        return FALSE;
    }
    *ret_value = value;
    return TRUE;
}

static gboolean parse_offset(const char *text, int64_t *ret_value)
{
    gint64 value;

    /* an explicit sign makes the relative meaning visible in profiles */
    if (text[0] != '+' && text[0] != '-') {
        return FALSE;
    }
    if (!g_ascii_string_to_signed(text[0] == '+' ? text + 1 : text, 10,
                                  -(gint64)G_MAXUINT32, G_MAXUINT32, &value,
                                  NULL)) {
        return FALSE;
    }
    *ret_value = value;
    return TRUE;
}

static gboolean parse_knob(TrafgenStep *step, const char *knob, GError **error)
{
    g_auto(GStrv) kv = NULL;
    const char *name;
    const char *value;
    uint64_t number;
    static const struct {
        const char *name;
        uint16_t flag;
    } flag_knobs[] = {
        {"psh", RIG_TCP_PSH}, {"urg", RIG_TCP_URG}, {"ece", RIG_TCP_ECE},
        {"cwr", RIG_TCP_CWR}, {"fin", RIG_TCP_FIN}, {"rst", RIG_TCP_RST},
        {"syn", RIG_TCP_SYN},
    };
    static const struct {
        const char *name;
        size_t offset;
    } bool_knobs[] = {
        {"ts", G_STRUCT_OFFSET(TrafgenKnobs, ts)},
        {"ipopt", G_STRUCT_OFFSET(TrafgenKnobs, ipopt)},
        {"nodf", G_STRUCT_OFFSET(TrafgenKnobs, nodf)},
        {"frag", G_STRUCT_OFFSET(TrafgenKnobs, frag)},
        {"dfmf", G_STRUCT_OFFSET(TrafgenKnobs, dfmf)},
        {"ecn", G_STRUCT_OFFSET(TrafgenKnobs, ecn)},
        {"exthdr", G_STRUCT_OFFSET(TrafgenKnobs, exthdr)},
        {"badcsum", G_STRUCT_OFFSET(TrafgenKnobs, badcsum)},
        {"badipcsum", G_STRUCT_OFFSET(TrafgenKnobs, badipcsum)},
    };

    /* "data:" or "data::psh": g_strsplit() of "" has no name at all */
    if (*knob == '\0') {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "empty knob after ':'");
        return FALSE;
    }
    kv = g_strsplit(knob, "=", 2);
    name = kv[0];
    value = kv[1];

    for (size_t i = 0; i < G_N_ELEMENTS(flag_knobs); i++) {
        if (strcmp(name, flag_knobs[i].name) == 0 && value == NULL) {
            step->add_flags |= flag_knobs[i].flag;
            return TRUE;
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bool_knobs); i++) {
        if (strcmp(name, bool_knobs[i].name) == 0 && value == NULL) {
            G_STRUCT_MEMBER(gboolean, &step->knobs, bool_knobs[i].offset) =
                TRUE;
            return TRUE;
        }
    }
    if (value == NULL) {
        /* fall through to the error below */
    } else if (strcmp(name, "len") == 0 && parse_u64(value, 65535, &number)) {
        step->len = (int32_t)number;
        return TRUE;
    } else if (strcmp(name, "win") == 0 && parse_u64(value, 65535, &number)) {
        step->win = (int32_t)number;
        return TRUE;
    } else if (strcmp(name, "adv") == 0 &&
               parse_u64(value, G_MAXINT32, &number)) {
        step->adv = (int32_t)number;
        return TRUE;
    } else if (strcmp(name, "doff") == 0 && parse_u64(value, 15, &number)) {
        step->knobs.has_doff = TRUE;
        step->knobs.doff = (uint8_t)number;
        return TRUE;
    } else if (strcmp(name, "trunc") == 0 && parse_u64(value, 65535, &number)) {
        step->knobs.trunc = (int32_t)number;
        return TRUE;
    } else if (strcmp(name, "seq") == 0 &&
               parse_offset(value, &step->seq_off)) {
        step->has_seq_off = TRUE;
        return TRUE;
    } else if (strcmp(name, "ack") == 0 &&
               parse_offset(value, &step->ack_off)) {
        step->has_ack_off = TRUE;
        return TRUE;
    } else if (strcmp(name, "iplen") == 0 && strcmp(value, "short") == 0) {
        step->knobs.iplen = TRAFGEN_IPLEN_SHORT;
        return TRUE;
    } else if (strcmp(name, "iplen") == 0 && strcmp(value, "long") == 0) {
        step->knobs.iplen = TRAFGEN_IPLEN_LONG;
        return TRUE;
    }
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "unknown knob or bad value '%s' (see --help for knobs)", knob);
    return FALSE;
}

static gboolean parse_step(const char *text, TrafgenStep *ret_step,
                           GError **error)
{
    g_auto(GStrv) parts = g_strsplit(text, ":", -1);
    g_auto(GStrv) kind_count = NULL;
    TrafgenStep step = {
        .count = 1,
        .len = -1,
        .win = -1,
        .adv = -1,
        .knobs.trunc = -1,
    };
    gboolean found = FALSE;

    if (parts[0] == NULL) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "empty step");
        return FALSE;
    }
    kind_count = g_strsplit(g_strstrip(parts[0]), "*", 2);
    for (size_t i = 0; i < G_N_ELEMENTS(kind_names); i++) {
        if (g_strcmp0(kind_count[0], kind_names[i]) == 0) {
            step.kind = (TrafgenStepKind)i;
            found = TRUE;
        }
    }
    if (!found) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "unknown step kind '%s' (kinds: data ack dupack winupd "
                    "syn fin rst retx ooo udp idle arp)",
                    kind_count[0] ? kind_count[0] : "");
        return FALSE;
    }
    if (kind_count[0] && kind_count[1] &&
        !parse_u64(kind_count[1], G_MAXUINT32, &step.count)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "bad repeat count '%s' (want an integer)", kind_count[1]);
        return FALSE;
    }
    for (guint i = 1; parts[i]; i++) {
        if (!parse_knob(&step, g_strstrip(parts[i]), error)) {
            return FALSE;
        }
    }
    *ret_step = step;
    return TRUE;
}

TrafgenPattern *trafgen_pattern_parse(const char *text, GError **error)
{
    g_autoptr(TrafgenPattern) pattern = g_new0(TrafgenPattern, 1);
    g_auto(GStrv) steps = g_strsplit(text, ",", -1);

    pattern->steps = g_array_new(FALSE, TRUE, sizeof(TrafgenStep));
    pattern->text = g_strdup(text);
    for (guint i = 0; steps[i]; i++) {
        TrafgenStep step;
        g_autoptr(GError) local = NULL;

        if (!parse_step(steps[i], &step, &local)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "pattern step %u '%s': %s", i + 1, g_strstrip(steps[i]),
                        local->message);
            return NULL;
        }
        g_array_append_val(pattern->steps, step);
    }
    if (pattern->steps->len == 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "empty pattern");
        return NULL;
    }
    return g_steal_pointer(&pattern);
}

gboolean trafgen_pattern_check_family(const TrafgenPattern *pattern,
                                      gboolean ipv6, GError **error)
{
    for (guint i = 0; i < pattern->steps->len; i++) {
        const TrafgenStep *step =
            &g_array_index(pattern->steps, TrafgenStep, i);
        const char *bad = NULL;

        if (ipv6 && step->knobs.ipopt) {
            bad = "ipopt is IPv4 only (use exthdr)";
        } else if (ipv6 && step->knobs.nodf) {
            bad = "nodf is IPv4 only";
        } else if (ipv6 && step->knobs.dfmf) {
            bad = "dfmf is IPv4 only";
        } else if (ipv6 && step->knobs.badipcsum) {
            bad = "badipcsum is IPv4 only (IPv6 has no header checksum)";
        } else if (!ipv6 && step->knobs.exthdr) {
            bad = "exthdr is IPv6 only (use ipopt)";
        }
        if (bad) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "pattern step %u: %s", i + 1, bad);
            return FALSE;
        }
    }
    return TRUE;
}

static const char *builtin_text(guint i, gboolean ipv6)
{
    if (ipv6 && builtins[i].v6) {
        return builtins[i].v6;
    }
    return builtins[i].v4;
}

char *trafgen_pattern_builtin(const char *name, gboolean ipv6, uint64_t count,
                              GError **error)
{
    g_autoptr(GString) text = g_string_new(NULL);

    if (g_strcmp0(name, "whql") == 0) {
        if (count == 0) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "whql needs --count N > 0 or --duration");
            return NULL;
        }
        g_string_printf(text, "data*%" G_GUINT64_FORMAT, count);
        return g_string_free(g_steal_pointer(&text), FALSE);
    }
    count = MAX(count, 1);
    for (uint64_t rep = 0; rep < count; rep++) {
        gboolean found = FALSE;

        for (guint i = 0; i < G_N_ELEMENTS(builtins); i++) {
            const char *case_text = builtin_text(i, ipv6);

            if (g_strcmp0(name, "all") != 0 &&
                g_strcmp0(name, builtins[i].name) != 0) {
                continue;
            }
            found = TRUE;
            if (case_text[0] == '\0') {
                if (g_strcmp0(name, "all") == 0) {
                    continue;
                }
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                            "pattern '%s' does not exist for %s", name,
                            ipv6 ? "IPv6" : "IPv4");
                return NULL;
            }
            if (text->len) {
                g_string_append_c(text, ',');
            }
            g_string_append(text, case_text);
        }
        if (!found) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "unknown pattern '%s' (see --help for the list)", name);
            return NULL;
        }
    }
    return g_string_free(g_steal_pointer(&text), FALSE);
}

uint64_t trafgen_pattern_slots(const TrafgenPattern *pattern)
{
    uint64_t slots = 0;

    for (guint i = 0; i < pattern->steps->len; i++) {
        uint64_t count = g_array_index(pattern->steps, TrafgenStep, i).count;

        if (count == TRAFGEN_COUNT_FOREVER ||
            slots > TRAFGEN_COUNT_FOREVER - count) {
            return TRAFGEN_COUNT_FOREVER;
        }
        slots += count;
    }
    return slots;
}

void trafgen_flow_state_init(TrafgenFlowState *state, guint flow)
{
    memset(state, 0, sizeof(*state));
    /* distinct, recognisable per flow, and not near a wrap */
    state->isn = 1000000u * (flow + 1);
    state->snd_nxt = state->isn + 1;
    state->ack = 5000u + 1000u * flow;
    state->window = TRAFGEN_DEFAULT_WINDOW;
    state->last_seq = state->snd_nxt;
    state->last_len = 0;
    state->tsval = 1;
}

void trafgen_cursor_init(TrafgenCursor *cursor, const TrafgenPattern *pattern,
                         guint flow, uint32_t payload, gboolean ipv6)
{
    memset(cursor, 0, sizeof(*cursor));
    cursor->pattern = pattern;
    cursor->flow = flow;
    cursor->payload = payload;
    cursor->ipv6 = ipv6;
    trafgen_flow_state_init(&cursor->state, flow);
}

gboolean trafgen_cursor_next(TrafgenCursor *cursor, TrafgenSegment *ret_segment)
{
    TrafgenFlowState *st = &cursor->state;
    const TrafgenStep *step;
    TrafgenSegment seg = {0};
    uint32_t len;

    while (cursor->step < cursor->pattern->steps->len &&
           cursor->done >=
               g_array_index(cursor->pattern->steps, TrafgenStep, cursor->step)
                   .count) {
        cursor->step++;
        cursor->done = 0;
    }
    if (cursor->step >= cursor->pattern->steps->len) {
        return FALSE;
    }
    step = &g_array_index(cursor->pattern->steps, TrafgenStep, cursor->step);
    cursor->done++;

    if (step->win >= 0) {
        st->window = (uint16_t)step->win;
    }
    len = step->len >= 0 ? (uint32_t)step->len : cursor->payload;
    seg.flow = cursor->flow;
    seg.step = cursor->step;
    seg.kind = step->kind;
    seg.knobs = step->knobs;
    seg.flags = RIG_TCP_ACK;
    seg.seq = st->snd_nxt;
    seg.ack = st->ack;
    seg.window = st->window;

    switch (step->kind) {
    case TRAFGEN_STEP_DATA:
        seg.payload_len = len;
        if (!step->has_seq_off) {
            st->last_seq = st->snd_nxt;
            st->last_len = len;
            st->snd_nxt += len;
        }
        break;
    case TRAFGEN_STEP_ACK:
        st->ack += step->adv >= 0 ? (uint32_t)step->adv : TRAFGEN_ACK_ADVANCE;
        seg.ack = st->ack;
        break;
    case TRAFGEN_STEP_DUPACK:
        break;
    case TRAFGEN_STEP_WINUPD:
        if (step->win < 0) {
            st->window = (uint16_t)(st->window + TRAFGEN_WINUPD_STEP);
        }
        seg.window = st->window;
        break;
    case TRAFGEN_STEP_SYN:
        seg.flags = RIG_TCP_SYN;
        break;
    case TRAFGEN_STEP_FIN:
        seg.flags = RIG_TCP_FIN | RIG_TCP_ACK;
        seg.payload_len = step->len >= 0 ? (uint32_t)step->len : 0;
        st->snd_nxt += seg.payload_len + 1;
        break;
    case TRAFGEN_STEP_RST:
        seg.flags = RIG_TCP_RST | RIG_TCP_ACK;
        break;
    case TRAFGEN_STEP_RETX:
        seg.seq = st->last_seq;
        seg.payload_len = st->last_len;
        break;
    case TRAFGEN_STEP_OOO:
        seg.seq = st->snd_nxt + len;
        seg.payload_len = len;
        break;
    case TRAFGEN_STEP_UDP:
        seg.flags = 0;
        seg.seq = 0;
        seg.ack = 0;
        seg.window = 0;
        seg.payload_len = len;
        break;
    case TRAFGEN_STEP_ARP:
        /* not TCP: no sequence space used, no payload counted */
        seg.flags = 0;
        seg.seq = 0;
        seg.ack = 0;
        seg.window = 0;
        break;
    case TRAFGEN_STEP_IDLE:
        seg.flags = 0;
        break;
    }

    if (step->kind != TRAFGEN_STEP_UDP && step->kind != TRAFGEN_STEP_IDLE &&
        step->kind != TRAFGEN_STEP_ARP) {
        seg.flags |= step->add_flags;
        if (step->has_seq_off) {
            seg.seq = (uint32_t)((int64_t)seg.seq + step->seq_off);
        }
        if (step->has_ack_off) {
            seg.ack = (uint32_t)((int64_t)seg.ack + step->ack_off);
        }
        if (seg.flags & RIG_TCP_URG) {
            seg.urg_ptr = (uint16_t)MIN(seg.payload_len, 65535u);
        }
        if (step->knobs.ts) {
            seg.tsval = st->tsval++;
        }
        seg.delimiter = (seg.flags & (RIG_TCP_FIN | RIG_TCP_RST)) != 0;
    }
    *ret_segment = seg;
    return TRUE;
}
