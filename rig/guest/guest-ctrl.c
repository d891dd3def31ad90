#include "guest/guest-ctrl.h"

#include <string.h>

#include "guest/guest-error.h"

#define ALIGN4(x) (((x) + 3u) & ~3u)
/* Header (2), two parts, the ack: at most 4 descriptors per command. */
#define MAX_BUFS 4

typedef struct {
    RigVirtqBuf bufs[MAX_BUFS];
    guint nbufs;
    uint32_t ack_off;
} Slot;

/* Lays command @c out in @img (its slot at guest address @addr). */
static gboolean fill_slot(const RigGuestCtrlCmd *c, uint64_t addr, uint8_t *img,
                          Slot *slot, GError **error)
{
    uint32_t off = 4;

    if (c->nparts > 2 || (c->nparts >= 1 && c->part_len[0] == 0) ||
        (c->nparts == 2 && c->part_len[1] == 0) ||
        (c->nparts >= 1 ? c->part_len[0] : 0) +
                (c->nparts == 2 ? c->part_len[1] : 0) >
            RIG_GUEST_CTRL_MAX_DATA) {
        g_set_error(error, RIG_GUEST_ERROR, RIG_GUEST_ERROR_INVALID,
                    "control command class %u cmd %u: data parts must be 1 "
                    "or 2, non-empty, %u bytes in all at most",
                    c->cls, c->cmd, RIG_GUEST_CTRL_MAX_DATA);
        return FALSE;
    }
    img[0] = c->cls;
    img[1] = c->cmd;
    slot->bufs[0] = (RigVirtqBuf){.addr = addr, .len = 2};
    slot->nbufs = 1;
    for (guint p = 0; p < c->nparts; p++) {
        memcpy(img + off, c->part[p], c->part_len[p]);
        slot->bufs[slot->nbufs++] =
            (RigVirtqBuf){.addr = addr + off, .len = c->part_len[p]};
        off = ALIGN4(off + c->part_len[p]);
    }
    slot->ack_off = off;
    img[off] = 0xff;
    slot->bufs[slot->nbufs++] = (RigVirtqBuf){
        .addr = addr + off,
        .len = 1,
        .device_writes = TRUE,
    };
    return TRUE;
}

/* Sends cmds[0..n) (n <= RIG_GUEST_CTRL_SLOTS) and collects the acks. */
static gboolean run_batch(RigGuestCtrl *ctrl, RigGuestCtrlCmd *cmds, guint n,
                          GError **error)
{
    gsize bytes = (gsize)n * RIG_GUEST_CTRL_SLOT_SIZE;
    g_autofree uint8_t *img = g_malloc0(bytes);
    Slot slots[RIG_GUEST_CTRL_SLOTS];

    for (guint k = 0; k < n; k++) {
        if (!fill_slot(&cmds[k], ctrl->base + k * RIG_GUEST_CTRL_SLOT_SIZE,
                       img + k * RIG_GUEST_CTRL_SLOT_SIZE, &slots[k], error)) {
            return FALSE;
        }
    }
    if (!rig_guest_ram_write(ctrl->ram, ctrl->base, img, bytes, error)) {
        return FALSE;
    }
    for (guint k = 0; k < n; k++) {
        if (!rig_virtq_add(ctrl->vq, slots[k].bufs, slots[k].nbufs, k, error)) {
            return FALSE;
        }
    }
    if (!rig_virtq_kick(ctrl->vq, error)) {
        return FALSE;
    }
    for (guint done = 0; done < n; done++) {
        guint64 token;
        uint32_t written;

        if (!rig_virtq_wait_used(ctrl->vq, ctrl->timeout_ms, &token, &written,
                                 error)) {
            return FALSE;
        }
    }
    if (!rig_guest_ram_read(ctrl->ram, ctrl->base, img, bytes, error)) {
        return FALSE;
    }
    for (guint k = 0; k < n; k++) {
        cmds[k].ack = img[k * RIG_GUEST_CTRL_SLOT_SIZE + slots[k].ack_off];
        ctrl->commands++;
        if (cmds[k].ack != RIG_VIRTIO_NET_OK) {
            ctrl->failed++;
        }
    }
    return TRUE;
}

gboolean rig_guest_ctrl_run(RigGuestCtrl *ctrl, RigGuestCtrlCmd *cmds, guint n,
                            GError **error)
{
    /* As many as the ring holds at MAX_BUFS descriptors each. */
    guint per_batch =
        CLAMP(ctrl->vq->layout.size / MAX_BUFS, 1, RIG_GUEST_CTRL_SLOTS);

    for (guint done = 0; done < n;) {
        guint batch = MIN(n - done, per_batch);

        if (!run_batch(ctrl, cmds + done, batch, error)) {
            g_prefix_error(error,
                           "control command class %u cmd %u: ", cmds[done].cls,
                           cmds[done].cmd);
            return FALSE;
        }
        done += batch;
    }
    return TRUE;
}
