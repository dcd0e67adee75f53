"""Plotting helpers: each returns its figure, draws what it says, never shows."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from astroad_nb.plotting import (  # noqa: E402
    BAND_COLORS,
    lightcurve_figure,
    lightcurve_points,
    plot_auroc_heatmap,
    plot_history,
    plot_lightcurve,
    plot_score_distribution,
)

LC = pd.DataFrame({
    "time": [58000.0, 58000.3, 58001.0, 58000.1, 58000.6],
    "mag": [18.0, 18.4, 18.1, 17.5, 17.9],
    "magerr": [0.05, 0.06, 0.05, 0.04, 0.05],
    "band": ["g", "g", "g", "r", "r"],
})


@pytest.fixture(autouse=True)
def _close_figures(monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plotting called show()"))
    yield
    plt.close("all")


def test_plot_history_marks_best_validation_epoch():
    frame = pd.DataFrame({"epoch": [1, 2, 3, 4], "train_loss": [4.0, 3.0, 2.0, 1.0],
                          "val_loss": [4.5, 3.5, 3.0, 3.2]})
    fig = plot_history(frame)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "train", "validation", "best epoch 3"]
    assert list(ax.lines[0].get_ydata()) == [4.0, 3.0, 2.0, 1.0]
    assert list(ax.lines[2].get_xdata()) == [3, 3]  # the vertical marker


def test_plot_history_accepts_history_objects_and_no_validation():
    class History:
        def to_frame(self):
            return pd.DataFrame({"epoch": [1, 2], "train_loss": [2.0, 1.0],
                                 "val_loss": [np.nan, np.nan]})

    fig = plot_history(History())
    assert fig.axes[0].get_legend().get_texts()[-1].get_text() == "best epoch 2"


def test_plot_history_marks_the_epoch_a_real_history_kept():
    from astroad_nb.training import History

    history = History(train_loss=[3.0, 2.0, 1.0], val_loss=[2.5, 2.0, 2.1], best_epoch=1,
                      epochs_run=3, desc="pretrain")
    ax = plot_history(history).axes[0]
    assert ax.get_legend().get_texts()[-1].get_text() == "best epoch 1"
    assert list(ax.lines[3].get_ydata()) == [2.0]
    assert ax.get_title() == "pretrain"


def test_plot_history_draws_on_given_axes_and_rejects_bad_frames():
    fig, ax = plt.subplots()
    assert plot_history({"epoch": [1], "train_loss": [1.0]}, ax=ax) is fig
    with pytest.raises(ValueError, match="epoch, train_loss"):
        plot_history(pd.DataFrame({"loss": [1.0]}))


def test_auroc_heatmap_groups_columns_and_annotates():
    mean = pd.DataFrame({"RRL": [0.83, 0.6], "SNIa": [0.9, 0.55], "QSO": [0.7, 0.5]},
                        index=["IForest", "AE"])
    std = mean * 0 + 0.02
    top = {"RRL": "periodic", "SNIa": "transient", "QSO": "stochastic"}
    fig = plot_auroc_heatmap(mean, std, top_class=top)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["SNIa", "QSO", "RRL"]
    texts = [t.get_text() for t in ax.texts]
    assert "0.83±0.02" in texts and "0.90±0.02" in texts
    assert {"transient", "stochastic", "periodic"} <= set(texts)
    assert len(ax.lines) == 2  # two separators between three groups
    assert ax.images[0].get_clim() == (0.5, 1.0)


def test_auroc_heatmap_without_std_or_groups():
    fig = plot_auroc_heatmap(pd.DataFrame({"a": [0.712]}, index=["m"]))
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.71"]


def test_lightcurve_points_fold_over_two_phases():
    points = lightcurve_points(LC, period=1.0)
    x, m, e = points["g"]
    assert len(x) == 6 and x.min() >= 0 and x.max() < 2
    assert list(points) == ["g", "r"]
    assert list(lightcurve_points(LC)["r"][0]) == [58000.1, 58000.6]


def test_lightcurve_points_accepts_alerce_columns_and_names_missing_ones():
    alerce = pd.DataFrame({"mjd": [1.0, 2.0], "magpsf": [18.0, 18.2], "sigmapsf": [0.1, 0.1],
                           "fid": [1, 2]})
    assert list(lightcurve_points(alerce)) == ["g", "r"]
    with pytest.raises(ValueError, match=r"lacks columns \['band'\]"):
        lightcurve_points(LC.drop(columns="band"))


def test_plot_lightcurve_bands_colours_inverted_axis():
    fig = plot_lightcurve(LC, title="ZTF1")
    ax = fig.axes[0]
    assert ax.yaxis_inverted()
    assert ax.get_title() == "ZTF1" and ax.get_xlabel() == "time (MJD)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["g", "r"]
    colours = [c.lines[0].get_color() for c in ax.containers]
    assert colours == [BAND_COLORS["g"], BAND_COLORS["r"]]


def test_plot_lightcurve_folded_on_given_axes():
    fig, ax = plt.subplots()
    assert plot_lightcurve(LC, period=0.5, ax=ax) is fig
    assert ax.get_xlim() == (0.0, 2.0)
    assert ax.get_xlabel() == "phase (P = 0.5 d)"


def test_plot_score_distribution_by_label():
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.normal(0, 1, 200), rng.normal(3, 1, 20)])
    labels = np.array([0] * 200 + [1] * 20)
    fig = plot_score_distribution(scores, labels)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0 (n=200)", "1 (n=20)"]
    assert ax.get_ylabel() == "density"
    assert plot_score_distribution(scores).axes[0].get_ylabel() == "count"
    with pytest.raises(ValueError, match="220 scores but 3 labels"):
        plot_score_distribution(scores, [0, 1, 0])


def test_lightcurve_figure_plotly_traces():
    fig = lightcurve_figure(LC, period=1.0, title="ZTF1")
    assert [t.name for t in fig.data] == ["g", "r"]
    assert fig.layout.yaxis.autorange == "reversed"
    assert fig.layout.title.text == "ZTF1"
    assert fig.data[0].marker.color == BAND_COLORS["g"]
    assert len(fig.data[1].x) == 4  # two r points, each at phase and phase + 1
    empty = lightcurve_figure(None)
    assert [len(t.x) for t in empty.data] == [0, 0]

