"""The sweep's ``summary.csv`` (one row per run) and ``summary.html`` (each headline metric
against the swept parameter, mean and spread over seeds, and the paper's number where it gives
one), both written atomically."""

from __future__ import annotations

import csv
import html
import io
import math

from ..io.files import write_atomically

SUMMARY_CSV = "summary.csv"
SUMMARY_HTML = "summary.html"
RUN_COLUMNS = ("experiment", "quick", "seed")
OUTCOME_COLUMNS = ("status", "wall_time_s", "error", "run_dir")
HEADLINE = ("final_error", "apical_sq_after", "baselines.", "angles_deg.")
"""Metrics drawn in ``summary.html``: these scalars, and those under these dicts (except the
values before learning, ``..._initial``)."""
PAPER_NUMBERS = {
    ("classification", "final_error"): "test_error_pct",
    ("classification", "baselines.backprop_mlp"): "backprop",
    ("classification", "baselines.single_layer"): "single_layer",
    ("classification", "baselines.frozen_hidden_to_hidden"): "frozen_hidden",
    ("fig2", "angles_deg.output_weights_vs_top_down_transposed"): "forward_feedback_angle_deg",
}
"""Which key of a metrics.json's ``paper`` holds the paper's value of a metric."""


def scalars(metrics, prefix=""):
    """Every scalar of ``metrics`` (numbers, switches, text, null), nested keys joined by dots;
    lists are left out."""
    flat = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update(scalars(value, f"{prefix}{key}."))
        elif not isinstance(value, (list, tuple)):
            flat[f"{prefix}{key}"] = value
    return flat


def row(experiment, quick, run, outcome):
    """The summary row of ``run`` (a :class:`~core.sweep.plan.Run`) given its ``outcome``."""
    entries = {"experiment": experiment, "quick": quick, "seed": run.seed, **dict(run.values),
               "status": outcome["status"], "wall_time_s": outcome["wall_time_s"],
               "error": outcome["error"], "run_dir": run.name}
    entries.update({key: value for key, value in scalars(outcome["metrics"] or {}).items()
                    if key not in entries})
    return entries


def cell(value):
    """A value as the CSV writes it: floats with every digit (``repr``), null as empty."""
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


def write_csv(path, rows, swept):
    """Write ``rows`` to ``path``: the run's columns, the swept parameters, the outcome, then
    every metric in alphabetical order."""
    leading = [*RUN_COLUMNS, *swept, *OUTCOME_COLUMNS]
    metrics = sorted({key for entries in rows for key in entries} - set(leading))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(leading + metrics)
    for entries in rows:
        writer.writerow([cell(entries.get(key)) for key in leading + metrics])
    write_atomically(path, lambda handle: handle.write(text.getvalue()))


def write_html(path, rows, swept, experiment, title):
    """Write ``summary.html``: one panel per headline metric of the finished runs."""
    from ..protocols.common import holoviews, standalone_html

    finished = [entries for entries in rows if entries["status"] in ("ok", "kept")]
    panels = [_panel(holoviews(), finished, swept, experiment, metric)
              for metric in _headline_metrics(finished)]
    if panels:
        layout = holoviews().Layout(panels).cols(2).opts(title=title)
        page = standalone_html(layout, title)
    else:
        page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
                f"</title></head><body><h1>{html.escape(title)}</h1><p>No run has finished "
                "yet: nothing to draw.</p></body></html>")
    write_atomically(path, lambda handle: handle.write(page))


def _headline_metrics(rows):
    names = {key for entries in rows for key, value in entries.items()
             if key.startswith(HEADLINE) and _is_number(value) and not key.endswith("_initial")}
    return sorted(names, key=lambda key: (HEADLINE.index(next(h for h in HEADLINE
                                                                 if key.startswith(h))), key))


def _panel(hv, rows, swept, experiment, metric):
    """``metric`` against the first swept parameter (one curve per combination of the others),
    mean and standard deviation over seeds; the paper's value as a dashed line."""
    x_name = swept[0] if swept else "seeds"
    others = swept[1:]
    groups = {}
    for entries in rows:
        if not _is_number(entries.get(metric)):
            continue
        label = ", ".join(f"{name}={entries[name]}" for name in others) or metric
        x = entries[x_name] if swept else "all"
        groups.setdefault(label, {}).setdefault(x, []).append(float(entries[metric]))
    numeric_x = all(_is_number(_number(x)) for points in groups.values() for x in points)
    overlay = []
    for label, points in groups.items():
        xs = sorted(points, key=_number) if numeric_x else list(points)
        data = [(_number(x) if numeric_x else str(x), _mean(points[x]), _spread(points[x]))
                for x in xs]
        overlay.append(hv.Curve([d[:2] for d in data], x_name, metric, label=label).opts(
            tools=["hover"]))
        overlay.append(hv.Scatter([d[:2] for d in data], x_name, metric, label=label).opts(
            size=6))
        overlay.append(hv.ErrorBars(data, x_name, [metric, "spread"]))
    paper = _paper_number(rows, experiment, metric)
    if paper is not None:
        overlay.append(hv.HLine(paper).opts(line_dash="dashed", color="black"))
    title = metric + (f" (paper: {paper:g})" if paper is not None else "")
    # padding: the error bars of the first and last value would be cut at the frame
    return hv.Overlay(overlay).opts(title=title, width=420, height=300, padding=0.1,
                                    show_legend=len(groups) > 1)


def _paper_number(rows, experiment, metric):
    key = PAPER_NUMBERS.get((experiment, metric))
    for entries in rows:
        value = entries.get(f"paper.{key}")
        if key is not None and _is_number(value):
            return float(value)
    return None


def _is_number(value):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _mean(values):
    return sum(values) / len(values)


def _spread(values):
    """Standard deviation over seeds (0 for one seed)."""
    if len(values) < 2:
        return 0.0
    mean = _mean(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
