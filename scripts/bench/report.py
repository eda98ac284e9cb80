#!/usr/bin/env python3
"""Turns the samples file of scripts/bench.sh (JSON lines) into the markdown of docs/benchmarks.md.

Usage: python3 scripts/bench/report.py SAMPLES.jsonl

Lines: one {"run": {...}} first (what ran where); then {"section", "metric", "tool", "unit",
"value"} samples and {"target", "section", "num", "den", "max"} targets as the sections wrote them
(scripts/bench/lib.sh: sample, target). Per section, a table of every (metric, tool) series in
the order first sampled: count, median, p90, mean, and for series of 20 or more the means of the
first 10 and last 10 samples (growth with scale). Then the targets: the ratio of the medians
against its maximum. Nothing is computed in the sections; every figure comes from the samples.
"""
import json
import re
import sys
from collections import OrderedDict


def median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def p90(values):
    v = sorted(values)
    return v[int(0.9 * (len(v) - 1))]


def mean(values):
    return sum(values) / len(values)


def figure(value, unit):
    if value is None:
        return "-"
    if unit != "ms" and value == int(value):
        return "%d" % value
    if unit == "ms" or abs(value) < 100:
        return "%.2f" % value
    return "%.0f" % value


def load(path):
    run, series, targets = {}, OrderedDict(), []
    with open(path) as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                sys.exit("report: %s line %d is not JSON: %s" % (path, number, error))
            if "run" in record:
                run = record["run"]
            elif "target" in record:
                targets.append(record)
            else:
                key = (record["section"], record["metric"], record["tool"])
                entry = series.setdefault(key, {"unit": record["unit"], "values": []})
                entry["values"].append(float(record["value"]))
    return run, series, targets


SELECTOR = re.compile(r"^(?:(?P<section>[^:\[]+):)?(?P<metric>[^\[]+)(?:\[(?P<end>first|last)(?P<count>\d+)\])?$")


def statistic(series, section, spec, tool):
    """The figure a target names: SECTION:METRIC[firstK|lastK] with TOOL; None without samples."""
    match = SELECTOR.match(spec)
    if not match:
        return None
    entry = series.get((match["section"] or section, match["metric"], tool))
    if not entry:
        return None
    values = entry["values"]
    if match["end"]:
        k = min(int(match["count"]), len(values))
        return mean(values[:k] if match["end"] == "first" else values[-k:])
    return median(values)


def target_rows(series, targets):
    rows = []
    for t in targets:
        num = statistic(series, t["section"], t["num"]["metric"], t["num"]["tool"])
        parts = [statistic(series, t["section"], spec, t["den"]["tool"]) for spec in t["den"]["metric"].split("+")]
        den = None if any(p is None for p in parts) else sum(parts)
        bound = "≤ %g" % t["max"] if t["max"] is not None else "(information)"
        if num is None or den is None or den == 0:
            missing = [("%s %s" % (t["num"]["metric"], t["num"]["tool"]))] if num is None else []
            if den is None or den == 0:
                missing.append("%s %s" % (t["den"]["metric"], t["den"]["tool"]))
            rows.append((t["section"], t["target"], "n/a", bound, "n/a: no samples of " + ", ".join(missing)))
            continue
        ratio = num / den
        verdict = "" if t["max"] is None else ("met" if ratio <= t["max"] else "**missed**")
        rows.append((t["section"], t["target"], "%.2f" % ratio, bound, verdict))
    return rows


def report(path):
    run, series, targets = load(path)
    out = []
    out.append("## swnet benchmark — %s, kernel %s, %s CPUs" % (run.get("date", "?"), run.get("kernel", "?"), run.get("cpus", "?")))
    out.append("")
    knobs = ", ".join("%s=%s" % (k, run[k]) for k in ("N", "SCALE", "CNI_SCALE", "PORTS", "CONN_SECONDS") if k in run)
    out.append("%s; %s; CNI plugins %s. Medians of the raw samples in `%s`; times in milliseconds, wall time "
               "of one call with bash's $EPOCHREALTIME (process start included) unless the tool says "
               "otherwise." % (knobs, run.get("swnet", "swnet ?"), run.get("cni_plugins", "?"), path.split("/")[-1]))
    sections = OrderedDict()
    for (section, metric, tool), entry in series.items():
        sections.setdefault(section, []).append((metric, tool, entry))
    for section, rows in sections.items():
        out.append("")
        out.append("### %s" % section)
        out.append("")
        out.append("| metric | tool | unit | n | median | p90 | mean | first 10 | last 10 |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for metric, tool, entry in rows:
            v, unit = entry["values"], entry["unit"]
            first = last = ""
            if len(v) >= 20:
                first, last = figure(mean(v[:10]), unit), figure(mean(v[-10:]), unit)
            out.append("| %s | %s | %s | %d | %s | %s | %s | %s | %s |" % (
                metric, tool, unit, len(v), figure(median(v), unit), figure(p90(v), unit) if len(v) > 1 else "",
                figure(mean(v), unit), first, last))
    rows = target_rows(series, targets)
    if rows:
        out.append("")
        out.append("### Targets")
        out.append("")
        out.append("| section | ratio | value | target | |")
        out.append("|---|---|---|---|---|")
        for row in rows:
            out.append("| %s | %s | %s | %s | %s |" % row)
    missed = sum(1 for row in rows if row[4] == "**missed**")
    print("\n".join(out))
    return missed


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: report.py SAMPLES.jsonl")
    report(sys.argv[1])
