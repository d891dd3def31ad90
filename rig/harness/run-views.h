/*
 * Turning real bytes into the checks engine's views: sent frames (as
 * built for rsc-trafgen), frames the reference guest received (virtio-net
 * header + frame), and the oracle's predictions.  Flows are numbered in
 * the order the scenario first sends them; received frames of no sent
 * flow are noise (flow CHECK_FLOW_NONE), frames rig/net can not parse are
 * grouped under one "unparsable frames" flow so that the oracle
 * comparison still covers them.
 */
#pragma once

#include <glib.h>

#include "harness/check.h"
#include "net/parse.h"

typedef struct RunFlows RunFlows;

/**
 * run_flows_new:
 * @cs: (transfer none): the scenario data whose flow list is filled; must
 *   outlive the result
 *
 * Returns: (transfer full): an empty flow table; free with
 *   run_flows_free()
 */
RunFlows *run_flows_new(CheckScenario *cs);

/**
 * run_flows_free:
 * @flows: (nullable) (transfer full): a flow table
 */
void run_flows_free(RunFlows *flows);

/**
 * run_views_add_sent:
 * @flows: the flow table (new flows are added)
 * @frame: an Ethernet frame as sent (borrowed)
 * @len: its length
 * @time_ns: when it was sent
 *
 * Appends the frame to the scenario's sent view.
 */
void run_views_add_sent(RunFlows *flows, const guint8 *frame, gsize len,
                        gint64 time_ns);

/**
 * run_views_add_received:
 * @flows: the flow table (not extended: unknown flows are noise)
 * @view: the guest or an oracle view of the same scenario
 * @buf: virtio_net_hdr_v1 (12 bytes) followed by the frame (borrowed)
 * @len: its length
 * @time_ns: when it was received
 */
void run_views_add_received(RunFlows *flows, CheckView *view, const guint8 *buf,
                            gsize len, gint64 time_ns);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RunFlows, run_flows_free)
