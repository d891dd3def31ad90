/*
 * Writes every built-in pattern of rsc-trafgen, for each family it exists
 * in, as one file per pattern into DIR: the seed corpus of fuzz-pattern.
 *   fuzz-pattern-seeds DIR
 */
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "output/output-file.h"
#include "trafgen/pattern.h"

int main(int argc, char **argv)
{
    const char *const *names = trafgen_pattern_builtin_names();

    if (argc != 2 || g_mkdir_with_parents(argv[1], 0755) < 0) {
        fprintf(stderr, "usage: fuzz-pattern-seeds DIR\n");
        return 2;
    }
    for (guint i = 0; names[i]; i++) {
        for (int ipv6 = 0; ipv6 < 2; ipv6++) {
            g_autoptr(GError) error = NULL;
            g_autofree char *text =
                trafgen_pattern_builtin(names[i], ipv6, 3, &error);
            g_autofree char *base = NULL;
            g_autofree char *path = NULL;

            if (!text) {
                continue; /* not in this family */
            }
            base = g_strdup_printf("builtin-%s-%s", names[i],
                                   ipv6 ? "ipv6" : "ipv4");
            path = g_build_filename(argv[1], base, NULL);
            if (!rig_output_write(path, text, strlen(text), &error)) {
                fprintf(stderr, "fuzz-pattern-seeds: %s\n", error->message);
                return 1;
            }
        }
    }
    return 0;
}
