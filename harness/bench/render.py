"""Write benchmark results as ``bench.json`` and a readable ``bench.html``."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from harness.report.results import TEMPLATES, write_atomic

_PLOT_W, _PLOT_H, _PAD = 320, 180, 30


def _polyline(xs: list[float], ys: list[float], x_max: float, y_max: float) -> str:
    """SVG points for one series, scaled into the plot box (origin bottom left)."""
    points = []
    for x, y in zip(xs, ys, strict=True):
        px = _PAD + x / x_max * (_PLOT_W - 2 * _PAD)
        py = _PLOT_H - _PAD - y / y_max * (_PLOT_H - 2 * _PAD)
        points.append(f"{px:.1f},{py:.1f}")
    return " ".join(points)


def _plots(scaling: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One plot per axis (steps, workers): a line per kind, replay ms against x."""
    plots = []
    for axis in ("steps", "workers"):
        series = [row for row in scaling if row["axis"] == axis]
        if not series:
            continue
        x_max = max(max(row["x"]) for row in series)
        y_max = max(max(row["ms"]) for row in series) or 1.0
        lines = [
            {"kind": row["kind"], "points": _polyline(row["x"], row["ms"], x_max, y_max)} for row in series
        ]
        plots.append({"axis": axis, "lines": lines, "x_max": x_max, "y_max": y_max})
    return plots


def write_bench(directory: Path, data: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``bench.json`` (the data as measured) and ``bench.html`` into ``directory``;
    return both paths."""
    json_path, html_path = directory / "bench.json", directory / "bench.html"
    write_atomic(json_path, json.dumps(data, indent=1, sort_keys=True) + "\n")
    results = data["results"]
    html = TEMPLATES.get_template("bench.html.j2").render(
        data=data,
        results=results,
        plots=_plots(results.get("scaling", [])),
        size={"w": _PLOT_W, "h": _PLOT_H, "pad": _PAD},
        colors={"thread": "#1f77b4", "greenlet": "#2ca02c", "gevent": "#9467bd", "asyncio": "#d62728"},
        generated=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )
    write_atomic(html_path, html)
    return json_path, html_path
