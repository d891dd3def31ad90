#include "guest/guest-error.h"

/* clang-format off */
G_DEFINE_QUARK(rig-guest-error-quark, rig_guest_error)
/* clang-format on */
