/*
 * rig/guest error domain: every failure of the reference guest is a GError
 * in this domain, its message naming the command or register involved.
 */
#pragma once

#include <glib.h>

#define RIG_GUEST_ERROR (rig_guest_error_quark())

typedef enum {
    /* QEMU answered a qtest command with FAIL/ERR. */
    RIG_GUEST_ERROR_COMMAND_FAILED,
    /* A line from QEMU that is not valid qtest protocol. */
    RIG_GUEST_ERROR_PROTOCOL,
    /* A deadline passed (qtest reply, device ack, used ring). */
    RIG_GUEST_ERROR_TIMEOUT,
    /* The qtest connection closed or broke. */
    RIG_GUEST_ERROR_DISCONNECTED,
    /* No matching PCI device or capability. */
    RIG_GUEST_ERROR_NOT_FOUND,
    /* The device did something the virtio spec forbids. */
    RIG_GUEST_ERROR_DEVICE,
    /* The device refused what we asked (features, control command). */
    RIG_GUEST_ERROR_REFUSED,
    /* Bad argument from the caller (profile name, sizes). */
    RIG_GUEST_ERROR_INVALID,
    /* Out of guest memory in the bump allocator. */
    RIG_GUEST_ERROR_NO_MEMORY,
} RigGuestError;

/**
 * rig_guest_error_quark:
 *
 * Returns: the GQuark of the RIG_GUEST_ERROR domain.
 */
GQuark rig_guest_error_quark(void);
