/*
 * The two enums the coalescing rules (rules.h) and the oracle (oracle.h)
 * share: which QEMU is modelled, and the address family of a chain.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* qemu: QEMU as it is (stock); spec: the fixed build (RscOracleConfig.fixes).
 */
typedef enum RscMode {
    RSC_MODE_QEMU = 0,
    RSC_MODE_SPEC,
} RscMode;

/* One chain per ethertype, as in QEMU (virtio_net_rsc_lookup_chain). */
typedef enum RscFamily {
    RSC_FAMILY_IPV4 = 0,
    RSC_FAMILY_IPV6,
    RSC_FAMILY_COUNT,
} RscFamily;

G_END_DECLS
