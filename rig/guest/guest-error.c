#include "guest/guest-error.h"

G_DEFINE_QUARK(rig - guest - error - quark, rig_guest_error)
