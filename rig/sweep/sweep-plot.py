#!/usr/bin/env python3
"""Draws the plots of a `rig sweep` report with matplotlib.

    sweep-plot.py DIR/sweep.json OUTDIR

Writes, as PNG and SVG: segments-per-frame (measured solid with 95 %
confidence bars, oracle prediction dashed, one line per clock/period/flows/
payload group), coalesced-share (with the HLK's 70 % bar), latency (added
latency per segment, p50 and p99) and cpu-per-segment (QEMU CPU time per
segment; the RSC-off baseline of each group dotted).  `rig sweep` runs it
after the data files are written; the output is a function of sweep.json
only (SVG without date, fixed hash salt), so a merged report's plots equal
an unsharded run's.
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

matplotlib.rcParams["svg.hashsalt"] = "rig-sweep"
matplotlib.rcParams["font.size"] = 9


def group_key(p):
    return (p["clock"], p["period_us"], p["flows"], p["payload"])


def group_label(key, vary):
    clock, period, flows, payload = key
    label = f"{clock}, period {period} us"
    if vary["flows"]:
        label += f", {flows} flows"
    if vary["payload"]:
        label += f", {payload} B"
    return label


def stat(point, name):
    s = point["summary"][name]
    return s["mean"], s["ci95"]


def groups(doc):
    """{key: (rsc-on points sorted by interval, baseline point or None)}"""
    out = {}
    for p in doc["points"]:
        if p["error"] or not p["repeats"]:
            continue
        on, off = out.setdefault(group_key(p), ([], [None]))
        if p["rsc"]:
            on.append(p)
        else:
            off[0] = p
    return {k: (sorted(on, key=lambda p: p["interval_us"]), off[0])
            for k, (on, off) in out.items() if on}


def new_axes(title, ylabel):
    fig, ax = plt.subplots(figsize=(7.2, 4.2), dpi=100)
    ax.set_title(title)
    ax.set_xlabel("rsc_interval (us)")
    ax.set_ylabel(ylabel)
    ax.set_xscale("log")
    ax.grid(True, which="both", alpha=0.3)
    return fig, ax


def save(fig, ax, outdir, name):
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(outdir / f"{name}.png", metadata={"Software": None})
    fig.savefig(outdir / f"{name}.svg", metadata={"Date": None})
    plt.close(fig)


def plot_measured(ax, color, label, pts, name):
    xs = [p["interval_us"] for p in pts]
    ys, es = zip(*(stat(p, name) for p in pts))
    # Wide and pale: a prediction drawn on top stays visible where the
    # two agree (the virtual clock: everywhere).
    ax.errorbar(xs, ys, yerr=es, color=color, marker="o", markersize=5,
                linestyle="-", linewidth=3, alpha=0.45, capsize=3,
                label=label)


def plot_predicted(ax, color, label, pts, name):
    xs = [p["interval_us"] for p in pts]
    ys = [stat(p, name)[0] for p in pts]
    ax.plot(xs, ys, color=color, linestyle="--", linewidth=1.2, marker="x",
            markersize=5, label=label, zorder=3)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: sweep-plot.py SWEEP_JSON OUTDIR")
    doc = json.loads(Path(sys.argv[1]).read_text())
    outdir = Path(sys.argv[2])
    grps = groups(doc)
    vary = {"flows": len(doc["grid"]["flows"]) > 1,
            "payload": len(doc["grid"]["payload"]) > 1}
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]

    fig, ax = new_axes("Segments per delivered frame", "segments per frame")
    for i, (key, (pts, _)) in enumerate(grps.items()):
        c = colors[i % len(colors)]
        label = group_label(key, vary)
        plot_measured(ax, c, f"{label}: measured", pts,
                      "segments_per_frame_mean")
        plot_predicted(ax, c, f"{label}: predicted (oracle)", pts,
                       "predicted_segments_per_frame_mean")
    ax.set_ylim(bottom=0)
    save(fig, ax, outdir, "segments-per-frame")

    fig, ax = new_axes("Share of segments delivered coalesced",
                       "coalesced share")
    bar = doc["grid"]["coalesced_share_bar"]
    ax.axhline(bar, color="black", linestyle=":", linewidth=1,
               label=f"HLK E2EPerf bar ({bar:.0%})")
    for i, (key, (pts, _)) in enumerate(grps.items()):
        c = colors[i % len(colors)]
        label = group_label(key, vary)
        plot_measured(ax, c, f"{label}: measured", pts, "coalesced_share")
        plot_predicted(ax, c, f"{label}: predicted", pts,
                       "predicted_coalesced_share")
    ax.set_ylim(-0.05, 1.05)
    save(fig, ax, outdir, "coalesced-share")

    fig, ax = new_axes("Added latency per segment (delivery - send)",
                       "latency (us)")
    ax.set_yscale("log")
    for i, (key, (pts, _)) in enumerate(grps.items()):
        c = colors[i % len(colors)]
        label = group_label(key, vary)
        plot_measured(ax, c, f"{label}: p50", pts, "latency_p50_us")
        xs = [p["interval_us"] for p in pts]
        ys, es = zip(*(stat(p, "latency_p99_us") for p in pts))
        ax.errorbar(xs, ys, yerr=es, color=c, marker="s", markersize=3,
                    linestyle="-.", capsize=2, label=f"{label}: p99")
        plot_predicted(ax, c, f"{label}: p99 predicted", pts,
                       "predicted_latency_p99_us")
    save(fig, ax, outdir, "latency")

    fig, ax = new_axes("QEMU CPU time per segment", "CPU per segment (us)")
    for i, (key, (pts, base)) in enumerate(grps.items()):
        c = colors[i % len(colors)]
        label = group_label(key, vary)
        plot_measured(ax, c, label, pts, "qemu_cpu_per_segment_us")
        if base:
            ax.axhline(stat(base, "qemu_cpu_per_segment_us")[0], color=c,
                       linestyle=":", linewidth=1, label=f"{label}: RSC off")
    ax.set_ylim(bottom=0)
    save(fig, ax, outdir, "cpu-per-segment")


if __name__ == "__main__":
    main()
