# Shared helpers for the ci/ scripts (sourced, not executed).

RIG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Debian's interpreter: pytest comes from python3-pytest, whatever python3
# comes first on PATH.
RIG_PYTHON=/usr/bin/python3
# Built QEMU trees live outside the clone so that they survive between runs.
RIG_CACHE=${RIG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rsc-rig}

info()
{
    printf '%s: %s\n' "$(basename "$0")" "$*" >&2
}

die()
{
    printf '%s: error: %s\n' "$(basename "$0")" "$*" >&2
    exit 2
}
