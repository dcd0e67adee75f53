"""ReconstructionViewer through its public widget API (``button.click()``, ``.value``, the key
widget's comm message path) and the galaxy PNG renderers of :mod:`astroad_nb.plotting`. No
browser here: ``tests/browser/test_reconstruction_viewer_lab.py`` proves the panel in JupyterLab.
"""

from __future__ import annotations

import io
import sqlite3

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from astroad_nb.plotting import (
    NAN_COLOR,
    galaxy_png,
    galaxy_rgb,
    residual_limit,
    residual_png,
    residual_rgb,
)
from astroad_nb.store import LabelStore
from astroad_nb.widgets.reconstruction import SHORTCUTS, ReconstructionViewer
from astroad_nb.widgets.reconstruction_state import ReconstructionViewerState

N = 12


def _data(seed=0):
    """N 16 px images, reconstructions = a blurred copy, scores N-1 ... 0 (g0 highest)."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(-1, 1, (N, 3, 16, 16)).astype(np.float32)
    recon = (0.5 * images + 0.25 * np.roll(images, 1, axis=-1)).astype(np.float32)
    table = pd.DataFrame({"id": [f"g{i}" for i in range(N)],
                          "set": ["observed"] * 6 + ["clumps 1"] * 6,
                          "variant": ["observed"] * 6 + ["clumps"] * 6,
                          "log_mstar": np.linspace(9.5, 11.5, N)})
    return images, recon, table, np.arange(N, 0, -1, dtype=float)


@pytest.fixture
def db(tmp_path):
    return tmp_path / "labels.sqlite"


@pytest.fixture
def panel(db):
    images, recon, table, scores = _data()
    store = LabelStore(db, who="ana")
    yield ReconstructionViewer(images, scores, reconstructions=recon, table=table, store=store,
                               bands=("i", "r", "g"), bins=4, grid_size=4)
    store.close()


def _size(png):
    return Image.open(io.BytesIO(png)).size


def _decoded(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _rows(db):
    with sqlite3.connect(db) as con:
        return con.execute("SELECT item_id, label, who, context, active FROM labels "
                           "ORDER BY id").fetchall()


def _key_message(widget, key):
    """Deliver a key press the way the browser does: a custom comm message to the widget."""
    widget.comm.handle_msg({"content": {"data": {"method": "custom",
                                                 "content": {"event": "key", "key": key}}},
                            "buffers": []})


def _marker(panel):
    return panel.figure.layout.shapes[0].x0, panel.figure.layout.annotations[0].text


# --------------------------------------------------------------------------- panel
def test_panel_shows_original_reconstruction_residual_and_histogram(panel):
    images, recon, _, _ = _data()
    assert [_size(image.value) for image in panel.images] == [(16, 16)] * 3
    assert [image.width for image in panel.images] == ["160"] * 3  # scaled up by the browser
    assert panel.images[0].value == galaxy_png(images[0], zoom=1)
    assert panel.images[1].value == galaxy_png(recon[0], zoom=1)
    limit = residual_limit(images[0] - recon[0])
    assert panel.images[2].value == residual_png(images[0] - recon[0], limit=limit, zoom=1)
    assert f"±{limit:.3g}" in panel.residual_note.value
    assert "<b>g0</b>" in panel.info.value and "rank <b>1 of 12</b>" in panel.info.value
    assert "log_mstar" in panel.meta.value and "clumps" not in panel.meta.value
    assert (panel.slider.min, panel.slider.max, panel.slider.value) == (1, 12, 1)
    assert [trace.name for trace in panel.figure.data] == ["all", "shown"]
    assert panel.figure.layout.xaxis.title.text == "anomaly score"
    assert list(panel.figure.data[0].y) == [3, 3, 3, 3] == list(panel.figure.data[1].y)
    assert _marker(panel) == (12.0, "#1")
    assert panel.buttons["previous"].disabled and not panel.buttons["next"].disabled
    assert panel.band_toggle.options == ("RGB", "i", "r", "g")
    assert list(panel.filters) == ["set", "variant"]
    assert "astroad-recon" in panel.widget._dom_classes
    assert "application/vnd.jupyter.widget-view+json" in panel._repr_mimebundle_()
    assert "kept in memory only" not in panel.widget.children[0].value


def test_next_button_slider_and_previous_move_the_ranking(panel):
    first = panel.images[0].value
    panel.buttons["next"].click()
    assert panel.state.current == "g1" and panel.slider.value == 2
    assert panel.images[0].value != first and "<b>g1</b>" in panel.info.value
    assert _marker(panel) == (11.0, "#2")
    panel.slider.value = 10  # the browser's slider
    assert panel.state.current == "g9" and "rank <b>10 of 12</b>" in panel.info.value
    assert _marker(panel) == (3.0, "#10")
    panel.buttons["previous"].click()
    assert panel.state.rank == 9 and panel.slider.value == 9
    panel.slider.value = 12
    assert panel.buttons["next"].disabled
    panel.next()
    assert "last image of the ranking" in panel.message.value and panel.state.rank == 12


def test_key_messages_walk_flag_and_undo(panel, db):
    for key in ("j", "ArrowRight", "k", "x"):  # x: not a shortcut, ignored
        _key_message(panel.keys, key)
    assert panel.state.current == "g1"
    _key_message(panel.keys, "I")  # caps lock: still "interesting"; flags move on
    _key_message(panel.keys, "a")
    assert panel.state.current == "g3" and panel.slider.value == 4
    assert _rows(db) == [("g1", "interesting", "ana", "galaxies", 1),
                         ("g2", "artefact", "ana", "galaxies", 1)]
    _key_message(panel.keys, "u")
    assert panel.state.current == "g2" and "undid artefact on <b>g2</b>" in panel.message.value
    assert _rows(db)[-1] == ("g2", "artefact", "ana", "galaxies", 0)
    _key_message(panel.keys, "Home")
    assert panel.state.rank == 1
    _key_message(panel.keys, "ArrowLeft")
    assert "first image of the ranking" in panel.message.value
    assert set(SHORTCUTS.values()) == {"next", "previous", "first", "interesting", "normal",
                                       "artefact", "undo", "grid"}


def test_flag_buttons_commit_rows_and_a_reopened_panel_shows_them(panel, db):
    panel.buttons["normal"].click()
    assert _rows(db) == [("g0", "normal", "ana", "galaxies", 1)]
    assert panel.state.current == "g1" and "<b>g0</b> → normal" in panel.message.value
    panel.state.store.close()  # the kernel dies; the row is already in SQLite
    images, recon, table, scores = _data()
    again = ReconstructionViewer(images, scores, reconstructions=recon, table=table,
                                 store=LabelStore(db, who="ana"))
    assert "flag: <b>normal</b>" in again.info.value and again.state.labels == {"g0": "normal"}
    again.buttons["undo"].click()
    assert _rows(db) == [("g0", "normal", "ana", "galaxies", 0)] and again.state.labels == {}
    again.buttons["undo"].click()
    assert "nothing to undo" in again.message.value


def test_no_advance_keeps_the_image(db):
    images, recon, table, scores = _data()
    panel = ReconstructionViewer(images, scores, reconstructions=recon, table=table,
                                 advance=False)
    panel.buttons["interesting"].click()
    assert panel.state.current == "g0" and "flag: <b>interesting</b>" in panel.info.value
    assert "kept in memory only" in panel.widget.children[0].value


def test_filters_rerank_and_redraw_the_shown_histogram(panel):
    panel.filters["set"].value = "clumps 1"
    assert panel.state.current == "g6" and panel.slider.max == 6
    assert list(panel.figure.data[1].y) == [3, 3, 0, 0]  # scores 6 ... 1
    assert list(panel.figure.data[0].y) == [3, 3, 3, 3]
    assert "6 images ranked" in panel.message.value
    panel.filters["variant"].value = "observed"  # no image is both
    assert panel.state.current is None and panel.images[0].value == b""
    assert "No image passes the filter" in panel.info.value
    assert panel.figure.layout.shapes[0].visible is False
    assert panel.buttons["interesting"].disabled and panel.slider.disabled
    panel.keys.press("i")
    assert "no image to flag" in panel.message.value
    panel.filters["set"].value = "all"
    assert panel.state.current == "g0" and panel.figure.layout.shapes[0].visible is True


def test_band_toggle_draws_one_band_grey_with_a_diverging_residual(panel):
    images, recon, _, _ = _data()
    panel.band_toggle.value = "r"
    assert panel.images[0].value == galaxy_png(images[0], band=1, zoom=1)
    residual = images[0, 1] - recon[0, 1]
    assert panel.images[2].value == residual_png(residual, limit=residual_limit(residual), zoom=1)
    grey = _decoded(panel.images[0].value)
    assert (grey[..., 0] == grey[..., 1]).all()
    with pytest.raises(ValueError, match="band must be one of"):
        panel.set_band("u")


def test_fixed_residual_limit_is_used_on_every_image():
    images, recon, table, scores = _data()
    panel = ReconstructionViewer(images, scores, reconstructions=recon, table=table,
                                 residual_limit=0.25)
    assert panel.images[2].value == residual_png(images[0] - recon[0], limit=0.25, zoom=1)
    assert "±0.25 (fixed)" in panel.residual_note.value


def test_grid_mode_shows_the_page_and_a_cell_opens_its_image(panel, db):
    panel.slider.value = 6
    panel.buttons["artefact"].click()  # g5 -> artefact, now at rank 7
    panel.mode_toggle.value = "grid"
    assert panel.single_view.layout.display == "none" and panel.grid_view.layout.display is None
    assert [b.tooltip for b in panel.thumb_buttons] == ["g4", "g5", "g6", "g7"]  # ranks 5-8
    assert panel.thumb_buttons[1].description == "#6 · 7 · artefact"
    assert panel.thumb_buttons[1].button_style == "danger"
    assert "astroad-cell-current" in panel.cells[2]._dom_classes  # g6, the current image
    assert _size(panel.thumbs[0].value) == (16, 16) and panel.thumbs[0].width == "64"
    _key_message(panel.keys, "j")  # keys still walk; the page follows
    _key_message(panel.keys, "j")
    assert [b.tooltip for b in panel.thumb_buttons] == ["g8", "g9", "g10", "g11"]
    panel.filters["set"].value = "observed"  # six images: the second page has two
    panel.slider.value = 5
    assert [c.layout.visibility for c in panel.cells] == [None, None, "hidden", "hidden"]
    panel.thumb_buttons[1].click()
    assert panel.mode_toggle.value == "one by one" and panel.state.current == "g5"
    assert panel.single_view.layout.display is None
    _key_message(panel.keys, "g")
    assert panel.mode_toggle.value == "grid"


def test_from_state_and_bad_display_parameters():
    images, recon, table, scores = _data()
    state = ReconstructionViewerState(images[:, :1], scores, reconstructions=recon[:, :1],
                                      table=table, bands=("r",))
    state.jump(3)
    panel = ReconstructionViewer.from_state(state, image_px=64)
    assert panel.state is state and panel.slider.value == 3
    assert panel.band_toggle.options == ("r",) and panel.band == "r"  # no RGB for one band
    assert panel.images[0].width == "64"
    with pytest.raises(TypeError, match="state must be a ReconstructionViewerState"):
        ReconstructionViewer.from_state(object())
    with pytest.raises(ValueError, match="grid_size must be a positive"):
        ReconstructionViewer.from_state(state, grid_size=0)
    with pytest.raises(ValueError, match=r"band must be one of \['r'\]"):
        ReconstructionViewer.from_state(state, band="g")


# --------------------------------------------------------------------------- real GANomaly
@pytest.fixture(scope="module")
def galaxy_run():
    """The galaxy protocol end to end at toy size: 32 px galsim galaxies, a GANomaly with
    nz=16, ngf=ndf=8 trained 1 epoch on 12, 6 held-out observed and 6 clumpy ones scored."""
    from astroad_nb.protocols import galaxies

    return galaxies.run("fast", variants=("clumps",), strengths=(1.0,), n_train=12, n_test=6,
                        epochs=1, nz=16, ngf=8, ndf=8, batch_size=12)


def test_from_run_shows_the_protocols_score_table(galaxy_run):
    panel = ReconstructionViewer.from_run(galaxy_run, batch_size=4)
    scores = galaxy_run.objects["scores"]
    assert len(panel.state) == len(scores) == 12
    assert panel.state.score_of() == scores["A"].max()
    assert list(panel.filters["set"].options) == ["all", "observed", "clumps 1"]
    assert panel.figure.layout.xaxis.title.text == "latent score A"
    model, sets = galaxy_run.objects["model"], galaxy_run.objects["sets"]
    images = np.concatenate([s.images for s in sets.values()])
    row = scores["id"].tolist().index(panel.state.current)
    assert panel.images[1].value == galaxy_png(model.reconstruct(images[row:row + 1])[0], zoom=1)
    # one batched call for ranks 1-4: the shown image and the one drawn ahead are among them
    assert panel.state.n_reconstructed == 4


def test_from_model_ranks_by_the_models_anomaly_score(galaxy_run):
    model, sets = galaxy_run.objects["model"], galaxy_run.objects["sets"]
    panel = ReconstructionViewer.from_model(model, sets, grid=True, grid_size=4)
    expected = np.concatenate([model.anomaly_score(s) for s in sets.values()])
    np.testing.assert_allclose(np.sort(panel.state.scores)[::-1],
                               panel.state.ranked()["score"].to_numpy())
    np.testing.assert_allclose(np.sort(panel.state.scores), np.sort(expected))
    assert panel.state.bands == ("i", "r", "g") and panel.band == "RGB"
    assert panel.state.n_reconstructed == 4  # the grid page, in one batch
    assert all(t.value for t in panel.thumbs)


# --------------------------------------------------------------------------- plotting helpers
def test_galaxy_rgb_maps_minus_one_to_one_and_marks_nans():
    image = np.zeros((3, 2, 2), dtype=np.float32)
    image[:, 0, 0] = -1.0
    image[:, 0, 1] = (1.0, 0.0, -1.0)
    image[1, 1, 1] = np.nan
    rgb = galaxy_rgb(image)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == [0, 0, 0] and rgb[0, 1].tolist() == [255, 128, 0]
    assert rgb[1, 0].tolist() == [128, 128, 128] and tuple(rgb[1, 1]) == NAN_COLOR
    grey = galaxy_rgb(image, band=0, zoom=2)
    assert grey.shape == (4, 4, 3) and grey[0, 3].tolist() == [255, 255, 255]
    assert (_decoded(galaxy_png(image, zoom=3)) == galaxy_rgb(image, zoom=3)).all()
    assert (_decoded(galaxy_png(image, band=2)) == galaxy_rgb(image, band=2, zoom=4)).all()
    assert galaxy_rgb(image[0], vmin=0, vmax=2)[0, 1].tolist() == [128, 128, 128]
    with pytest.raises(ValueError, match="RGB composite needs 3 channels, got 4"):
        galaxy_rgb(np.zeros((4, 2, 2)))
    with pytest.raises(ValueError, match="band 3 is not one of the 3 channels"):
        galaxy_png(image, band=3)
    with pytest.raises(ValueError, match="zoom must be a positive integer"):
        galaxy_png(image, zoom=0)
    with pytest.raises(ValueError, match="vmax must exceed vmin"):
        galaxy_rgb(image, vmin=1, vmax=1)


def test_residual_rgb_is_symmetric_and_diverging():
    from matplotlib import colormaps

    residual = np.array([[-0.5, 0.0], [0.5, 2.0]], dtype=np.float32)
    rgb = residual_rgb(residual, limit=0.5)
    cmap = colormaps["RdBu_r"]
    ends = np.rint(255 * np.array([cmap(0.0)[:3], cmap(1.0)[:3]])).astype(np.uint8)
    assert rgb[0, 0].tolist() == ends[0].tolist()  # -limit: blue end
    assert rgb[1, 0].tolist() == ends[1].tolist() == rgb[1, 1].tolist()  # +limit, clipped
    centre = rgb[0, 1].astype(int)
    assert centre.min() > 240 and np.ptp(centre) < 5  # 0: the map's white middle
    assert (_decoded(residual_png(residual, limit=0.5, zoom=2))
            == residual_rgb(residual, limit=0.5, zoom=2)).all()
    signed = residual_rgb(np.stack([residual, -residual, 0 * residual]), limit=0.5)
    assert signed[0, 1].tolist() == [128, 128, 128]  # composite: mid-grey = no residual
    assert signed[1, 0].tolist() == [255, 0, 128]
    assert tuple(residual_rgb(np.array([[np.nan]]))[0, 0]) == NAN_COLOR
    with pytest.raises(ValueError, match="limit must be positive"):
        residual_png(residual, limit=0)


def test_residual_limit_is_a_high_percentile_of_the_absolute_residual():
    values = -np.arange(201, dtype=np.float32)  # |r| = 0 ... 200
    assert residual_limit(values, percentile=50) == 100.0
    assert residual_limit(values, percentile=100) == 200.0
    assert residual_limit(np.zeros(4)) == 1.0 and residual_limit([np.nan]) == 1.0
    assert residual_limit(np.r_[np.zeros(999), 3.0]) == 3.0  # the percentile is 0: the max
