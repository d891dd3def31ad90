/*
 * Certification profiles (hck-profiles/NAME.ini): the schema and its loader.
 *
 * A profile is a GKeyFile with the groups [profile], [device], [guest] and
 * one [scenario NAME] per scenario, in file order.  hck-profiles/README.md
 * documents every key; this loader is the schema's single implementation:
 * unknown groups and keys are errors, and every error names the file, the
 * group, the key and what was expected.
 */
#pragma once

#include <glib.h>

#define PROFILE_SCHEMA_VERSION 1

#define PROFILE_ERROR (profile_error_quark())

typedef enum {
    PROFILE_ERROR_READ,    /* the file can not be read or is not an .ini */
    PROFILE_ERROR_VERSION, /* [profile] version missing or unsupported */
    PROFILE_ERROR_MISSING, /* a required group or key is absent */
    PROFILE_ERROR_INVALID, /* a value has the wrong type or range */
    PROFILE_ERROR_UNKNOWN, /* a group or key the schema does not know */
} ProfileErrorCode;

typedef enum {
    /* -accel qtest; a host thread steps QEMU's virtual clock every 20 us to
     * follow the host clock */
    PROFILE_CLOCK_REALTIME,
    PROFILE_CLOCK_QTEST, /* deterministic: the guest steps virtual time */
    /* firmware halted, QEMU's clocks run by themselves, nothing steps them
     * (what a running Windows VM experiences) */
    PROFILE_CLOCK_FREE,
} ProfileClock;

typedef enum {
    PROFILE_FAMILY_IPV4 = 1 << 0,
    PROFILE_FAMILY_IPV6 = 1 << 1,
} ProfileFamily;

typedef enum {
    PROFILE_CSUM_ANY,        /* not checked */
    PROFILE_CSUM_NONE,       /* neither NEEDS_CSUM nor DATA_VALID */
    PROFILE_CSUM_NEEDS_CSUM, /* NEEDS_CSUM set (what the spec requires) */
    PROFILE_CSUM_DATA_VALID, /* DATA_VALID set */
} ProfileCsum;

/*
 * The taps and veths rig run creates keep Linux's default MTU: a segment
 * carries at most MTU - IP header - TCP header bytes (less its options),
 * which the loader enforces instead of a "Message too long" at run time.
 */
#define PROFILE_MTU      1500
#define PROFILE_MSS_IPV4 (PROFILE_MTU - 20 - 20)
#define PROFILE_MSS_IPV6 (PROFILE_MTU - 40 - 20)

/**
 * profile_family_mss:
 * Returns: PROFILE_MSS_IPV4 or PROFILE_MSS_IPV6.
 */
guint profile_family_mss(ProfileFamily family);

typedef enum {
    PROFILE_RX_NORMAL,        /* the guest keeps its RX ring stocked */
    PROFILE_RX_FULL_AT_DRAIN, /* no free RX buffer when the timer drains */
} ProfileRxRing;

typedef enum {
    PROFILE_VNET_NONE, /* plain frames: the tap's header is all zero */
    PROFILE_VNET_CSUM, /* TCP with NEEDS_CSUM (a checksum-offloading peer) */
    PROFILE_VNET_GSO,  /* TCP data as GSO frames (an LSO peer) */
} ProfileVnetHdr;

/* One expected device counter: QEMU's VirtioNetRscStat name and value. */
typedef struct {
    char *name;
    guint64 value;
} ProfileCounter;

typedef struct {
    char *name;        /* from the group name "[scenario NAME]" */
    char *description; /* may be NULL */
    ProfileFamily family;
    char *pattern;   /* rsc-trafgen pattern: a name or a step sequence */
    guint count;     /* segments for named patterns, 0 = pattern default */
    guint period_us; /* pacing period, 0 = back to back */
    guint payload;   /* bytes per data segment */
    guint flows;
    ProfileRxRing rx_ring;
    ProfileVnetHdr vnet_hdr; /* how the frames reach the tap */
    gboolean pad_to_min;     /* frames below 60 bytes padded, as a NIC does */
    guint rsc_off_at_slot;   /* 1-based slot where the guest turns RSC off
                              * (CTRL_GUEST_OFFLOADS_SET), 0 = never */

    /* Expectations; an unset one is not checked (and not reported). */
    gint64 expect_frames;           /* data frames delivered, -1 = unset */
    gint64 expect_coalesced_frames; /* frames with RSC_INFO, -1 = unset */
    double min_coalescing_ratio;    /* segments per data frame, 0 = unset */
    double min_coalesced_share;     /* fraction in coalesced frames */
    ProfileCsum csum_flags;
    GArray *expect_counters; /* ProfileCounter, device deltas */
    gboolean oracle;         /* compare frame by frame (qtest clock) */
    char **known_failures;   /* check names expected to fail on any build */
    char *known_failure_reason;
    /* Checks expected to fail on the stock build (and any QEMU that is not
     * the fixed one), the reason, and the qemu-patches/ file fixing them. */
    char **stock_known_failures;
    char *stock_failure_reason;
    char **fixed_by; /* patch file names or their numbers, NULL-ended */
} ProfileScenario;

typedef struct {
    char *path;   /* as given to profile_load() */
    char *sha256; /* of the file's bytes */
    guint version;
    char *name;
    char *description;
    char *qemu; /* NULL: the fixed build; "stock"; or an absolute path */
    ProfileClock clock;
    gboolean spec_must_pass; /* oracle-spec failures fail the verdict */
    guint timing_slack_us;   /* tolerance of real-time window checks */
    double window_tolerance; /* share of frames allowed over the window */
    guint scenario_timeout_s;

    guint rsc_interval_us;
    ProfileFamily families; /* device offers GUEST_TSO4 / GUEST_TSO6 */
    gboolean mrg_rxbuf;
    guint queue_size;

    char *guest_features; /* rig/guest feature profile name */
    guint rx_buffers;

    GPtrArray *scenarios; /* ProfileScenario *, file order */
} Profile;

/*
 * Checks a scenario's traffic pattern text for the scenario's family; NULL
 * accepts any non-empty text.  Returns FALSE with @error saying what is
 * wrong.
 */
typedef gboolean (*ProfilePatternValidator)(const char *pattern,
                                            ProfileFamily family,
                                            gpointer user_data, GError **error);

/**
 * profile_error_quark:
 *
 * Returns: the GError domain of profile loading errors.
 */
GQuark profile_error_quark(void);

/**
 * profile_load:
 * @path: the .ini file to read
 * @validate_pattern: (nullable): checks each scenario's pattern text
 * @user_data: passed to @validate_pattern
 * @error: set (PROFILE_ERROR) when the file breaks the schema; the message
 *   starts with "FILE: [group] key: " and says what was expected
 *
 * Returns: (transfer full): the profile, free with profile_free(); or NULL
 */
Profile *profile_load(const char *path,
                      ProfilePatternValidator validate_pattern,
                      gpointer user_data, GError **error);

/**
 * profile_load_data:
 * @name: the name used as FILE in messages and as Profile.path
 * @data: the .ini text
 * @length: of @data, or -1 when NUL-terminated
 * @validate_pattern: (nullable): as for profile_load()
 * @user_data: passed to @validate_pattern
 * @error: as for profile_load()
 *
 * Returns: (transfer full): the profile, free with profile_free(); or NULL
 */
Profile *profile_load_data(const char *name, const char *data, gssize length,
                           ProfilePatternValidator validate_pattern,
                           gpointer user_data, GError **error);

/**
 * profile_free:
 * @profile: (nullable) (transfer full): the profile to free
 */
void profile_free(Profile *profile);

/**
 * profile_scenario_is_known_failure:
 * @scenario: a scenario of a loaded profile
 * @check_name: a check name such as "payload-conserved"
 *
 * Returns: TRUE when the scenario lists @check_name in known_failures
 */
gboolean profile_scenario_is_known_failure(const ProfileScenario *scenario,
                                           const char *check_name);

/**
 * profile_scenario_is_stock_failure:
 * @scenario: a scenario of a loaded profile
 * @check_name: a check name
 *
 * Returns: TRUE when the scenario lists @check_name in stock_known_failures
 */
gboolean profile_scenario_is_stock_failure(const ProfileScenario *scenario,
                                           const char *check_name);

/**
 * profile_clock_name:
 * @clock: a clock mode
 *
 * Returns: (transfer none): "realtime", "qtest" or "free"
 */
const char *profile_clock_name(ProfileClock clock);

/**
 * profile_family_name:
 * @family: one family bit
 *
 * Returns: (transfer none): "ipv4" or "ipv6"
 */
const char *profile_family_name(ProfileFamily family);

/**
 * profile_csum_name:
 * @csum: a checksum-flag expectation
 *
 * Returns: (transfer none): its name in the schema ("any", "none", ...)
 */
const char *profile_csum_name(ProfileCsum csum);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Profile, profile_free)
