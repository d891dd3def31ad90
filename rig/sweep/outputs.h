/*
 * The output directory of `rig sweep`: sweep.json, sweep.csv, the plots
 * (PNG and SVG, drawn by matplotlib through rig/sweep/sweep-plot.py) and
 * index.html with the plots, the table and the recommendation.
 */
#pragma once

#include <glib.h>

#include "sweep/result.h"

/* The plots sweep-plot.py draws, without extension, in page order. */
#define SWEEP_PLOTS                                                            \
    {                                                                          \
        "segments-per-frame", "coalesced-share", "latency", "cpu-per-segment", \
            NULL                                                               \
    }

/**
 * sweep_outputs_prepare:
 * @dir: the output directory (created when missing)
 * @error: return location: says why it can not be written
 *
 * Checks, before any point runs, that the results can be written.
 *
 * Returns: TRUE when @dir exists (or was made) and is writable
 */
gboolean sweep_outputs_prepare(const char *dir, GError **error);

/**
 * sweep_write_data:
 * @report: the report
 * @dir: the output directory
 * @error: return location (SWEEP_ERROR_IO, naming the file)
 *
 * Writes sweep.json and sweep.csv (each replaced atomically).
 *
 * Returns: TRUE on success
 */
gboolean sweep_write_data(const SweepReport *report, const char *dir,
                          GError **error);

/**
 * sweep_write_report:
 * @report: the report
 * @dir: the output directory, holding sweep.json already
 * @error: return location
 *
 * Draws the plots from DIR/sweep.json and writes DIR/index.html.
 *
 * Returns: TRUE on success
 */
gboolean sweep_write_report(const SweepReport *report, const char *dir,
                            GError **error);

/**
 * sweep_report_to_html:
 * @report: the report
 *
 * Returns: (transfer full): index.html: summary, recommendation, the plots
 *   (PNG, each linked to its SVG) and the table of points
 */
char *sweep_report_to_html(const SweepReport *report);

/**
 * sweep_recommendation_text:
 * @report: the report
 *
 * Returns: (transfer full): the recommendation as plain lines, one per
 *   group (what `rig sweep` prints at the end)
 */
char *sweep_recommendation_text(const SweepReport *report);
