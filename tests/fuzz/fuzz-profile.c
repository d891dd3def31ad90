/*
 * libFuzzer target: both profile loaders on the same text, INI and schema
 * (rig/ini + rig/harness/profile.c with the pattern validator and frame
 * size check `rig run` uses; rig/session/profile.c).
 *
 * Invariants: a rejection comes with a message naming the profile; an
 * accepted certification profile has a name and at least one scenario,
 * each with a name and a pattern; an accepted session profile has its VMs.
 * Seeds: every shipped profile, both kinds (ci/fuzz).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness/profile.h"
#include "harness/run.h"
#include "session/profile.h"

#define FUZZ_NAME     "fuzz.ini"
#define FUZZ_MAX_TEXT 65536u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_session_profile(const uint8_t *data, size_t size)
{
    g_autofree char *text = g_strndup((const char *)data, size);
    g_autoptr(GError) error = NULL;
    g_autoptr(SessionProfile) p =
        session_profile_load_data(text, FUZZ_NAME, &error);

    if (!p) {
        if (!error || !g_str_has_prefix(error->message, FUZZ_NAME)) {
            abort();
        }
        return;
    }
    if (error || !p->vms || p->vms->len == 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Profile) p = NULL;

    if (size > FUZZ_MAX_TEXT) {
        return 0;
    }
    fuzz_session_profile(data, size);
    p = profile_load_data(FUZZ_NAME, (const char *)data, (gssize)size,
                          run_validate_pattern, NULL, &error);
    if (p && !run_check_frame_sizes(p, &error)) {
        g_clear_pointer(&p, profile_free);
    }
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
