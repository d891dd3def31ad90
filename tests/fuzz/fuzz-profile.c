/*
 * libFuzzer target: the certification profile loader, INI and schema
 * (rig/ini + rig/harness/profile.c) with the pattern validator `rig run`
 * uses.  The input is the profile text.
 *
 * Invariants: a rejection comes with a message naming the profile; an
 * accepted profile has a name and at least one scenario, each with a name
 * and a pattern.  Seeds: every shipped profile (ci/fuzz).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness/profile.h"
#include "harness/run.h"

#define FUZZ_NAME     "fuzz.ini"
#define FUZZ_MAX_TEXT 65536u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Profile) p = NULL;

    if (size > FUZZ_MAX_TEXT) {
        return 0;
    }
    p = profile_load_data(FUZZ_NAME, (const char *)data, (gssize)size,
                          run_validate_pattern, NULL, &error);
    if (!p) {
        if (!error || !g_str_has_prefix(error->message, FUZZ_NAME)) {
            abort();
        }
        return 0;
    }
    if (error || !p->name || p->scenarios->len == 0) {
        abort();
    }
    for (guint i = 0; i < p->scenarios->len; i++) {
        const ProfileScenario *s = g_ptr_array_index(p->scenarios, i);

        if (!s->name || !s->pattern) {
            abort();
        }
    }
    return 0;
}
