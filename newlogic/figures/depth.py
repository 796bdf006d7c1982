"""The depth-propagation plot (SPEC §6, journal 5 Oct) from ``newlogic.evaluation.depth.run_depth_experiment``'s JSON.

One panel per weight scale (``kaiming``: ``W ~ N(0, 2/width)``; ``unit_normal``: ``W ~ N(0, 1)``),
one line per activation (ReLU, ReLog): mean ``|activation|`` per layer on a log axis. Layers
whose activations are not finite (float32 overflow) have no point; a dashed line marks the
first of them.
"""

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from newlogic.config_file import parse_json_text
from newlogic.errors import UserError

INIT_TITLES = {"kaiming": "Kaiming init, W ~ N(0, 2/width)", "unit_normal": "unscaled init, W ~ N(0, 1)"}
COLOURS = {"relu": "tab:red", "relog": "tab:blue"}
LABELS = {"relu": "ReLU", "relog": "ReLog"}


def read_depth_result(path: Path | str) -> dict[str, Any]:
    """The depth experiment's JSON (``schema_version`` 1, ``runs`` with ``init``, ``activation``, ``mean_abs``)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"depth result {path} not found; make it with 'newlogic inspect depth --out {path}'")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"--depth-json {path}: cannot be read ({error})") from None
    result = parse_json_text(text, f"--depth-json {path}")
    if not isinstance(result, dict) or result.get("schema_version") != 1 or "runs" not in result:
        raise UserError(f"{path} is not a depth-experiment result (schema_version 1 with 'runs')")
    return result


def plot_depth(result: dict[str, Any]) -> Figure:
    """Mean |activation| per layer (log y) for each activation, one panel per weight scale."""
    inits = list(dict.fromkeys(run["init"] for run in result["runs"]))
    figure = Figure(figsize=(5.0 * len(inits), 3.8), layout="constrained")
    axes = figure.subplots(1, len(inits), squeeze=False)[0]
    for ax, init in zip(axes, inits, strict=True):
        for run in (run for run in result["runs"] if run["init"] == init):
            values = np.array([np.nan if value is None else value for value in run["mean_abs"]], dtype=float)
            layers = np.arange(1, len(values) + 1)
            colour = COLOURS.get(run["activation"])
            label = LABELS.get(run["activation"], run["activation"])
            ax.plot(layers, values, color=colour, label=label)
            if run["first_nonfinite_layer"] is not None:
                ax.axvline(run["first_nonfinite_layer"], color=colour, linestyle="--", linewidth=1,
                           label=f"{label} overflows (layer {run['first_nonfinite_layer']})")
        ax.set_yscale("log")
        ax.set_xlabel("layer")
        ax.set_ylabel("mean |activation|")
        ax.set_title(INIT_TITLES.get(init, init), fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8)
    setup = result.get("setup", {})
    figure.suptitle(f"Depth propagation: {setup.get('layers', '?')} dense layers of width {setup.get('width', '?')}")
    return figure
