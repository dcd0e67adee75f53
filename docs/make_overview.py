"""Regenerate docs/overview.png (the README figure) from an ALeRCE protocol run's JSON.

Usage::

    astroad reproduce alerce --preset fast --json docs/runs/alerce_fast.json
    python docs/make_overview.py docs/runs/alerce_fast.json
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from astroad_nb.data.lightcurves import simulate_lightcurves  # noqa: E402
from astroad_nb.plotting import plot_auroc_heatmap, plot_lightcurve  # noqa: E402
from astroad_nb.protocols import Run  # noqa: E402


def main(table_json: str, out: str = "docs/overview.png") -> None:
    run = Run.from_json(Path(table_json))
    top_class = run.config["top_class"]
    cols = list(top_class)
    mean, std = run.table("mean")[cols], run.table("std")[cols]
    fig = plt.figure(figsize=(16, 7.5))
    grid = fig.add_gridspec(2, 4, height_ratios=[1.5, 1], hspace=0.45, wspace=0.3)
    ax = fig.add_subplot(grid[0, :])
    plot_auroc_heatmap(mean, std, top_class=top_class, ax=ax)
    ax.set_title(f"Leave-one-subclass-out AUROC on simulated ZTF light curves "
                 f"({run.config['n_objects']} objects, {run.preset['n_splits']} folds)", pad=28)
    lcs = simulate_lightcurves(10, random_state=1)
    n_points = pd.Series(np.asarray(lcs.n_points), index=lcs.ids)
    for i, sub in enumerate(["SNIa", "AGN", "RRL", "E"]):
        oid = n_points[lcs.meta.index[lcs.meta["subclass"] == sub]].idxmax()  # best sampled
        period = lcs.meta.loc[oid, "period"]
        ax_lc = fig.add_subplot(grid[1, i])
        plot_lightcurve(lcs.get(oid), period=period if np.isfinite(period) else None,
                        ax=ax_lc, title=f"simulated {sub}")
        ax_lc.tick_params(axis="x", labelrotation=25)
    fig.savefig(out, dpi=90, bbox_inches="tight")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
