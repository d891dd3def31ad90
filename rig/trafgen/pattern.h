/*
 * pattern.h - declarative TCP segment sequences
 *
 * A pattern is text such as "data*3,ack,data*2:psh,fin": steps separated by
 * commas, each KIND[*COUNT][:KNOB[=VALUE]]...  Expanding a pattern for one
 * flow yields the exact segments (seq, ack, window, flags, payload length
 * and header knobs); frame.h turns a segment into bytes.  A FIN or RST
 * segment is the in-band delimiter that ends a sub-case.  The grammar and
 * every kind and knob are documented in TRAFGEN_PATTERN_HELP.
 */
#pragma once

#include <gio/gio.h>
#include <stdint.h>

#include "net/wire.h"

#define TRAFGEN_DEFAULT_PAYLOAD 1000
#define TRAFGEN_DEFAULT_WINDOW  29200
#define TRAFGEN_ACK_ADVANCE     100
#define TRAFGEN_WINUPD_STEP     1024
#define TRAFGEN_COUNT_FOREVER   G_MAXUINT64

typedef enum {
    TRAFGEN_STEP_DATA,
    TRAFGEN_STEP_ACK,
    TRAFGEN_STEP_DUPACK,
    TRAFGEN_STEP_WINUPD,
    TRAFGEN_STEP_SYN,
    TRAFGEN_STEP_FIN,
    TRAFGEN_STEP_RST,
    TRAFGEN_STEP_RETX,
    TRAFGEN_STEP_OOO,
    TRAFGEN_STEP_UDP,
    TRAFGEN_STEP_IDLE,
    TRAFGEN_STEP_ARP,
} TrafgenStepKind;

typedef enum {
    TRAFGEN_IPLEN_OK,
    TRAFGEN_IPLEN_SHORT, /* IP length smaller than the IP+TCP headers */
    TRAFGEN_IPLEN_LONG,  /* IP length larger than the frame */
} TrafgenIpLen;

/* Header knobs shared by a step and the segments it expands to. */
typedef struct {
    gboolean ts;        /* TCP timestamp option (data offset 8) */
    gboolean ipopt;     /* IPv4 options (IHL 6, router alert) */
    gboolean nodf;      /* IPv4 without DF */
    gboolean frag;      /* IPv4 MF set / IPv6 fragment header */
    gboolean dfmf;      /* IPv4 MF set with DF kept (a broken sender) */
    gboolean ecn;       /* CE in TOS / traffic class */
    gboolean exthdr;    /* IPv6 hop-by-hop options header */
    gboolean badcsum;   /* TCP/UDP checksum off by one */
    gboolean badipcsum; /* IPv4 header checksum off by one */
    TrafgenIpLen iplen;
    gboolean has_doff; /* TCP data offset field := doff, layout unchanged */
    uint8_t doff;      /* 0..15 words */
    int32_t trunc;     /* cut the frame to this many bytes, -1 = no */
} TrafgenKnobs;

typedef struct {
    TrafgenStepKind kind;
    uint64_t count;
    int32_t len;        /* payload bytes, -1 = the pattern default */
    uint16_t add_flags; /* RIG_TCP_* added to the kind's flags */
    gboolean has_seq_off;
    int64_t seq_off;
    gboolean has_ack_off;
    int64_t ack_off;
    int32_t win; /* new window, kept for later segments; -1 = no */
    int32_t adv; /* ack: bytes acknowledged; -1 = default */
    TrafgenKnobs knobs;
} TrafgenStep;

typedef struct {
    GArray *steps; /* TrafgenStep */
    char *text;    /* canonical source text */
} TrafgenPattern;

/* One segment (or a UDP datagram, an ARP request, or an idle slot) of one
 * flow. */
typedef struct {
    guint flow;
    guint step; /* index of the step that produced it */
    TrafgenStepKind kind;
    uint32_t seq;
    uint32_t ack;
    uint16_t window;
    uint16_t flags; /* RIG_TCP_* */
    uint16_t urg_ptr;
    uint32_t payload_len;
    uint32_t tsval;
    gboolean delimiter; /* FIN or RST: a sub-case ends here */
    TrafgenKnobs knobs;
} TrafgenSegment;

/* Sender state of one flow while a pattern expands. */
typedef struct {
    uint32_t isn;
    uint32_t snd_nxt;
    uint32_t ack;
    uint16_t window;
    uint32_t last_seq; /* last in-order data segment, for retx */
    uint32_t last_len;
    uint32_t tsval;
} TrafgenFlowState;

typedef struct {
    const TrafgenPattern *pattern;
    TrafgenFlowState state;
    guint flow;
    uint32_t payload; /* default payload length */
    gboolean ipv6;
    guint step;
    uint64_t done; /* repetitions of the current step done */
} TrafgenCursor;

/**
 * trafgen_pattern_parse:
 * @text: pattern text
 * @error: set on a syntax error, naming the step and the problem
 *
 * Returns: (transfer full): the pattern, or NULL on error.
 */
TrafgenPattern *trafgen_pattern_parse(const char *text, GError **error);

/**
 * trafgen_pattern_builtin:
 * @name: a built-in pattern name (see TRAFGEN_PATTERN_HELP)
 * @ipv6: family the pattern is for
 * @count: whql: number of data segments; others: repetitions of the case
 * @error: set when @name is unknown or does not exist for the family
 *
 * Returns: (transfer full): the pattern text, g_free() it.
 */
char *trafgen_pattern_builtin(const char *name, gboolean ipv6, uint64_t count,
                              GError **error);

/**
 * trafgen_pattern_builtin_names:
 *
 * Returns: (transfer none): NULL-terminated static list of built-in names.
 */
const char *const *trafgen_pattern_builtin_names(void);

/**
 * trafgen_pattern_check_family:
 * @pattern: a pattern
 * @ipv6: family it will be sent as
 * @error: set when a knob does not exist in that family
 *
 * Returns: TRUE when every knob applies to the family.
 */
gboolean trafgen_pattern_check_family(const TrafgenPattern *pattern,
                                      gboolean ipv6, GError **error);

/**
 * trafgen_pattern_free:
 * @pattern: (nullable): pattern to free
 */
void trafgen_pattern_free(TrafgenPattern *pattern);

/**
 * trafgen_pattern_slots:
 * @pattern: a pattern
 *
 * Returns: slots one flow needs for the whole pattern (idle slots
 * included), or TRAFGEN_COUNT_FOREVER.
 */
uint64_t trafgen_pattern_slots(const TrafgenPattern *pattern);

/**
 * trafgen_flow_state_init:
 * @state: state to fill
 * @flow: flow index (seeds the initial sequence number)
 *
 * Sets the state of a flow just after its handshake: snd_nxt = isn + 1.
 */
void trafgen_flow_state_init(TrafgenFlowState *state, guint flow);

/**
 * trafgen_cursor_init:
 * @cursor: cursor to fill
 * @pattern: (transfer none): pattern; must outlive the cursor
 * @flow: flow index
 * @payload: default payload length in bytes
 * @ipv6: family
 */
void trafgen_cursor_init(TrafgenCursor *cursor, const TrafgenPattern *pattern,
                         guint flow, uint32_t payload, gboolean ipv6);

/**
 * trafgen_cursor_next:
 * @cursor: cursor
 * @ret_segment: filled with the next segment when one is left
 *
 * Returns: TRUE when a segment was produced, FALSE at the end.
 */
gboolean trafgen_cursor_next(TrafgenCursor *cursor,
                             TrafgenSegment *ret_segment);

/**
 * trafgen_step_kind_to_string:
 * Returns: static name of @kind as written in patterns.
 */
const char *trafgen_step_kind_to_string(TrafgenStepKind kind);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrafgenPattern, trafgen_pattern_free)

/* --help text: grammar, kinds, knobs and built-ins. */
#define TRAFGEN_PATTERN_HELP                                                   \
    "Patterns: --pattern NAME (built-in) or --pattern-text TEXT.\n"            \
    "  TEXT  := STEP { ',' STEP }\n"                                           \
    "  STEP  := KIND [ '*' COUNT ] { ':' KNOB [ '=' VALUE ] }\n"               \
    "  Each flow runs the whole pattern; one step = one slot of the grid.\n"   \
    "  Kinds (seq/ack are the flow's state; snd_nxt starts at isn+1):\n"       \
    "    data    ACK + payload at snd_nxt; snd_nxt += len\n"                   \
    "    ack     pure ACK, no payload, ack += adv (default 100)\n"             \
    "    dupack  pure ACK repeating the current seq, ack and window\n"         \
    "    winupd  window update: no payload, same seq/ack, window += 1024\n"    \
    "    syn     SYN, no payload, seq = snd_nxt (not advanced)\n"              \
    "    fin     FIN|ACK (+len payload, default 0); snd_nxt += len + 1;\n"     \
    "            delimiter: ends a sub-case\n"                                 \
    "    rst     RST|ACK, no payload; delimiter\n"                             \
    "    retx    retransmission of the last data segment\n"                    \
    "    ooo     out of order: data at snd_nxt + len (a hole), not advanced\n" \
    "    udp     UDP datagram of len bytes on the same addresses (non-TCP)\n"  \
    "    idle    send nothing in this slot (lets the RSC timer drain)\n"       \
    "    arp     ARP request (not IP), padded to 60 bytes: src MAC/IPv4 ->\n"  \
    "            who-has dst IPv4; IPv6 flows use 192.0.2.1 -> 192.0.2.2\n"    \
    "  Knobs:\n"                                                               \
    "    len=N       payload bytes (default --payload)\n"                      \
    "    psh urg ece cwr fin rst syn   add that TCP flag (urg: urg_ptr=len)\n" \
    "    seq=+N|-N   this segment only: seq offset, snd_nxt not advanced\n"    \
    "    ack=+N|-N   this segment only: ack offset\n"                          \
    "    win=N       window from here on; adv=N  bytes an ack acknowledges\n"  \
    "    ts          TCP timestamp option     ecn     CE codepoint\n"          \
    "    ipopt       IPv4 option (IHL 6)      exthdr  IPv6 hop-by-hop "        \
    "header\n"                                                                 \
    "    nodf        IPv4 without DF          frag    IPv4 MF / IPv6 frag "    \
    "hdr\n"                                                                    \
    "    dfmf        IPv4 MF with DF kept (a fragment that says DF)\n"         \
    "    badcsum     wrong TCP/UDP checksum   badipcsum wrong IPv4 checksum\n" \
    "    iplen=short|long  IP length below the headers / beyond the frame\n"   \
    "    doff=N      TCP data offset field := N (0..15), bytes unchanged\n"    \
    "                (doff=1: a header shorter than 20 bytes)\n"               \
    "    trunc=N     cut the frame to N bytes\n"                               \
    "  Built-in patterns (NAME: expansion; --count repeats it, for whql\n"     \
    "  --count is the number of segments):\n"                                  \
    "    whql       data*COUNT (one MSS-sized segment per period)\n"           \
    "    syn        data*3,syn,data*3,fin\n"                                   \
    "    fin        data*3,fin\n"                                              \
    "    rst        data*3,rst\n"                                              \
    "    urg|ece|cwr  data*3,data:FLAG,data*2,fin\n"                           \
    "    psh        data*2,data:psh,data*2,fin\n"                              \
    "    pureack    data*3,ack,data*2,fin\n"                                   \
    "    dupack     data*2,ack,dupack,dupack,data*2,fin\n"                     \
    "    winupdate  data*2,ack,winupd,data*2,fin\n"                            \
    "    afterack   ack,data*3,fin (data after pure ACK)\n"                    \
    "    ooo        data*3,ooo,data*2,fin\n"                                   \
    "    retrans    data*3,retx,data*2,fin\n"                                  \
    "    seqoow     data*3,data:seq=+70000,data*2,fin\n"                       \
    "    ackoow     data*3,data:ack=+70000,data*2,fin\n"                       \
    "    tsopt      data*4:ts,fin\n"                                           \
    "    ipopt      data*2,data:ipopt,data*2,fin (IPv4 only)\n"                \
    "    nodf       data*2,data:nodf,data*2,fin (IPv4 only)\n"                 \
    "    frag       data*2,data:frag,data*2,fin\n"                             \
    "    ecn        data*2,data:ecn,data*2,fin\n"                              \
    "    exthdr     data*2,data:exthdr,data*2,fin (IPv6 only)\n"               \
    "    nontcp     data*2,udp,data*2,fin\n"                                   \
    "    nonip      data*2,arp,data*2,fin\n"                                   \
    "    oversize   data*48:len=1448,fin (IPv6 len=1428; crosses 64 KiB)\n"    \
    "    malformed  data*2,data:badcsum,[data:badipcsum,]data:iplen=short,\n"  \
    "               data:iplen=long,data:trunc=40,data*2,fin\n"                \
    "    all        every case above for the family, in that order\n"
