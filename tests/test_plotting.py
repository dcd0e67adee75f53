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



# --------------------------------------------------------------------------- galaxy figures
from astroad_nb.plotting import (  # noqa: E402
    REFERENCE_COLOR,
    galaxy_rgb,
    plot_galaxy_scores,
    plot_latent_pca,
    plot_reconstruction_gallery,
    plot_score_vs_properties,
    residual_limit,
)


def _galaxy_scores():
    """A score_sets-like table: 6 observed, 4 + 3 of a variant at two strengths, 2 of another."""
    rng = np.random.default_rng(0)
    keys = [("observed", 0.0)] * 6 + [("clumps", 0.5)] * 4 + [("clumps", 1.0)] * 3 + [
        ("colour", 1.0)] * 2
    return pd.DataFrame({"variant": [k[0] for k in keys], "strength": [k[1] for k in keys],
                         "A": rng.uniform(0.005, 0.095, len(keys)),
                         "log_mstar": rng.uniform(9, 12, len(keys)),
                         "z": rng.uniform(0.01, 0.3, len(keys)), "bt": np.nan})


def test_plot_galaxy_scores_one_histogram_per_set_as_fractions():
    scores = _galaxy_scores()
    fig = plot_galaxy_scores(scores, bins="seed")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "observed (n=6)", "clumps 0.5 (n=4)", "clumps 1 (n=3)", "colour 1 (n=2)"]
    bars = [p for p in ax.patches if type(p).__name__ == "Rectangle"]
    assert len(bars) == 99  # the reference, filled, on the seed's linspace(0, 0.1, 100)
    assert sum(b.get_height() for b in bars) == pytest.approx(1.0)
    assert bars[0].get_x() == 0.0 and bars[-1].get_x() + bars[-1].get_width() == pytest.approx(0.1)
    assert len([p for p in ax.patches if type(p).__name__ == "Polygon"]) == 3  # step outlines
    # a variant name selects all its strengths; a pair selects one set
    sub = plot_galaxy_scores(scores, sets=["clumps", ("colour", 1)], bins=5).axes[0]
    assert [t.get_text() for t in sub.get_legend().get_texts()] == [
        "clumps 0.5 (n=4)", "clumps 1 (n=3)", "colour 1 (n=2)"]
    with pytest.raises(ValueError, match=r"no set \['nope'\]"):
        plot_galaxy_scores(scores, sets=["nope"])
    with pytest.raises(ValueError, match=r"lacks columns \['A'\]"):
        plot_galaxy_scores(scores.drop(columns="A"))


def test_plot_score_vs_properties_scatter_per_set_and_panel():
    scores = _galaxy_scores()
    fig = plot_score_vs_properties(scores)
    axes = fig.axes
    assert [ax.get_xlabel() for ax in axes][1:] == ["redshift z", "bulge-to-total B/T"]
    assert all(len(ax.collections) == 4 for ax in axes)
    observed = scores[scores["variant"] == "observed"]
    np.testing.assert_allclose(axes[0].collections[0].get_offsets(),
                               observed[["log_mstar", "A"]].to_numpy())
    np.testing.assert_allclose(axes[0].collections[0].get_facecolor()[0][:3],
                               [float(REFERENCE_COLOR)] * 3)
    assert [t.get_text() for t in axes[2].texts] == ["no bt values"]  # all NaN (real images)
    assert len(fig.legends[0].get_texts()) == 4
    with pytest.raises(ValueError, match=r"no property column \['sfr'\]"):
        plot_score_vs_properties(scores, properties=("sfr",))


def test_plot_reconstruction_gallery_rows_order_and_symmetric_residual():
    rng = np.random.default_rng(1)
    images = rng.uniform(-1, 1, (5, 3, 8, 8)).astype(np.float32)
    recon = rng.uniform(-1, 1, (5, 3, 8, 8)).astype(np.float32)
    scores = np.array([0.2, 0.9, 0.1, 0.5, 0.3])
    fig = plot_reconstruction_gallery(images, recon, scores, n=2, ids=list("abcde"))
    image_axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(image_axes) == 12 and len(fig.axes) == 13  # 3 rows x (2 top + 2 bottom) + bar
    titles = [ax.get_title() for ax in image_axes[:4]]
    assert titles == ["#1  A=0.9\nb", "#2  A=0.5\nd", "#4  A=0.2\na", "#5  A=0.1\nc"]
    original, residual = image_axes[0].images[0], image_axes[8].images[0]
    np.testing.assert_array_equal(original.get_array(), galaxy_rgb(images[1]))  # as the viewer
    np.testing.assert_allclose(residual.get_array(), (images[1] - recon[1]).mean(0), atol=1e-6)
    assert residual.get_cmap().name == "RdBu_r"
    vmin, vmax = residual.get_clim()
    assert vmin == -vmax and vmax == pytest.approx(  # one symmetric scale for the row
        residual_limit((images[[1, 3, 0, 2]] - recon[[1, 3, 0, 2]]).mean(1)))
    # one band, grey originals, fewer images than 2 n: each image once
    grey = plot_reconstruction_gallery(images[:3, :1], recon[:3, :1], scores[:3], n=2, band=0)
    assert len(grey.axes) == 10
    grey_rgb = grey.axes[0].images[0].get_array()
    assert (grey_rgb[..., 0] == grey_rgb[..., 2]).all()
    with pytest.raises(ValueError, match="one shape"):
        plot_reconstruction_gallery(images, recon[:, :1], scores)


def test_plot_latent_pca_per_set_fitted_on_the_reference():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(2)
    observed = rng.normal(0, 1, (30, 6)) * [3, 1, 1, 1, 1, 1]
    shifted = rng.normal(0, 1, (10, 6)) + [0, 0, 0, 0, 0, 8]
    latents = {("observed", 0.0): observed, ("clumps", 1.0): shifted}
    fig = plot_latent_pca(latents, fit_on=("observed", 0.0))
    ax = fig.axes[0]
    assert len(ax.collections) == 2
    want = PCA(n_components=2, svd_solver="full").fit(observed).transform(shifted)
    np.testing.assert_allclose(ax.collections[1].get_offsets(), want)
    assert ax.get_xlabel().startswith("PC1 (") and "of observed's variance" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["observed", "clumps 1"]
    # one array with labels; PCA on all rows
    flat = plot_latent_pca(np.r_[observed, shifted], ["a"] * 30 + ["b"] * 10).axes[0]
    assert [len(c.get_offsets()) for c in flat.collections] == [30, 10]
    with pytest.raises(ValueError, match="fit_on"):
        plot_latent_pca(latents, fit_on="nope")
    with pytest.raises(ValueError, match="nz >= 2"):
        plot_latent_pca(np.zeros((5, 1)))
