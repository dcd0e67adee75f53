"""LabelingPanel through its public widget API (``button.click()``, ``.value``, the key widget's
comm message path) and the triplet renderers in :mod:`astroad_nb.plotting`. No browser here:
``tests/browser/test_labeling_panel_lab.py`` proves the same panel in JupyterLab."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from astroad_nb.data.alerts import CutoutSet
from astroad_nb.plotting import (
    NAN_COLOR,
    cutout_png,
    plot_triplet,
    stretch_cutout,
    triplet_images,
    triplet_pngs,
)
from astroad_nb.store import LabelStore
from astroad_nb.widgets import LabelingPanel, LabelingSession


def _cutouts(n=6, seed=0):
    """n noisy triplets with a point source and, in the first, a NaN-padded edge."""
    rng = np.random.default_rng(seed)
    images = rng.normal(100, 5, (n, 3, 63, 63)).astype(np.float32)
    images[:, :, 29:34, 29:34] += 200
    images[0, :, :, 50:] = np.nan
    table = pd.DataFrame({"objectId": [f"ZTF{i:02d}" for i in range(n)], "snr": np.arange(n) + 5.0,
                          "kind": [("real", "cosmic_ray")[i % 2] for i in range(n)],
                          "label": [1 - i % 2 for i in range(n)]})
    return CutoutSet(images, table=table, ids=[f"c{i}" for i in range(n)],
                     meta={"pixel_scale": 1.01})


@pytest.fixture
def store(tmp_path):
    with LabelStore(tmp_path / "labels.sqlite", who="ana") as store:
        yield store


@pytest.fixture
def panel(store):
    return LabelingPanel(_cutouts(), [0.5, 0.45, 0.55, 0.6, 0.4, 0.52], store=store, round=2)


def _png_size(data):
    return Image.open(io.BytesIO(data)).size


def _rows(store):
    frame = store.to_frame(include_undone=True)
    return list(zip(frame["item_id"], frame["label"], frame["round"], frame["note"],
                    frame["active"], strict=True))


def _key_message(widget, key):
    """Deliver a key press the way the browser does: a custom comm message to the widget."""
    widget.comm.handle_msg({"content": {"data": {"method": "custom",
                                                 "content": {"event": "key", "key": key}}},
                            "buffers": []})


# --------------------------------------------------------------------------- panel
def test_panel_shows_triplet_p_real_and_metadata(panel):
    assert [_png_size(image.value) for image in panel.images] == [(189, 189)] * 3
    assert "c0" in panel.info.value and "0.500" in panel.info.value
    assert "ZTF00" in panel.meta.value and "snr" in panel.meta.value
    assert "cosmic_ray" not in panel.meta.value and ">label<" not in panel.meta.value  # truth
    assert (panel.progress.value, panel.progress.max) == (0, 6)
    assert "item <b>1 of 6</b>" in panel.progress_text.value
    assert panel.buttons["undo"].disabled and not panel.buttons["real"].disabled
    assert "r</kbd>" in panel.keys.help
    assert "astroad-labeling" in panel.widget._dom_classes
    assert "application/vnd.jupyter.widget-view+json" in panel._repr_mimebundle_()


def test_click_bogus_commits_row_and_shows_next(panel, store):
    first = panel.images[0].value
    panel.buttons["bogus"].click()
    assert _rows(store) == [("c0", "bogus", 2, "p_real=0.5000", 1)]
    assert panel.session.current == "c1" and "c1" in panel.info.value
    assert panel.images[0].value != first
    assert panel.progress.value == 1 and "item <b>2 of 6</b>" in panel.progress_text.value
    assert "c0</b> → bogus" in panel.message.value
    assert not panel.buttons["undo"].disabled


def test_key_messages_label_skip_and_undo(panel, store):
    _key_message(panel.keys, "r")
    _key_message(panel.keys, "ArrowLeft")
    _key_message(panel.keys, "s")
    _key_message(panel.keys, "x")  # not a shortcut: ignored
    assert panel.session.current == "c3" and panel.session.status("c2") == "skipped"
    _key_message(panel.keys, "u")  # undoes the skip
    _key_message(panel.keys, "U")  # caps lock: undoes the bogus label
    assert panel.session.current == "c1"
    assert _rows(store) == [("c0", "real", 2, "p_real=0.5000", 1),
                            ("c1", "bogus", 2, "p_real=0.4500", 0)]
    assert panel.answers() == {"c0": 1}


def test_undo_button_marks_row_undone_and_shows_item_again(panel, store):
    panel.buttons["real"].click()
    panel.buttons["undo"].click()
    assert _rows(store) == [("c0", "real", 2, "p_real=0.5000", 0)]
    assert panel.session.current == "c0" and "c0" in panel.info.value
    assert "undid real on <b>c0</b>" in panel.message.value
    assert panel.buttons["undo"].disabled


def test_done_hands_answers_to_on_done(store):
    got = []
    panel = LabelingPanel(_cutouts(4), store=store, on_done=got.append)
    for name in ("real", "skip", "bogus", "real"):
        panel.buttons[name].click()
    assert panel.session.done and all(panel.buttons[n].disabled for n in ("real", "bogus", "skip"))
    assert "all 4 done" in panel.progress_text.value
    assert [image.value for image in panel.images] == [b"", b"", b""]
    panel.buttons["done"].click()
    assert got == [{"c0": 1, "c2": 0, "c3": 1}]
    assert panel.done() == {"c0": 1, "c2": 0, "c3": 1}
    assert "handed back 3 labels (2 real, 1 bogus)" in panel.message.value
    panel.keys.press("r")  # done: keys say so, change nothing
    assert len(store) == 3 and "all items decided" in panel.message.value


def test_reopened_panel_resumes_after_given_labels(panel, store):
    panel.buttons["real"].click()
    panel.buttons["bogus"].click()
    again = LabelingPanel(_cutouts(), store=store, round=2)
    assert again.session.current == "c2" and again.progress.value == 2
    assert "item <b>3 of 6</b>" in again.progress_text.value
    assert LabelingPanel(_cutouts(), store=store, round=3).session.current == "c0"  # new round


def test_ids_pick_items_and_p_real_by_id(store):
    cutouts = _cutouts()
    hardest = ["c4", "c1"]
    panel = LabelingPanel(cutouts, pd.Series({"c1": 0.49, "c4": 0.51, "c0": 0.9}), store=store,
                          ids=hardest)
    assert panel.session.ids == hardest and panel.session.p_real.tolist() == [0.51, 0.49]
    assert "ZTF04" in panel.meta.value
    expected = triplet_pngs(cutouts.images[4], pixel_scale=1.01)
    assert [image.value for image in panel.images] == expected


def test_query_frame_gives_items_and_p_real(store):
    query = pd.DataFrame({"id": ["c3", "c0"], "p_real": [0.5, 0.49], "uncertainty": [0.5, 0.49]})
    panel = LabelingPanel(_cutouts(), query, store=store)
    assert panel.session.ids == ["c3", "c0"] and panel.session.p_real.tolist() == [0.5, 0.49]
    with pytest.raises(ValueError, match="columns 'id' and 'p_real'"):
        LabelingPanel(_cutouts(), query[["id"]], store=store)


def test_plain_array_with_ids(store):
    images = _cutouts(2).images
    panel = LabelingPanel(images, [0.3, 0.7], store=store, ids=["x", "y"])
    assert panel.session.current == "x" and "no metadata" in panel.meta.value
    with pytest.raises(ValueError, match="2 triplets but 1 ids"):
        LabelingPanel(images, store=store, ids=["x"])
    with pytest.raises(ValueError, match=r"ids \['nope'\] are not in the cutouts"):
        LabelingPanel(_cutouts(2), store=store, ids=["nope"])
    with pytest.raises(ValueError, match=r"shape \(N, 3, H, W\)"):
        LabelingPanel(images[:, :2], store=store)


def test_stretch_toggle_redraws(panel):
    before = [image.value for image in panel.images]
    panel.stretch_toggle.value = "asinh"
    assert panel.stretch == "asinh"
    assert [image.value for image in panel.images] != before
    assert panel.images[0].value == triplet_pngs(_cutouts().images[0], stretch="asinh")[0]


def test_grid_mode_toggle_fill_submit(panel, store):
    panel.mode_toggle.value = "grid"
    assert panel.single_view.layout.display == "none" and panel.grid_view.layout.display is None
    assert [b.tooltip for b in panel.thumb_buttons[:6]] == [f"c{i}" for i in range(6)]
    assert [t.layout.visibility for t in panel.thumbs[5:8]] == [None, "hidden", "hidden"]
    assert _png_size(panel.thumbs[0].value) == (126, 126)
    panel.thumb_buttons[1].click()
    assert panel.thumb_buttons[1].description == "real · p=0.45"
    assert panel.thumb_buttons[1].button_style == "success"
    panel.thumb_buttons[2].click()
    panel.thumb_buttons[2].click()
    assert panel.thumb_buttons[2].description == "bogus · p=0.55"
    panel.keys.press("r")  # one-by-one keys do nothing in grid mode
    assert len(store) == 0
    panel.buttons["submit page"].click()
    assert _rows(store) == [("c1", "real", 2, "p_real=0.4500", 1),
                            ("c2", "bogus", 2, "p_real=0.5500", 1)]
    assert "2 labels, 4 skipped" in panel.message.value
    assert panel.session.done and panel.buttons["submit page"].disabled


def test_grid_rest_bogus_then_back_to_one_by_one(panel, store):
    panel.set_grid(True)
    panel.thumb_buttons[0].click()
    panel.buttons["rest bogus"].click()
    assert [b.description.split()[0] for b in panel.thumb_buttons[:3]] == ["real", "bogus", "bogus"]
    panel.buttons["submit page"].click()
    assert panel.answers() == {"c0": 1, "c1": 0, "c2": 0, "c3": 0, "c4": 0, "c5": 0}
    panel.buttons["undo"].click()  # grid labels are undone one at a time
    panel.mode_toggle.value = "one by one"
    assert panel.session.current == "c5" and "c5" in panel.info.value
    assert panel.single_view.layout.display is None


def test_session_is_exported():
    assert LabelingSession.__module__ == "astroad_nb.widgets.labeling_state"


# --------------------------------------------------------------------------- plotting helpers
def test_stretch_cutout_ranges_and_nans():
    image = np.arange(100, dtype=np.float32).reshape(10, 10)
    image[0, 0] = np.nan
    for stretch in ("zscale", "asinh"):
        out = stretch_cutout(image, stretch)
        assert np.isnan(out[0, 0]) and np.nanmin(out) >= 0 and np.nanmax(out) <= 1
        assert np.nanmax(out) == 1.0
    assert np.isnan(stretch_cutout(np.full((4, 4), np.nan))).all()
    assert (stretch_cutout(np.ones((4, 4))) == 0).all()  # flat: no division by zero
    with pytest.raises(ValueError, match="stretch must be one of"):
        stretch_cutout(image, "log")


def test_triplet_images_nan_colour_zoom_and_scale_bar():
    triplet = _cutouts(1).images[0]
    rgb = triplet_images(triplet, zoom=2, pixel_scale=1.01)
    assert rgb.shape == (3, 126, 126, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 0, 125]) == NAN_COLOR  # NaN padding in orange
    bar = (rgb[:, 117:119, 7:27] == 255).all(axis=(1, 2, 3))  # 10" / 1.01"/px * 2 = 20 px
    assert bar.tolist() == [True] * 3
    assert (rgb[:, [116, 119], 7:27] == 0).all() and (rgb[:, 117:119, 27] == 0).all()  # outline
    with pytest.raises(ValueError, match=r"expected 3 cutouts"):
        triplet_images(triplet[:2])


def test_pngs_and_matplotlib_figure():
    triplet = _cutouts(1).images[0]
    assert [_png_size(p) for p in triplet_pngs(triplet, zoom=3)] == [(189, 189)] * 3
    assert _png_size(cutout_png(triplet[2], zoom=1, pixel_scale=None)) == (63, 63)
    import matplotlib

    matplotlib.use("Agg")
    fig = plot_triplet(triplet, title="c0")
    assert [ax.get_title() for ax in fig.axes] == ["science", "reference", "difference"]
    assert fig._suptitle.get_text() == "c0"
