/*
 * The `rig fuzz-device` command line: options, which QEMU, the summary
 * and the exit status.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "campaign/campaign.h"
#include "campaign/fuzz-cmd.h"
#include "harness/qemu-build.h"
#include "harness/run.h"
#include "output/output-file.h"
#include "rig-config.h"

#define EXIT_OK         0
#define EXIT_FINDING    1
#define EXIT_CANNOT_RUN 2

static const char description[] =
    "Sends structure-aware malformed and edge-case frames through a real tap\n"
    "into QEMU's RSC path and checks, frame by frame, that nothing is lost,\n"
    "altered, duplicated or reordered: every TCP payload byte sent comes out\n"
    "exactly once and in order per flow, or is accounted for by a documented\n"
    "reason; every frame RSC does not coalesce comes out untouched.\n"
    "\n"
    "Shapes: truncation at every header boundary, IP length against frame\n"
    "length, Ethernet trailers, IHL and data-offset extremes, IPv6 payload\n"
    "length 0 and odd extension chains, seq/ack wrap at 2^32, window and ack\n"
    "edges, 64 KiB accumulation boundaries, control flags, options, ECN,\n"
    "fragments, non-TCP and non-IP frames, up to 64 interleaved flows.\n"
    "Events: RX ring starvation at random moments (and a full ring at drain\n"
    "time), CTRL_GUEST_OFFLOADS_SET switching RSC off and on, device resets\n"
    "mid-coalesce.  A seed and a round number give the same frames and\n"
    "events: `--seed S --from-round R --rounds 1` replays one round.\n"
    "Shapes (for --skip): data, tiny-padded, trailer, pure-ack, dup-ack,\n"
    "window-update, window-edge, ack-edge, seq-edge, seq-wrap, tcp-flags,\n"
    "tcp-options, ipv4-options, ecn, ip-fragment, ipv6-ext-chain,\n"
    "ipv6-plen-0, ip-length-lie, ihl-extreme, doff-extreme, truncated,\n"
    "not-tcp, not-ip, vlan, 64k-boundary.\n"
    "\n"
    "A QEMU crash, a sanitizer report (QEMU's ASan/UBSan logs) or a\n"
    "conservation violation is a finding: the frames of the round (and of\n"
    "the one before) are saved as a pcap in --out, and the command that\n"
    "reproduces it is printed and recorded in the JSON summary.\n"
    "\n"
    "--qemu fixed (default) and stock are the builds the rig was configured\n"
    "with (RIG_QEMU, RIG_QEMU_STOCK override them); with --sanitize they\n"
    "come from `ci/build-qemu [--stock] --sanitize --print-binary`, which\n"
    "builds the ASan+UBSan QEMU once if needed (minutes the first time).\n"
    "\n"
    "Strict mode (the default on a fixed build): RSC data freed at a full\n"
    "RX ring, and cached segments delivered after newer ones once RSC was\n"
    "switched off, are violations; lenient mode (default otherwise) counts\n"
    "them as documented stock behaviour.\n"
    "\n"
    "Exit status:\n"
    "  0  no finding\n"
    "  1  a finding (crash, sanitizer report, conservation violation)\n"
    "  2  the campaign could not run (usage, not root, QEMU missing or not\n"
    "     starting, interrupted)";

typedef struct {
    char *qemu;
    char *out;
    char *json;
    char *seed;
    char *skip;
    gint64 frames;
    gint seconds;
    gint64 rounds;
    gint64 from_round;
    gint max_findings;
    gboolean sanitize;
    gboolean keep_going;
    gboolean strict;
    gboolean lenient;
} FuzzArgs;

static void fuzz_args_clear(FuzzArgs *a)
{
    g_free(a->qemu);
    g_free(a->out);
    g_free(a->json);
    g_free(a->seed);
    g_free(a->skip);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(FuzzArgs, fuzz_args_clear)

/*
 * fixed / stock as the rig was configured (harness/qemu-build.h), or a
 * path; with --sanitize, the ASan+UBSan build from ci/build-qemu, which
 * builds it once if needed.
 */
static QemuBuild *resolve_qemu(const char *label, gboolean sanitize,
                               GError **error)
{
    g_autofree char *script =
        g_build_filename(RIG_SOURCE_DIR, "ci", "build-qemu", NULL);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autofree char *out = NULL;
    gboolean stock = strcmp(label, "stock") == 0;
    gint status;

    if (!sanitize) {
        return qemu_build_resolve(label, error);
    }
    if (!stock && strcmp(label, "fixed") != 0) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--sanitize selects a build of ci/build-qemu: use it "
                    "with --qemu fixed or stock, not a path");
        return NULL;
    }
    g_ptr_array_add(argv, script);
    if (stock) {
        g_ptr_array_add(argv, (char *)"--stock");
    }
    g_ptr_array_add(argv, (char *)"--sanitize");
    g_ptr_array_add(argv, (char *)"--print-binary");
    g_ptr_array_add(argv, NULL);
    /* ci/build-qemu's progress goes to our stderr. */
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL,
                      G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, &out, NULL,
                      &status, error)) {
        g_prefix_error(error, "running %s: ", script);
        return NULL;
    }
    g_strstrip(out);
    if (!g_spawn_check_wait_status(status, NULL) || !out[0]) {
        g_set_error(error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
                    "%s%s --sanitize --print-binary failed (see its message "
                    "above)",
                    script, stock ? " --stock" : "");
        return NULL;
    }
    return qemu_build_resolve(out, error);
}

/* Whether ci/build-qemu built @qemu with --enable-asan (its record). */
static gboolean built_with_asan(const char *qemu)
{
    g_autofree char *bindir = g_path_get_dirname(qemu);
    g_autofree char *record =
        g_build_filename(bindir, "..", "rig-qemu-build.json", NULL);
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonNode *root;
    JsonArray *flags;

    if (!json_parser_load_from_file(parser, record, NULL) ||
        !(root = json_parser_get_root(parser)) ||
        !JSON_NODE_HOLDS_OBJECT(root) ||
        !json_object_has_member(json_node_get_object(root),
                                "configure_flags")) {
        return FALSE;
    }
    flags = json_object_get_array_member(json_node_get_object(root),
                                         "configure_flags");
    for (guint i = 0; flags && i < json_array_get_length(flags); i++) {
        const char *f = json_array_get_string_element(flags, i);

        if (f && strcmp(f, "--enable-asan") == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean parse_seed(const char *text, guint64 *ret_seed, GError **error)
{
    guint64 v;

    if (!text) {
        *ret_seed = g_get_real_time() ^ ((guint64)getpid() << 32);
        *ret_seed &= G_MAXINT64; /* JSON integers are signed */
        return TRUE;
    }
    if (!g_ascii_string_to_unsigned(text, 10, 0, G_MAXINT64, &v, error)) {
        g_prefix_error(error, "--seed: ");
        return FALSE;
    }
    *ret_seed = v;
    return TRUE;
}

static gboolean write_json(const char *path, JsonNode *root, GError **error)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *text = NULL;
    gsize len;

    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    text = json_generator_to_data(gen, &len);
    /* one trailing newline, as a text file has */
    text = g_realloc(text, len + 2);
    text[len++] = '\n';
    text[len] = '\0';
    return rig_output_write(path, text, len, error);
}

static void print_summary(FILE *out, const FuzzConfig *cfg,
                          const FuzzSummary *s)
{
    guint64 violations = 0;

    for (guint i = 0; i < FUZZ_VIOLATION_COUNT; i++) {
        violations += s->violations[i];
    }
    fprintf(out, "QEMU:               %s (%s)%s\n", cfg->qemu_label, cfg->qemu,
            cfg->sanitized ? " with ASan+UBSan" : "");
    fprintf(out,
            "seed:               %" G_GUINT64_FORMAT
            " (rounds %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT ")\n",
            cfg->seed, cfg->from_round,
            cfg->from_round + (s->rounds ? s->rounds - 1 : 0));
    fprintf(out,
            "frames:             %" G_GUINT64_FORMAT " sent, %" G_GUINT64_FORMAT
            " delivered (%" G_GUINT64_FORMAT " untouched, %" G_GUINT64_FORMAT
            " merged from %" G_GUINT64_FORMAT " segments) in %.1f s\n",
            s->frames_sent, s->frames_delivered, s->untouched, s->merged_frames,
            s->merged_segments, s->seconds);
    fprintf(out,
            "TCP payload bytes:  %" G_GUINT64_FORMAT " sent, %" G_GUINT64_FORMAT
            " delivered exactly once\n",
            s->payload_sent, s->payload_matched);
    fprintf(out, "accounted:         ");
    for (guint i = 0; i < FUZZ_ACCOUNT_COUNT; i++) {
        fprintf(out, " %s %" G_GUINT64_FORMAT, fuzz_account_name(i),
                s->accounted[i]);
    }
    fprintf(out, "\nviolations:         %" G_GUINT64_FORMAT, violations);
    for (guint i = 0; i < FUZZ_VIOLATION_COUNT; i++) {
        fprintf(out, "%s%s %" G_GUINT64_FORMAT, i ? ", " : " (",
                fuzz_violation_kind_name(i), s->violations[i]);
    }
    fprintf(out, ")\nsanitizer reports:  %" G_GUINT64_FORMAT "\n",
            s->sanitizer_reports);
    fprintf(out, "QEMU:               %s\n",
            s->qemu_crashed ? s->qemu_exit : "alive to the end");
    fprintf(out, "findings:           %u%s%s\n", s->findings->len,
            s->findings->len ? " (saved in " : "",
            s->findings->len ? cfg->out_dir : "");
    if (s->findings->len) {
        fprintf(out, "%s", ")\n");
    }
}

int fuzz_device_main(int argc, char **argv)
{
    g_auto(FuzzArgs) args = {.frames = 0, .max_findings = 10, .from_round = 0};
    GOptionEntry entries[] = {
        {"qemu", 0, 0, G_OPTION_ARG_STRING, &args.qemu,
         "fixed (default), stock, or a QEMU binary", "fixed|stock|PATH"},
        {"sanitize", 0, 0, G_OPTION_ARG_NONE, &args.sanitize,
         "use the ASan+UBSan build of fixed/stock (ci/build-qemu --sanitize)",
         NULL},
        {"frames", 'n', 0, G_OPTION_ARG_INT64, &args.frames,
         "stop after about N frames (a round is never cut; default 20000 "
         "without --seconds/--rounds)",
         "N"},
        {"seconds", 's', 0, G_OPTION_ARG_INT, &args.seconds,
         "stop after S seconds", "S"},
        {"rounds", 0, 0, G_OPTION_ARG_INT64, &args.rounds,
         "stop after N rounds", "N"},
        {"seed", 0, 0, G_OPTION_ARG_STRING, &args.seed,
         "seed (default: from the clock; printed)", "SEED"},
        {"from-round", 0, 0, G_OPTION_ARG_INT64, &args.from_round,
         "first round (default 0): replays a round of a seed", "R"},
        {"out", 'o', 0, G_OPTION_ARG_FILENAME, &args.out,
         "directory for findings (pcap), QEMU's sanitizer logs (default "
         "./fuzz-device)",
         "DIR"},
        {"json", 0, 0, G_OPTION_ARG_FILENAME, &args.json,
         "write the JSON summary to FILE (- for stdout)", "FILE"},
        {"strict", 0, 0, G_OPTION_ARG_NONE, &args.strict,
         "documented stock behaviour is a violation (default with fixed)",
         NULL},
        {"lenient", 0, 0, G_OPTION_ARG_NONE, &args.lenient,
         "documented stock behaviour is accounted (default otherwise)", NULL},
        {"max-findings", 0, 0, G_OPTION_ARG_INT, &args.max_findings,
         "stop after N findings (default 10)", "N"},
        {"keep-going", 'k', 0, G_OPTION_ARG_NONE, &args.keep_going,
         "do not stop at --max-findings: count further conservation "
         "findings without saving them (a QEMU crash still ends the run)",
         NULL},
        {"skip", 0, 0, G_OPTION_ARG_STRING, &args.skip,
         "never draw these shapes (comma-separated; 'trailer' removes every "
         "frame longer than its IP packet), to fuzz past a known bug",
         "SHAPE,..."},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- adversarial campaign against QEMU's RSC path");
    g_autoptr(GError) error = NULL;
    g_autoptr(QemuBuild) build = NULL;
    g_autoptr(JsonNode) build_json = NULL;
    FuzzConfig cfg = {0};
    FuzzSummary sum;
    gboolean ran;
    guint64 violations = 0;
    int status;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(ctx, description);
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "%s: %s (see --help)\n", g_get_prgname(),
                error->message);
        return EXIT_CANNOT_RUN;
    }
    if (argc > 1) {
        fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n",
                g_get_prgname(), argv[1]);
        return EXIT_CANNOT_RUN;
    }
    if (args.frames < 0 || args.seconds < 0 || args.rounds < 0 ||
        args.from_round < 0 || args.max_findings < 1 ||
        (args.strict && args.lenient)) {
        fprintf(stderr,
                "%s: --frames, --seconds, --rounds and --from-round take "
                "values >= 0, --max-findings >= 1, and --strict excludes "
                "--lenient\n",
                g_get_prgname());
        return EXIT_CANNOT_RUN;
    }
    if (!parse_seed(args.seed, &cfg.seed, &error)) {
        fprintf(stderr, "%s: %s\n", g_get_prgname(), error->message);
        return EXIT_CANNOT_RUN;
    }
    if (args.skip &&
        !fuzz_kind_parse_list(args.skip, &cfg.skip_shapes, &error)) {
        fprintf(stderr, "%s: --skip: %s\n", g_get_prgname(), error->message);
        return EXIT_CANNOT_RUN;
    }
    cfg.skip_text = args.skip;
    /* A summary that cannot be written is an error before the run. */
    if (args.json && !rig_output_check(args.json, &error)) {
        fprintf(stderr, "%s: --json: %s\n", g_get_prgname(), error->message);
        return EXIT_CANNOT_RUN;
    }
    if (geteuid() != 0) {
        fprintf(stderr,
                "%s: needs root (it creates a network namespace and a tap)\n",
                g_get_prgname());
        return EXIT_CANNOT_RUN;
    }
    cfg.qemu_label = args.qemu ? args.qemu : "fixed";
    build = resolve_qemu(cfg.qemu_label, args.sanitize, &error);
    if (!build) {
        fprintf(stderr, "%s: %s\n", g_get_prgname(), error->message);
        return EXIT_CANNOT_RUN;
    }
    cfg.qemu = build->path;
    build_json = qemu_build_to_json(build);
    cfg.qemu_build = build_json;
    /* A path to an ASan build counts as one in the summary. */
    cfg.sanitized = args.sanitize || built_with_asan(build->path);
    cfg.max_frames = (guint64)args.frames;
    cfg.max_seconds = (guint)args.seconds;
    cfg.max_rounds = (guint64)args.rounds;
    if (!cfg.max_frames && !cfg.max_seconds && !cfg.max_rounds) {
        cfg.max_frames = 20000;
    }
    cfg.from_round = (guint64)args.from_round;
    cfg.out_dir = args.out ? args.out : "fuzz-device";
    cfg.strict =
        args.strict || (!args.lenient && build->kind == QEMU_BUILD_FIXED);
    cfg.max_findings = (guint)args.max_findings;
    cfg.keep_going = args.keep_going;
    cfg.tty = isatty(STDERR_FILENO);
    cfg.stop = run_install_stop_signals();
    fprintf(stderr, "%s: seed %" G_GUINT64_FORMAT ", QEMU %s (%s)%s, %s\n",
            g_get_prgname(), cfg.seed, cfg.qemu_label, cfg.qemu,
            cfg.sanitized ? " with ASan+UBSan" : "",
            cfg.strict ? "strict" : "lenient");
    ran = fuzz_campaign_run(&cfg, &sum, &error);
    if (ran || sum.frames_sent) {
        /* With --json - the summary owns standard output. */
        print_summary(args.json && strcmp(args.json, "-") == 0 ? stderr
                                                               : stdout,
                      &cfg, &sum);
    }
    if (args.json) {
        g_autoptr(JsonNode) root = fuzz_summary_to_json(&cfg, &sum);
        g_autoptr(GError) werr = NULL;

        if (!write_json(args.json, root, &werr)) {
            fprintf(stderr, "%s: %s\n", g_get_prgname(), werr->message);
            fuzz_summary_clear(&sum);
            return EXIT_CANNOT_RUN;
        }
    }
    for (guint i = 0; i < FUZZ_VIOLATION_COUNT; i++) {
        violations += sum.violations[i];
    }
    if (!ran) {
        fprintf(stderr, "%s: %s\n", g_get_prgname(), error->message);
        status = EXIT_CANNOT_RUN;
    } else if (sum.findings->len || violations || sum.sanitizer_reports ||
               sum.qemu_crashed) {
        status = EXIT_FINDING;
    } else {
        status = EXIT_OK;
    }
    fuzz_summary_clear(&sum);
    return status;
}
