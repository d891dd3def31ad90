# What `ci/build-qemu --base X` builds from (sourced by ci/build-qemu).
#
#   X = a directory of qemu-patches/ (10.0, 10.2)
#         that base's pinned Debian source and its series
#   X = newest
#         the newest Debian qemu source that apt lists *and* the archive
#         still has (a listed version can be gone: it falls back to the
#         next, and says so), with the series of its MAJOR.MINOR
#   X = a Debian or upstream version (1:10.2.2+ds-1, 10.2.2)
#         that source (the newest revision of it), same series rule
#   X = a path to a QEMU source tree (a developer's checkout)
#         a snapshot of the tree (git: tracked and untracked-but-not-ignored
#         files, plus subprojects/), same series rule by its VERSION file
# A version with no series of its own gets the newest series older than it,
# with a warning.  Sets BASE (the qemu-patches/ directory), BASE_KIND
# (pinned, archive or local) and, for archive and local, BASE_VERSION (the
# version the build records and keys on; empty when the archive has to be
# asked first: resolve_base_archive then runs under the lock).

# Where versions the archive turned out not to have are remembered; a mark
# older than apt's source indexes is ignored (the archive may have changed).
missing_mark()
{
    printf '%s/downloads/.missing/%s\n' "$RIG_CACHE" "${1//[:\/]/_}"
}

apt_lists_mtime()
{
    local newest=0 f t
    for f in /var/lib/apt/lists/*Sources*; do
        [ -e "$f" ] || continue
        t=$(stat -c %Y "$f")
        [ "$t" -gt "$newest" ] && newest=$t
    done
    printf '%s\n' "$newest"
}

# $1 = Debian version: known to be gone from the archive (and apt's
# indexes have not changed since we found out).
known_missing()
{
    local mark
    mark=$(missing_mark "$1")
    [ -f "$mark" ] && [ "$(stat -c %Y "$mark")" -ge "$(apt_lists_mtime)" ]
}

# $1 = Debian version: its source package is in $RIG_CACHE/downloads.
downloaded()
{
    local dsc=$RIG_CACHE/downloads/qemu_${1#*:}.dsc orig
    [ -f "$dsc" ] || return 1
    orig=$(sed -n 's/^ [0-9a-f]\{64\} [0-9]* \(.*\.orig\.tar\.[a-z0-9]*\)$/\1/p' \
        "$dsc" | head -n 1)
    [ -n "$orig" ] && [ -f "$RIG_CACHE/downloads/$orig" ]
}

# $1 = version: prints its MAJOR.MINOR.
major_minor()
{
    local v=${1#*:}
    v=${v%%[+~-]*}
    printf '%s\n' "$v" | cut -d. -f1-2
}

# $1 = MAJOR.MINOR: prints the qemu-patches/ directory for it: its own, or
# the newest older one (with a warning unless $2 = quiet); fails when there
# is none.
series_for()
{
    local want=$1 quiet=${2:-} d name best=""
    if [ -f "$PATCHES_ROOT/$want/series" ]; then
        printf '%s\n' "$want"
        return 0
    fi
    for d in "$PATCHES_ROOT"/*/; do
        name=$(basename "$d")
        [ -f "$d/series" ] || continue
        dpkg --compare-versions "$name" le "$want" || continue
        if [ -z "$best" ] || dpkg --compare-versions "$name" gt "$best"; then
            best=$name
        fi
    done
    [ -n "$best" ] ||
        die "no series for QEMU $want or older in $PATCHES_ROOT (available: $(available_bases))"
    [ -n "$quiet" ] ||
        info "WARNING: no qemu-patches/$want/: applying the $best series to QEMU $want (it may need a port: ci/port-series)"
    printf '%s\n' "$best"
}

# Prints the archive's qemu source versions matching request $1 (newest or
# a version), newest first.
archive_candidates()
{
    local request=$1 v
    apt-cache showsrc qemu 2>/dev/null | sed -n 's/^Version: //p' | sort -u |
        while read -r v; do
            case $request in
            newest) ;;
            *:*) [ "$v" = "$request" ] || continue ;;
            *)
                local up=${v#*:}
                up=${up%%[+~-]*}
                [ "$up" = "$request" ] || [ "${v#*:}" = "$request" ] ||
                    [ "${up#"$request".}" != "$up" ] || continue
                ;;
            esac
            printf '%s\n' "$v"
        done | sort -r -V
}

# A checkout's identity: HEAD and the state of its work tree (git), or the
# names, sizes and times of its files.
tree_id()
{
    local src=$1
    if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
        {
            git -C "$src" rev-parse HEAD
            git -C "$src" diff HEAD
            git -C "$src" ls-files -o --exclude-standard
        } | sha256sum | cut -c1-12
    else
        (cd "$src" && find . -path ./build -prune -o -type f \
            -printf '%P %s %T@\n' | sort) | sha256sum | cut -c1-12
    fi
}

# Sets BASE, BASE_KIND and BASE_VERSION for request $1; offline.
resolve_base_request()
{
    local request=$1 v
    BASE_VERSION=""
    LOCAL_SRC=""
    if [ -f "$PATCHES_ROOT/$request/series" ] ||
        [ -f "$PATCHES_ROOT/$request/pinned" ]; then
        BASE=$request
        BASE_KIND=pinned
        return 0
    fi
    case $request in
    */* | .*)
        [ -d "$request" ] || die "--base $request: no such directory"
        LOCAL_SRC=$(cd "$request" && pwd -P)
        [ -f "$LOCAL_SRC/VERSION" ] && [ -f "$LOCAL_SRC/hw/net/virtio-net.c" ] ||
            die "--base $request: not a QEMU source tree (no VERSION or hw/net/virtio-net.c)"
        BASE_KIND=local
        v=$(tr -d '[:space:]' <"$LOCAL_SRC/VERSION")
        BASE_VERSION=$v-local-$(tree_id "$LOCAL_SRC")
        BASE=$(series_for "$(major_minor "$v")")
        return 0
        ;;
    newest | [0-9]*) ;;
    *) die "--base $request: not a base (available: $(available_bases)), 'newest', a version or a source directory" ;;
    esac
    BASE_KIND=archive
    local candidates
    candidates=$(archive_candidates "$request")
    [ -n "$candidates" ] ||
        die "--base $request: no qemu-patches/$request/ (available: $(available_bases)) and apt lists no qemu source matching '$request' (ci/setup adds deb-src for bookworm, trixie, forky and sid)"
    # Without the network: the first candidate that is downloaded, if every
    # newer one is known to be missing.
    local skipped=()
    while read -r v; do
        if downloaded "$v"; then
            BASE_VERSION=$v
            break
        fi
        known_missing "$v" || break
        skipped+=("$v")
    done <<<"$candidates"
    if [ -n "$BASE_VERSION" ]; then
        if [ ${#skipped[@]} -gt 0 ]; then
            info "WARNING: building qemu $BASE_VERSION, the newest matching '$request' that downloads: apt lists ${skipped[*]}, which the archive does not have"
        fi
        BASE=$(series_for "$(major_minor "$BASE_VERSION")")
    else
        # A guess until the archive is asked (resolve_base_archive).
        BASE=$(series_for "$(major_minor "$(head -n 1 <<<"$candidates")")" quiet)
    fi
}

# Under the lock: downloads the newest candidate of request $1 that the
# archive has, remembering the ones it does not; sets BASE_VERSION and
# BASE.
resolve_base_archive()
{
    local request=$1 v first=""
    [ -z "$BASE_VERSION" ] || return 0
    while read -r v; do
        [ -n "$first" ] || first=$v
        if downloaded "$v"; then
            BASE_VERSION=$v
            break
        fi
        if known_missing "$v"; then
            info "WARNING: qemu $v is listed by apt but not in the archive (found out before): skipping it"
            continue
        fi
        VERSION=$v
        FALLBACK=1
        if (fetch_source) 2>>"$LOG"; then
            BASE_VERSION=$v
            break
        fi
        mkdir -p "$(dirname "$(missing_mark "$v")")"
        touch "$(missing_mark "$v")"
        info "WARNING: qemu $v is listed by apt but the archive does not have it: trying the next"
    done < <(archive_candidates "$request")
    [ -n "$BASE_VERSION" ] ||
        die "no qemu source matching '$request' downloads from the archive (tried: $(archive_candidates "$request" | tr '\n' ' '))"
    if [ "$BASE_VERSION" != "$first" ]; then
        info "WARNING: building qemu $BASE_VERSION, the newest matching '$request' that downloads (apt lists $first)"
    fi
    BASE=$(series_for "$(major_minor "$BASE_VERSION")")
}

# Copies local tree $LOCAL_SRC into $1 (what configure and the patches
# see; build directories and .git stay behind).
snapshot_local_tree()
{
    local dest=$1
    mkdir -p "$dest"
    if git -C "$LOCAL_SRC" rev-parse --git-dir >/dev/null 2>&1; then
        {
            git -C "$LOCAL_SRC" ls-files -co --exclude-standard
            if [ -d "$LOCAL_SRC/subprojects" ]; then
                (cd "$LOCAL_SRC" && find subprojects -type f)
            fi
        } | sort -u | (cd "$LOCAL_SRC" && tar -cf - --no-recursion -T -) |
            tar -xf - -C "$dest"
    else
        (cd "$LOCAL_SRC" && tar -cf - --exclude=./build --exclude=.git .) |
            tar -xf - -C "$dest"
    fi
}
