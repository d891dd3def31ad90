/*
 * A catalogue of named frame descriptions covering every builder knob:
 * VLAN, IPv4 options/fragments/ECN, each IPv6 extension header, every TCP
 * flag and option, UDP, other protocols, and every corruption knob.  Used by
 * rig-frame (pcap for tshark), the unit tests and the fuzzer seed corpus.
 */
#pragma once

#include <stddef.h>

#include "net/build.h"

typedef struct RigNetFrameCase {
    const char *name;
    const char *summary;
    /* Comma-separated tshark expert-info fields this case must raise, and
     * nothing else (deliberate damage); NULL: tshark must find no fault. */
    const char *expect_expert;
    void (*setup)(RigNetFrameDesc *desc);
} RigNetFrameCase;

/**
 * rig_net_frame_cases_count:
 * Returns: the number of cases.
 */
size_t rig_net_frame_cases_count(void);

/**
 * rig_net_frame_cases_get:
 * @index: 0 .. rig_net_frame_cases_count() - 1
 *
 * Returns: (transfer none) (nullable): the case, static; NULL out of range.
 */
const RigNetFrameCase *rig_net_frame_cases_get(size_t index);

/**
 * rig_net_frame_cases_find:
 * @name: a case name
 *
 * Returns: (transfer none) (nullable): the case, or NULL if unknown.
 */
const RigNetFrameCase *rig_net_frame_cases_find(const char *name);

/**
 * rig_net_frame_case_desc:
 * @fc: a case
 * @ret_desc: (out): its description; pointers inside refer to static data
 */
void rig_net_frame_case_desc(const RigNetFrameCase *fc,
                             RigNetFrameDesc *ret_desc);
