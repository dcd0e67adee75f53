"""The galaxy-image floor (issue 10, points 1-3): readers, ImageSet, the galsim simulator."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from galaxy_fixtures import seed_layout, write_fits, write_jpeg
from PIL import Image
from scipy import ndimage

from astroad_nb.data.galaxies import (
    VARIANTS,
    ImageReadError,
    ImageSet,
    lupton_rgb,
    read_image_files,
    read_image_folder,
    seed_transform,
    simulate_galaxies,
)


# ----------------------------------------------------------------------------- readers
def test_seed_layout_sets_labels_and_skipped_truncated_jpeg(tmp_path):
    info = seed_layout(tmp_path)
    s = read_image_folder(tmp_path, size=64, bands=("i", "r", "g"))
    assert s.images.shape == (info["n_good"], 3, 64, 64) and s.images.dtype == np.float32
    assert s.images.min() >= -1 and s.images.max() <= 1
    counts = s.table.groupby(["set", "label"]).size().to_dict()
    assert counts == {("test", 0): 2, ("test", 1): 2, ("train", 0): 3}
    assert s.ids.tolist()[:3] == ["train/0.normal/n0", "train/0.normal/n1", "train/0.normal/n2"]
    assert s.table["id"].is_unique and s.bands == ("i", "r", "g")
    assert s.rejected["path"].tolist() == [str(info["bad"])]
    assert "truncated" in s.rejected["reason"][0]
    assert s.meta["ignored"] == 1  # notes.txt
    assert "rejected=1" in repr(s) and "train: 3" in repr(s)


def test_truncated_jpeg_raises_naming_the_file(tmp_path):
    info = seed_layout(tmp_path)
    with pytest.raises(ImageReadError, match="broken.jpg") as err:
        read_image_folder(tmp_path, on_error="raise")
    assert err.value.path == str(info["bad"])


def test_split_folder_and_class_names(tmp_path):
    seed_layout(tmp_path)
    s = read_image_folder(tmp_path / "test")  # one split folder holding class folders
    assert set(s.table["set"]) == {"test"} and sorted(s.labels.tolist()) == [0, 0, 1, 1]
    write_jpeg(tmp_path / "val" / "v0.jpg")  # a split without class folders: label unknown
    v = read_image_folder(tmp_path)
    assert v.table.set_index("id").loc["val/v0", ["set", "label"]].tolist() == ["val", -1]


def test_seed_transform_is_resize_then_centre_crop(tmp_path):
    pixels = write_jpeg(tmp_path / "a.jpg", shape=(70, 100))
    s = read_image_folder(tmp_path, size=32, limit=1)
    # by hand: shorter side 70 -> 32, longer int(32 * 100 / 70) = 45, crop offset round(6.5)
    img = Image.fromarray(np.moveaxis(pixels, 0, -1)).resize((45, 32), Image.Resampling.BILINEAR)
    crop = np.asarray(img)[:, 6:38]
    np.testing.assert_allclose(s.images[0], np.moveaxis(crop, -1, 0) / 127.5 - 1.0, atol=1e-6)
    assert s.table.loc[0, ["height", "width"]].tolist() == [70, 100]


def test_flat_folder_rgba_grey_and_shape_mismatch(tmp_path):
    write_jpeg(tmp_path / "rgb.jpg")
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[..., :3], rgba[:20, :, 3], rgba[20:, :, 3] = 200, 255, 0  # bottom half transparent
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    Image.fromarray(np.full((40, 40), 100, np.uint8)).save(tmp_path / "zgrey.png")
    drop = read_image_folder(tmp_path, size=16)
    black = read_image_folder(tmp_path, size=16, alpha="black")
    assert len(drop) == 2 and drop.bands == ("R", "G", "B")
    assert "1 channel" in drop.rejected["reason"][0] or "(1, 16, 16)" in drop.rejected["reason"][0]
    row = drop.ids.tolist().index("rgba")
    assert np.allclose(drop.images[row], 200 / 127.5 - 1)  # alpha dropped, as the seed
    assert np.allclose(black.images[row][:, -4:], -1.0)  # transparent -> black sky
    grey = read_image_files([tmp_path / "zgrey.png"], size=16)
    assert grey.images.shape == (1, 1, 16, 16) and grey.bands == ("L",)


def test_fits_one_file_per_band_grouped_in_band_order(tmp_path):
    planes = {b: np.full((24, 24), v, np.float32) for b, v in zip("gri", (1.0, 2.0, 3.0))}
    for b, plane in planes.items():
        write_fits(tmp_path / f"obj1_{b}.fits", plane)
    write_fits(tmp_path / "obj2_g.fits", planes["g"])
    write_fits(tmp_path / "obj2_r.fits", planes["r"])  # obj2 lacks i
    s = read_image_folder(tmp_path, bands=("i", "r", "g"), transform=None)
    assert s.ids.tolist() == ["obj1"] and s.bands == ("i", "r", "g")
    assert s.images[0, :, 0, 0].tolist() == [3.0, 2.0, 1.0]
    assert s.table.loc[0, "files"] == "obj1_i.fits;obj1_r.fits;obj1_g.fits"
    assert "lacks band(s) ['i']" in s.rejected["reason"][0]
    with pytest.raises(ImageReadError, match="obj2"):
        read_image_folder(tmp_path, bands=("i", "r", "g"), transform=None, on_error="raise")


def test_fits_cube_with_nans_replaced_by_band_median_and_flagged(tmp_path):
    rng = np.random.default_rng(0)
    cube = rng.normal(10, 1, (3, 32, 32)).astype(np.float32)
    cube[1, :4, :4] = np.nan
    write_fits(tmp_path / "cube.fits", cube)
    all_nan = np.ones((2, 8, 8), np.float32)
    all_nan[0] = np.nan
    write_fits(tmp_path / "dead.fits", all_nan)
    raw = read_image_folder(tmp_path, transform=None)
    assert raw.ids.tolist() == ["cube"] and raw.table.loc[0, "n_nan"] == 16
    assert np.isfinite(raw.images).all()
    np.testing.assert_allclose(raw.images[0, 1, :4, :4], np.nanmedian(cube[1]))
    assert "no finite pixel" in raw.rejected.set_index("path").loc[
        str(tmp_path / "dead.fits"), "reason"]
    # fluxes need an explicit stretch before the seed's [-1, 1] transform
    with pytest.raises(ImageReadError, match="stretch"):
        read_image_files([tmp_path / "cube.fits"], on_error="raise")
    st = read_image_files([tmp_path / "cube.fits"], size=16, stretch="asinh")
    assert st.images.shape == (1, 3, 16, 16) and -1 <= st.images.min() < st.images.max() <= 1
    lup = read_image_files([tmp_path / "cube.fits"], size=16, stretch="lupton")
    assert lup.meta["stretch"] == "lupton" and np.ptp(lup.images) > 0


def test_npy_single_images_and_stacks(tmp_path):
    rng = np.random.default_rng(1)
    np.save(tmp_path / "one.npy", rng.random((20, 20)))
    np.save(tmp_path / "hwc.npy", rng.random((20, 20, 1)))
    np.save(tmp_path / "stack.npy", rng.random((3, 1, 20, 20)))
    s = read_image_folder(tmp_path, size=8)
    assert s.ids.tolist() == ["hwc", "one", "stack/0", "stack/1", "stack/2"]
    assert s.images.shape == (5, 1, 8, 8) and set(s.table["format"]) == {"npy"}
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    assert "bad.npy" in read_image_folder(tmp_path, size=8).rejected["path"][0]


def test_imageset_subset_concat_metadata_and_errors(tmp_path):
    seed_layout(tmp_path)
    meta = pd.DataFrame({"id": ["train/0.normal/n1"], "log_mstar": [10.5]})
    s = read_image_folder(tmp_path, size=16, metadata=meta)
    assert s.table["log_mstar"].notna().sum() == 1
    train = s.subset(s.table["set"].to_numpy() == "train")
    both = ImageSet.concat([train, s.subset(slice(0, 2))])
    assert len(both) == 5 and both.ids.tolist()[3:] == s.ids.tolist()[:2]
    assert len(both.rejected) == 2  # carried from both parts
    with pytest.raises(ValueError, match="channels-last"):
        ImageSet(np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match="band names"):
        ImageSet(np.zeros((2, 3, 8, 8)), bands=("g", "r"))
    with pytest.raises(ValueError, match="different"):
        ImageSet.concat([s, ImageSet(np.zeros((1, 3, 8, 8)))])
    with pytest.raises(FileNotFoundError, match="no such folder"):
        read_image_folder(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="no readable image"):
        read_image_files([tmp_path / "test" / "1.abnormal" / "broken.jpg"])


def test_real_galaxy_zoo_folder(real_data):
    s = read_image_folder(real_data("galaxies", "galaxy_zoo"), size=64, limit=50)
    assert s.images.shape == (50, 3, 64, 64) and len(s.rejected) == 0
    assert (s.table[["height", "width"]] == 424).all().all()
    assert s.ids[0].isdigit() and -1 <= s.images.min() < s.images.max() <= 1


def test_real_seed_examples(real_data):
    folder = real_data("galaxies", "seed_examples")
    s = read_image_folder(folder, bands=("i", "r", "g"), on_error="raise")
    sdss = s.subset(s.ids == "SDSS_example")
    pixels = np.asarray(Image.open(folder / "SDSS_example.jpg"))
    # 64 x 64 already: the seed's transform only rescales to [-1, 1]
    np.testing.assert_allclose(sdss.images[0], np.moveaxis(pixels, -1, 0) / 127.5 - 1, atol=1e-6)
    nihao = s.subset(s.ids == "NIHAO_example")
    assert nihao.table.loc[0, ["height", "width"]].tolist() == [500, 500]
    black = read_image_files([folder / "NIHAO_example.png"], alpha="black")
    np.testing.assert_array_equal(black.images[0], nihao.images[0])  # its alpha is 255


# ----------------------------------------------------------------------------- simulator
@functools.cache
def _sim(variant="observed", strength=1.0, output="bands", noise=False, n=10, size=64):
    return simulate_galaxies(n, variant, strength, output=output, noise=noise, size=size,
                             random_state=7)


def _concentration(img):
    """C = 5 log10(r80 / r20) from the curve of growth about the light centroid."""
    y, x = np.indices(img.shape)
    cy, cx = ndimage.center_of_mass(np.clip(img, 0, None))
    r = np.hypot(y - cy, x - cx).ravel()
    order = np.argsort(r)
    cum = np.cumsum(img.ravel()[order]) / img.sum()
    return 5 * np.log10(np.interp(0.8, cum, r[order]) / np.interp(0.2, cum, r[order]))


def _small_scale(img):
    """Clumpiness: sum |I - boxcar5(I)| / sum I (small-scale structure)."""
    return np.abs(img - ndimage.uniform_filter(img, 5)).sum() / img.sum()


def _moments(img):
    """(axis ratio, trace of the second-moment matrix [px^2]) of a noiseless image."""
    w = np.clip(img, 0, None) / np.clip(img, 0, None).sum()
    y, x = np.indices(img.shape)
    dy, dx = y - (w * y).sum(), x - (w * x).sum()
    ev = np.linalg.eigvalsh([[(w * dx * dx).sum(), (w * dx * dy).sum()],
                             [(w * dx * dy).sum(), (w * dy * dy).sum()]])
    return np.sqrt(ev[0] / ev[1]), ev.sum()


def _mean(stat, s, band=1):
    return float(np.mean([stat(img) for img in s.images[:, band]]))


def test_simulator_shapes_table_and_determinism():
    a = simulate_galaxies(6, random_state=3)
    b = simulate_galaxies(6, random_state=3)
    c = simulate_galaxies(6, random_state=4)
    assert a.images.shape == (6, 3, 64, 64) and a.bands == ("i", "r", "g")
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(a.images, c.images)
    t = a.table
    assert t["log_mstar"].between(9, 12).all() and t["z"].between(0.005, 0.395).all()
    for b_ in "gri":
        assert t[f"psf_fwhm_{b_}"].between(1.0, 1.8).all()
        assert t[f"sky_{b_}"].notna().all()
    assert (t["mag_r"] <= 17.77 + 1e-9).all() and (t["label"] == 0).all()
    assert {"bt", "r_bulge_kpc", "r_disk_arcsec", "inclination_deg", "pa_deg"} <= set(t)
    small = simulate_galaxies(2, size=32, output="bands", random_state=3)
    assert small.images.shape == (2, 3, 32, 32) and small.bands == ("g", "r", "i")
    with pytest.raises(ValueError, match="variant must be one of"):
        simulate_galaxies(2, "nope")
    with pytest.raises(ValueError, match="strength"):
        simulate_galaxies(2, "clumps", 1.5)


def test_bulge_redder_than_disk_and_bt_rises_with_mass():
    t = simulate_galaxies(40, output="bands", noise=False, size=16, random_state=11).table
    assert (t["gr_bulge"] > t["gr_disk"]).mean() > 0.9
    assert np.corrcoef(t["log_mstar"], t["bt"])[0, 1] > 0.3


def test_total_flux_within_5_percent_of_the_requested_magnitude():
    s = _sim(size=128)  # noiseless bands; 128 px holds the truncated bulge and the disk
    for k, band in enumerate(s.bands):
        requested = 10 ** (-0.4 * (s.table[f"mag_{band}"].to_numpy() - 22.5))  # nanomaggies
        np.testing.assert_allclose(s.images[:, k].sum(axis=(1, 2)), requested, rtol=0.05)


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v != "observed"])
def test_strength_zero_reproduces_observed(variant):
    obs = _sim("observed", output="rgb", noise=True, n=4)
    np.testing.assert_array_equal(_sim(variant, 0.0, output="rgb", noise=True, n=4).images,
                                  obs.images)


def test_variants_move_their_statistic():
    obs = _sim()
    # shot noise: photon-shooting noise at fixed flux
    shot = _sim("shot_noise")
    rms = np.sqrt(((shot.images - obs.images) ** 2).mean(axis=(2, 3)))
    assert (rms > 0).all()
    np.testing.assert_allclose(shot.images.sum(axis=(2, 3)), obs.images.sum(axis=(2, 3)),
                               rtol=0.02)
    assert _mean(_small_scale, shot) > 3 * _mean(_small_scale, obs)
    # clumps: more small-scale structure
    assert _mean(_small_scale, _sim("clumps")) > 1.5 * _mean(_small_scale, obs)
    # over-concentrated bulge: higher concentration index
    assert _mean(_concentration, _sim("concentrated")) > _mean(_concentration, obs) + 0.2
    # colour shift: g - r bluer by 0.3 mag
    def gr(s):
        return float(np.mean(-2.5 * np.log10(s.images[:, 0].sum((1, 2))
                                             / s.images[:, 1].sum((1, 2)))))
    assert gr(_sim("colour")) == pytest.approx(gr(obs) - 0.3, abs=0.02)
    # no PSF / no noise: sharper (higher peak, smaller second moment), no noise
    sharp = _sim("no_psf_noise")
    peak = lambda s: float(np.mean(s.images[:, 1].max((1, 2)) / s.images[:, 1].sum((1, 2))))  # noqa: E731
    assert peak(sharp) > 2 * peak(obs)
    assert _mean(lambda i: _moments(i)[1], sharp) < _mean(lambda i: _moments(i)[1], obs)
    np.testing.assert_array_equal(_sim("no_psf_noise", 1.0, noise=True).images, sharp.images)
    half = _sim("no_psf_noise", 0.5, noise=True).images - _sim("no_psf_noise", 0.5).images
    full = _sim(noise=True).images - obs.images
    assert half.std() == pytest.approx(0.5 * full.std(), rel=0.05)  # noise x (1 - s)
    # face-on: axis ratios near 1
    assert _mean(lambda i: _moments(i)[0], _sim("face_on")) > 0.95
    assert _mean(lambda i: _moments(i)[0], obs) < 0.8


def test_nihao_stretch_changes_rgb_only():
    obs = _sim(output="rgb", noise=True, n=4)
    nihao = _sim("nihao_stretch", output="rgb", noise=True, n=4)
    assert nihao.images.mean() > obs.images.mean() + 0.05  # the seed's stretch is brighter
    np.testing.assert_array_equal(_sim("nihao_stretch").images, _sim().images)
    # the seed's own composite of the same bands
    bands = _sim(noise=True, n=4).images[0]
    direct = lupton_rgb(bands[::-1], Q=20, stretch=0.1)
    assert direct.shape == (3, 64, 64) and direct.dtype == np.uint8


def test_simulated_rgb_survives_the_folder_reader(tmp_path):
    s = _sim(output="rgb", noise=True, n=4)
    np.save(tmp_path / "sim.npy", s.images * 0.5 + 0.5)  # back to [0, 1]
    back = read_image_folder(tmp_path, size=64, bands=("i", "r", "g"))
    np.testing.assert_allclose(back.images, s.images, atol=1e-6)
    assert seed_transform(np.zeros((3, 64, 64), np.uint8)).min() == -1.0
