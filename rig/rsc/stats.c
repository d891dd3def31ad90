/*
 * Name table of the RSC counters.
 */
#include "rsc/stats.h"

#include <string.h>

#define RSC_STATS_NAME(name) #name,

static const char *const rsc_stats_names[RSC_STATS_N_FIELDS] = {
    RSC_STATS_FOREACH(RSC_STATS_NAME)};

const char *rsc_stats_field_name(guint index)
{
    if (index >= RSC_STATS_N_FIELDS) {
        return NULL;
    }
    return rsc_stats_names[index];
}

int rsc_stats_field_index(const char *name)
{
    g_return_val_if_fail(name != NULL, -1);

    for (guint i = 0; i < RSC_STATS_N_FIELDS; i++) {
        if (strcmp(rsc_stats_names[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

guint64 rsc_stats_field_value(const RscStats *stats, guint index)
{
    g_return_val_if_fail(stats != NULL, 0);
    if (index >= RSC_STATS_N_FIELDS) {
        return 0;
    }
    return stats->counter[index];
}

gboolean rsc_stats_lookup(const RscStats *stats, const char *name,
                          guint64 *ret_value)
{
    int index;

    g_return_val_if_fail(stats != NULL, FALSE);
    index = rsc_stats_field_index(name);
    if (index < 0) {
        return FALSE;
    }
    if (ret_value) {
        *ret_value = rsc_stats_field_value(stats, (guint)index);
    }
    return TRUE;
}
