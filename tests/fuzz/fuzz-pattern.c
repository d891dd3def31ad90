/*
 * libFuzzer target: the pattern grammar (rsc-trafgen --pattern-text, the
 * profile key `pattern`).  The input is the pattern text.  Every accepted
 * pattern is checked for both families and its first segments are
 * expanded and built into frames, which rig/net must parse back.
 *
 * Invariants: a rejection comes with a message; an accepted pattern has at
 * least one step and no error; a built frame fits its buffer and parses
 * (unless the step asked for a broken one).
 * Seeds: fuzz-pattern-seeds writes every built-in pattern (ci/fuzz adds
 * every `pattern =` of the shipped profiles).
 */
#include <stdint.h>
#include <stdlib.h>

#include "net/build.h"
#include "net/parse.h"
#include "trafgen/frame.h"
#include "trafgen/pattern.h"

/* longer than any sensible pattern; keeps each run fast */
#define FUZZ_MAX_TEXT     4096u
#define FUZZ_MAX_SEGMENTS 64u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gboolean asks_for_broken_frame(const TrafgenSegment *seg)
{
    /* doff= exists to write a data offset that does not match the bytes
     * laid out (a malformed TCP header) */
    return seg->knobs.badcsum || seg->knobs.badipcsum ||
           seg->knobs.trunc >= 0 || seg->knobs.iplen != TRAFGEN_IPLEN_OK ||
           seg->knobs.frag || seg->knobs.has_doff;
}

static void build_some(const TrafgenPattern *p, gboolean ipv6)
{
    static uint8_t buf[RIG_NET_FRAME_MAX];
    TrafgenEndpoints ep;
    TrafgenCursor cursor;
    TrafgenSegment seg;

    trafgen_endpoints_init_default(&ep, ipv6);
    trafgen_cursor_init(&cursor, p, 0, 1000, ipv6);
    for (guint i = 0;
         i < FUZZ_MAX_SEGMENTS && trafgen_cursor_next(&cursor, &seg); i++) {
        ssize_t n = trafgen_frame_build(&ep, &seg, buf, sizeof(buf));
        RigNetView view;
        RigNetError why;

        if (n > (ssize_t)sizeof(buf)) {
            abort();
        }
        if (n <= 0 || seg.kind == TRAFGEN_STEP_ARP) {
            continue;
        }
        if (asks_for_broken_frame(&seg)) {
            /* the parser must refuse or read it, never crash */
            (void)rig_net_parse(buf, (size_t)n, 0, &view, &why);
            continue;
        }
        if (rig_net_parse(buf, (size_t)n, 0, &view, &why) != 0) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *text = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(TrafgenPattern) p = NULL;

    if (size > FUZZ_MAX_TEXT) {
        return 0;
    }
    text = g_strndup((const char *)data, size);
    p = trafgen_pattern_parse(text, &error);
    if (!p) {
        if (!error || !error->message[0]) {
            abort();
        }
        return 0;
    }
    if (error || p->steps->len == 0) {
        abort();
    }
    for (int ipv6 = 0; ipv6 < 2; ipv6++) {
        g_autoptr(GError) family_error = NULL;

        if (!trafgen_pattern_check_family(p, ipv6, &family_error)) {
            if (!family_error) {
                abort();
            }
            continue;
        }
        build_some(p, ipv6);
    }
    return 0;
}
