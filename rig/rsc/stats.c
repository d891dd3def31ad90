/*
 * Name table of the RSC counters.
 */
#include "rsc/stats.h"

#include <stddef.h>
#include <string.h>

typedef struct RscStatsField {
    const char *name;
    size_t offset;
} RscStatsField;

#define RSC_FIELD(f)                                                           \
    {                                                                          \
#f, offsetof(RscStats, f)                                              \
    }

static const RscStatsField rsc_stats_fields[RSC_STATS_N_FIELDS] = {
    RSC_FIELD(received),          RSC_FIELD(coalesced),
    RSC_FIELD(over_size),         RSC_FIELD(cache),
    RSC_FIELD(empty_cache),       RSC_FIELD(no_match_cache),
    RSC_FIELD(win_update),        RSC_FIELD(no_match),
    RSC_FIELD(tcp_syn),           RSC_FIELD(tcp_ctrl_drain),
    RSC_FIELD(dup_ack),           RSC_FIELD(pure_ack),
    RSC_FIELD(ack_out_of_win),    RSC_FIELD(data_out_of_win),
    RSC_FIELD(data_out_of_order), RSC_FIELD(data_after_pure_ack),
    RSC_FIELD(bypass_not_tcp),    RSC_FIELD(tcp_all_opt),
    RSC_FIELD(ip_frag),           RSC_FIELD(ip_ecn),
    RSC_FIELD(ip_hacked),         RSC_FIELD(ip_option),
    RSC_FIELD(purge_failed),      RSC_FIELD(drain_failed),
    RSC_FIELD(final_failed),      RSC_FIELD(timer),
};

const char *rsc_stats_field_name(guint index)
{
    if (index >= RSC_STATS_N_FIELDS) {
        return NULL;
    }
    return rsc_stats_fields[index].name;
}

int rsc_stats_field_index(const char *name)
{
    g_return_val_if_fail(name != NULL, -1);

    for (guint i = 0; i < RSC_STATS_N_FIELDS; i++) {
        if (strcmp(rsc_stats_fields[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

guint64 rsc_stats_field_value(const RscStats *stats, guint index)
{
    guint64 value;

    g_return_val_if_fail(stats != NULL, 0);
    if (index >= RSC_STATS_N_FIELDS) {
        return 0;
    }
    memcpy(&value, (const guint8 *)stats + rsc_stats_fields[index].offset,
           sizeof(value));
    return value;
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
