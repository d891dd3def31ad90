/*
 * Which QEMU build `rig run` runs on, and what the results record about it.
 *
 * Two builds come out of ci/build-qemu: `fixed` (the whole series: the
 * observability patches and the RSC fixes; what ci/certify certifies) and
 * `stock` (observability patches only: QEMU as users run it).  The rig has
 * both paths baked in at configure time (meson options qemu_binary and
 * qemu_stock_binary, which ci/build fills from ci/build-qemu); RIG_QEMU and
 * RIG_QEMU_STOCK override them.  Any other QEMU is given by path.
 *
 * The kind decides the expectations: on `fixed` a scenario must match the
 * oracle's spec mode with no known failure; on `stock` (and on any other
 * QEMU, which stands for upstream) the oracle's qemu mode is the reference
 * and the profile's stock_known_failures apply (hck-profiles/README.md).
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

typedef enum {
    QEMU_BUILD_FIXED, /* ci/build-qemu: the whole series */
    QEMU_BUILD_STOCK, /* ci/build-qemu --stock: observability only */
    QEMU_BUILD_OTHER, /* a path whose build record names neither */
} QemuBuildKind;

typedef struct {
    QemuBuildKind kind;
    char *requested;      /* "fixed", "stock" or the path as given */
    char *path;           /* the binary */
    char *variant;        /* rig-qemu-build.json "build", NULL if none */
    char *version;        /* upstream version, e.g. "10.0.13"; NULL unknown */
    char *debian_version; /* NULL unless built by ci/build-qemu */
    char *series_hash;    /* sha256 of the applied series; NULL likewise */
    char *cache_key;      /* ci/build-qemu's prefix key; NULL likewise */
    GStrv patches;        /* applied patch files, in order; NULL likewise */
    GStrv fix_patches;    /* those of class fix; NULL when not recorded */
    gboolean has_record;  /* <prefix>/rig-qemu-build.json was read */
} QemuBuild;

#define QEMU_BUILD_ERROR (qemu_build_error_quark())

typedef enum {
    QEMU_BUILD_ERROR_NOT_CONFIGURED, /* no binary for fixed/stock */
    QEMU_BUILD_ERROR_MISSING,        /* the path is not an executable */
    QEMU_BUILD_ERROR_MISMATCH,       /* record says another variant */
    QEMU_BUILD_ERROR_INVALID,        /* neither a keyword nor a path */
} QemuBuildErrorCode;

/**
 * qemu_build_error_quark:
 *
 * Returns: the GError domain of qemu_build_resolve().
 */
GQuark qemu_build_error_quark(void);

/**
 * qemu_build_resolve:
 * @spec: (nullable): "fixed" (also "patched"), "stock", or an absolute
 *   path; NULL means "fixed"
 * @error: return location; says how to get the missing build
 *
 * Finds the binary, reads its build record (<prefix>/rig-qemu-build.json)
 * when there is one, and decides the kind.  A keyword whose binary's
 * record names the other variant is an error, never a silent swap.
 *
 * Returns: (transfer full): the build, free with qemu_build_free(); or NULL
 */
QemuBuild *qemu_build_resolve(const char *spec, GError **error);

/**
 * qemu_build_load_record:
 * @build: a build whose path is set
 * @record_path: the rig-qemu-build.json to read
 *
 * Fills the record fields (variant, version, debian_version, series_hash,
 * cache_key, patches) from @record_path; a missing or unreadable record
 * leaves them unset (has_record stays FALSE).  Exposed for unit tests.
 */
void qemu_build_load_record(QemuBuild *build, const char *record_path);

/**
 * qemu_build_kind_from_variant:
 * @variant: (nullable): a record's "variant"
 *
 * Returns: FIXED for "fixed", STOCK for "stock", OTHER otherwise
 */
QemuBuildKind qemu_build_kind_from_variant(const char *variant);

/**
 * qemu_build_free:
 * @build: (nullable) (transfer full): a build
 */
void qemu_build_free(QemuBuild *build);

/**
 * qemu_build_kind_name:
 * @kind: a kind
 *
 * Returns: (transfer none): "fixed", "stock" or "other"
 */
const char *qemu_build_kind_name(QemuBuildKind kind);

/**
 * qemu_build_to_json:
 * @build: a build
 *
 * Returns: (transfer full): {"build", "requested", "path", "variant",
 *   "version", "debian_version", "patch_series_hash", "cache_key",
 *   "patches", "fix_patches"} (json_node_unref)
 */
JsonNode *qemu_build_to_json(const QemuBuild *build);

/**
 * qemu_build_copy:
 * @build: a build
 *
 * Returns: (transfer full): a deep copy
 */
QemuBuild *qemu_build_copy(const QemuBuild *build);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(QemuBuild, qemu_build_free)
