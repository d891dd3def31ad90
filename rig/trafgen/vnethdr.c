/*
 * vnethdr.c - the virtio-net header of an offloaded TCP frame
 */
#include "trafgen/vnethdr.h"

#include <errno.h>
#include <string.h>

#include "net/checksum.h"
#include "net/parse.h"

gboolean trafgen_vnet_mode_from_string(const char *s, TrafgenVnetMode *ret_mode)
{
    static const char *const names[] = {"none", "csum", "gso"};

    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        if (g_strcmp0(s, names[i]) == 0) {
            *ret_mode = (TrafgenVnetMode)i;
            return TRUE;
        }
    }
    return FALSE;
}

const char *trafgen_vnet_mode_to_string(TrafgenVnetMode mode)
{
    switch (mode) {
    case TRAFGEN_VNET_CSUM:
        return "csum";
    case TRAFGEN_VNET_GSO:
        return "gso";
    case TRAFGEN_VNET_NONE:
    default:
        return "none";
    }
}

int trafgen_vnet_prepare(TrafgenVnetMode mode, uint16_t gso_size,
                         uint8_t *frame, size_t len, RigVirtioNetHdrV1 *ret_hdr)
{
    RigVirtioNetHdrV1 hdr = {0};
    RigNetView v;
    uint32_t sum;
    int r;

    if (mode == TRAFGEN_VNET_NONE) {
        *ret_hdr = hdr;
        return 0;
    }
    r = rig_net_parse(frame, len, 0, &v, NULL);
    if (r < 0) {
        return r;
    }
    if (v.family == 0 || v.protocol != RIG_IPPROTO_TCP || v.l4_off == 0 ||
        v.is_fragment || (mode == TRAFGEN_VNET_GSO && v.payload_len == 0)) {
        *ret_hdr = hdr;
        return 0;
    }
    if (v.l4_off + v.l4_hdr_len > len) {
        return -EINVAL;
    }
    /* The checksum the hardware would fill in: pseudo-header sum only. */
    if (v.family == 4) {
        sum = rig_csum_ipv4_pseudo(frame + v.l3_off + 12, frame + v.l3_off + 16,
                                   RIG_IPPROTO_TCP,
                                   (uint16_t)(v.l4_hdr_len + v.payload_len));
    } else {
        sum = rig_csum_ipv6_pseudo(frame + v.l3_off + 8, frame + v.l3_off + 24,
                                   RIG_IPPROTO_TCP,
                                   (uint32_t)(v.l4_hdr_len + v.payload_len));
    }
    rig_be16_put(frame + v.l4_off + 16, (uint16_t)~rig_csum_finish(sum));
    hdr.flags = RIG_VIRTIO_NET_HDR_F_NEEDS_CSUM;
    rig_le16_set(&hdr.csum_start, (uint16_t)v.l4_off);
    rig_le16_set(&hdr.csum_offset, 16);
    /* The headers, as a sender's driver says them (linear part). */
    rig_le16_set(&hdr.hdr_len, (uint16_t)(v.l4_off + v.l4_hdr_len));
    if (mode == TRAFGEN_VNET_GSO) {
        uint16_t mss = gso_size ? gso_size : TRAFGEN_VNET_DEFAULT_GSO_SIZE;

        hdr.gso_type = v.family == 4 ? RIG_VIRTIO_NET_HDR_GSO_TCPV4
                                     : RIG_VIRTIO_NET_HDR_GSO_TCPV6;
        rig_le16_set(&hdr.gso_size, (uint16_t)MIN((size_t)mss, v.payload_len));
    }
    *ret_hdr = hdr;
    return 0;
}
