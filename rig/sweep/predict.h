/*
 * What QEMU should deliver at a point: rig/rsc's oracle (qemu mode) fed
 * with the frames the harness sends, at the ideal slot times or at the
 * times the sender actually sent them.  Under the virtual clock the first
 * is exactly what the guest receives; under wall clocks the difference
 * between the two predictions is the sender's share of the gap, the rest
 * is QEMU's side (tap reads, timers, scheduling).
 */
#pragma once

#include <glib.h>

#include "harness/check.h"
#include "harness/profile.h"

/**
 * sweep_predict:
 * @profile: the point's profile (rsc_interval_us, guest features, families)
 * @scenario: the scenario of @profile that runs
 * @sent_times: (nullable): the measured sent view; its frames' times are
 *   used in order; NULL: slot k at k * period_us
 * @error: return location
 *
 * Returns: (transfer full): a CheckScenario whose sent view holds what is
 *   sent and whose oracle_qemu view what the oracle delivers, or NULL
 */
CheckScenario *sweep_predict(const Profile *profile,
                             const ProfileScenario *scenario,
                             const CheckView *sent_times, GError **error);
