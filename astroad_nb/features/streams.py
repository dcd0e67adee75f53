"""Stream-membership features: the seed's 10 per-star features and stream-frame coordinates.

The seed (*Meta-Learning One-Class Classification with DeepSets: Application in the Milky Way*)
describes each star by ra, dec, pmra, pmdec, G-BP, G-RP, G and three angular terms, standardised
per problem (mean 0, std 1 over the field of that problem).

Checked against the seed's code (``ClusterBusters@4aedf82``, ``Code/Deep Sets/
generate_datasets_deepsets.py`` and ``fine_tune_gd1.py``): the order ra, dec, pmra, pmdec,
g_bp = G - BP, g_rp = G - RP, g = G, ang0, ang1, ang2; the angular terms from raw (deg -> rad)
ra, dec and raw proper motions; standardisation ``(x - mean) / std`` with pandas' ``std``
(ddof 1), a zero std replaced by 1, over all stars of one problem (training: the stream's
members + its whole foreground file; validation: the known members + every field row, both
halves of ``self_lab``). One difference: the seed's pandas statistics skip NaN while we drop
rows with a NaN input first (the clusterbusters fields have none, so the features agree).

Every feature frame says which photometric system it carries in ``attrs["photometry"]``
(``"gaia"`` or ``"ps1"``; its column names say it too), so a model can refuse another system's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from astroad_nb.features.scaling import standard_scale

__all__ = [
    "PS1_FEATURES",
    "STREAM_FEATURES",
    "StreamFeatureScaler",
    "problem_features",
    "raw_stream_features",
    "stream_features",
    "stream_frame_coordinates",
    "great_circle_frame",
]

#: Names of the 10 features, in order (``photometry="gaia"``).
STREAM_FEATURES = ("ra", "dec", "pmra", "pmdec", "g_bp", "g_rp", "g", "ang0", "ang1", "ang2")
#: The PS1 analogues (``photometry="ps1"``): g-i, g, i in the slots of G-BP, G-RP, G.
PS1_FEATURES = ("ra", "dec", "pmra", "pmdec", "g_i", "ps1_g", "ps1_i", "ang0", "ang1", "ang2")
_PHOTOMETRY = {
    "gaia": ("phot_g_mean_mag", "phot_bp_mean_mag", "phot_rp_mean_mag"),
    "ps1": ("g_mean_psf_mag", "i_mean_psf_mag"),
}


def _angular_terms(ra_deg, dec_deg, pmra, pmdec):
    # The seed's DeepSets code (train_deepset.py and its GD-1 fine-tuning script).
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    ang0 = -pmdec * np.cos(ra) - pmra * np.cos(dec) * np.sin(dec) * np.sin(ra)
    ang1 = -pmra * np.cos(dec) * np.cos(ra) * np.sin(dec) + pmdec * np.sin(ra)
    ang2 = pmra * np.cos(dec) ** 2
    return ang0, ang1, ang2


def raw_stream_features(frame: pd.DataFrame, *, photometry="gaia",
                        nan_policy="drop") -> pd.DataFrame:
    """The seed's 10 features before standardisation.

    Angular terms: the seed's DeepSets code, ang0..2 = proper-motion-weighted trigonometric
    terms of (ra, dec) (its validation files' ``ang_coord_3`` equals ang2 exactly while
    ``ang_coord_1/2`` follow an undocumented variant), kept because the model was trained on them.

    Parameters
    ----------
    frame : pandas.DataFrame, shape (n_stars, n_columns)
        Gaia columns ra, dec (deg), pmra, pmdec (mas/yr) and, for ``photometry="gaia"``,
        phot_g/bp/rp_mean_mag; for ``"ps1"``, g_mean_psf_mag and i_mean_psf_mag (then the
        photometric features are g-i, g, i).
    photometry : {'gaia', 'ps1'}
    nan_policy : {'drop', 'keep', 'raise'}
        Rows with a NaN input: dropped (the count is in ``attrs['n_dropped']``), kept as NaN,
        or an error.

    Returns
    -------
    pandas.DataFrame, shape (n_kept, 10)
        Columns ``STREAM_FEATURES`` (or ``PS1_FEATURES``); the index of ``frame`` is kept;
        ``attrs["photometry"]`` = ``photometry``.
    """
    if photometry not in _PHOTOMETRY:
        raise ValueError(f"photometry must be one of {sorted(_PHOTOMETRY)}, got {photometry!r}.")
    if nan_policy not in ("drop", "keep", "raise"):
        raise ValueError(f"nan_policy must be 'drop', 'keep' or 'raise', got {nan_policy!r}.")
    needed = ("ra", "dec", "pmra", "pmdec") + _PHOTOMETRY[photometry]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"stream features need columns {missing}; the frame has "
                         f"{list(frame.columns)}. Expected Gaia archive names (or pass "
                         "photometry='ps1' for Pan-STARRS g/i).")
    data = frame[list(needed)].astype(float)
    bad = data.isna().any(axis=1).to_numpy()
    if bad.any() and nan_policy == "raise":
        raise ValueError(f"{bad.sum()} of {len(frame)} stars have NaN in {list(needed)}, e.g. "
                         f"rows {frame.index[bad][:5].tolist()}. Fix: nan_policy='drop'.")
    if nan_policy == "drop":
        data = data[~bad]
    ra, dec, pmra, pmdec = (data[c].to_numpy() for c in ("ra", "dec", "pmra", "pmdec"))
    if photometry == "gaia":
        g, bp, rp = (data[c].to_numpy() for c in _PHOTOMETRY["gaia"])
        phot, names = (g - bp, g - rp, g), STREAM_FEATURES
    else:
        g, i = (data[c].to_numpy() for c in _PHOTOMETRY["ps1"])
        phot, names = (g - i, g, i), PS1_FEATURES
    values = np.column_stack((ra, dec, pmra, pmdec) + phot + _angular_terms(ra, dec, pmra, pmdec))
    out = pd.DataFrame(values, index=data.index, columns=list(names))
    out.attrs["n_dropped"] = int(bad.sum()) if nan_policy == "drop" else 0
    out.attrs["photometry"] = photometry
    return out


class StreamFeatureScaler:
    """Per-problem standardisation (the seed's ``(x - mean) / std`` over one field).

    Fit it on one problem's field, then transform that field and its support set with the same
    statistics. A column with zero spread is left centred (std taken as 1), as in the seed.

    Attributes
    ----------
    mean_, scale_ : pandas.Series, shape (n_features,)
    """

    def fit(self, features: pd.DataFrame):
        """Learn mean and std of each column of ``features`` (shape (n_stars, n_features))."""
        self.mean_, self.scale_ = standard_scale(features, ddof=1, tol=0.0)
        return self

    def transform(self, features: pd.DataFrame) -> pd.DataFrame:
        """Standardise with the fitted statistics; same shape and index."""
        if not hasattr(self, "mean_"):
            raise RuntimeError("StreamFeatureScaler is not fitted yet; call fit(features) first.")
        return (features[self.mean_.index] - self.mean_) / self.scale_

    def fit_transform(self, features: pd.DataFrame) -> pd.DataFrame:
        """``fit(features).transform(features)``."""
        return self.fit(features).transform(features)

    # Persistence protocol of astroad_nb.io (``astroad_nb.save(scaler, path)`` /
    # ``astroad_nb.load(path)``); no save method here: features sit below io's floor.
    def _get_state(self):
        if not hasattr(self, "mean_"):
            raise RuntimeError("StreamFeatureScaler is not fitted yet; call fit(features) first.")
        return {"feature_names": [str(c) for c in self.mean_.index],
                "arrays": {"mean": self.mean_.to_numpy(np.float64),
                           "scale": self.scale_.to_numpy(np.float64)}}

    def _set_state(self, state):
        index = pd.Index(state["feature_names"], dtype=object)
        self.mean_ = pd.Series(state["arrays"]["mean"], index=index)
        self.scale_ = pd.Series(state["arrays"]["scale"], index=index)


def stream_features(frame: pd.DataFrame, *, frame_center=None, standardize=True,
                    photometry="gaia", nan_policy="drop", return_scaler=False):
    """The seed's 10 features, standardised per problem.

    Angular terms: the seed's DeepSets code (ang0..2, proper-motion-weighted trigonometric terms
    of ra and dec), chosen over its data files' undocumented ``ang_coord_1/2`` variant because
    the published model was trained on them.

    Parameters
    ----------
    frame : pandas.DataFrame, shape (n_stars, n_columns)
        One problem's field (Gaia column names).
    frame_center : (ra, dec) in deg, optional
        When given, ra is re-wrapped to ``(-180, 180]`` around ``frame_center[0]`` and dec is
        shifted by ``frame_center[1]`` before standardising, so fields across ra = 0 do not
        split in two.
    standardize : bool
        Standardise each feature over ``frame`` (per problem, as the seed does).
    photometry : {'gaia', 'ps1'}
    nan_policy : {'drop', 'keep', 'raise'}
        See :func:`raw_stream_features`.
    return_scaler : bool
        Also return the fitted :class:`StreamFeatureScaler` (to apply to a support set).

    Returns
    -------
    features : pandas.DataFrame, shape (n_kept, 10)
        Index of ``frame`` kept (rows with NaN inputs dropped by default;
        ``attrs['n_dropped']`` says how many; ``attrs['photometry']`` names the system).
    scaler : StreamFeatureScaler, only if ``return_scaler``

    Examples
    --------
    >>> X = stream_features(problem.field)  # doctest: +SKIP
    >>> X.loc[problem.support]  # the support set, same statistics  # doctest: +SKIP
    """
    features = raw_stream_features(frame, photometry=photometry, nan_policy=nan_policy)
    n_dropped = features.attrs.get("n_dropped", 0)
    if frame_center is not None:
        ra0, dec0 = frame_center
        features["ra"] = (features["ra"] - ra0 + 180.0) % 360.0 - 180.0
        features["dec"] = features["dec"] - dec0
    scaler = StreamFeatureScaler()
    if standardize:
        features = scaler.fit_transform(features)
    features.attrs["n_dropped"] = n_dropped
    features.attrs["photometry"] = photometry
    return (features, scaler) if return_scaler else features


def problem_features(problem, *, photometry="gaia"):
    """Standardised stream features of a problem's field, aligned truth and support mask.

    Features are standardised over the whole field (the seed's per-problem normalisation);
    the support set, being field rows, shares the field's statistics.

    Parameters
    ----------
    problem : StreamProblem
    photometry : {'gaia', 'ps1'}

    Returns
    -------
    X : pandas.DataFrame, shape (n_kept, 10)
        Field rows without NaN inputs (index of the field kept).
    truth : ndarray of bool, shape (n_kept,), or None
    support : ndarray of bool, shape (n_kept,)
    """
    X = stream_features(problem.field, photometry=photometry)
    rows = problem.field.index.get_indexer(X.index)
    truth = None if problem.truth is None else np.asarray(problem.truth, bool)[rows]
    return X, truth, problem.support_mask[rows]


def great_circle_frame(*, pole=None, endpoints=None, origin=None):
    """An astropy frame with the stream along its equator (phi2 = 0).

    Parameters
    ----------
    pole : SkyCoord, optional
        The great circle's pole.
    endpoints : (SkyCoord, SkyCoord), optional
        Two points on the stream; the frame is ``gala.coordinates.GreatCircleICRSFrame``
        ``.from_endpoints``.
    origin : SkyCoord, optional
        Where phi1 = 0 (with ``pole``).

    Returns
    -------
    gala.coordinates.GreatCircleICRSFrame
    """
    import gala.coordinates as gc

    if endpoints is not None:
        return gc.GreatCircleICRSFrame.from_endpoints(*endpoints)
    if pole is None:
        raise ValueError("great_circle_frame needs pole= or endpoints=.")
    return gc.GreatCircleICRSFrame.from_pole_ra0(pole, ra0=0.0) if origin is None else \
        gc.GreatCircleICRSFrame(pole=pole, origin=origin)


def stream_frame_coordinates(frame: pd.DataFrame, stream_frame="GD1Koposov10") -> pd.DataFrame:
    """Stream-aligned coordinates phi1, phi2 and proper motions for every star.

    Parameters
    ----------
    frame : pandas.DataFrame, shape (n_stars, n_columns)
        ra, dec (deg); pmra, pmdec (mas/yr) when present.
    stream_frame : str or astropy frame
        A gala frame name (``"GD1Koposov10"``, ``"Pal5PriceWhelan18"``, ...) or frame instance
        (e.g. from :func:`great_circle_frame`).

    Returns
    -------
    pandas.DataFrame, shape (n_stars, 2 or 4)
        phi1 (deg, wrapped to (-180, 180]), phi2 (deg) and, with proper motions,
        pm_phi1_cosphi2, pm_phi2 (mas/yr, not reflex-corrected). Index of ``frame``.
    """
    import astropy.coordinates as coord
    import astropy.units as u
    import gala.coordinates as gc

    if isinstance(stream_frame, str):
        if not hasattr(gc, stream_frame):
            raise ValueError(f"unknown stream frame {stream_frame!r}; expected a gala.coordinates "
                             "frame name such as 'GD1Koposov10', or a frame instance.")
        stream_frame = getattr(gc, stream_frame)()
    kwargs = {"ra": frame["ra"].to_numpy(float) * u.deg, "dec": frame["dec"].to_numpy(float) * u.deg}
    has_pm = {"pmra", "pmdec"} <= set(frame.columns)
    if has_pm:
        kwargs.update(pm_ra_cosdec=frame["pmra"].to_numpy(float) * u.mas / u.yr,
                      pm_dec=frame["pmdec"].to_numpy(float) * u.mas / u.yr)
    sky = coord.SkyCoord(**kwargs, frame="icrs").transform_to(stream_frame)
    lon, lat = sky.spherical.lon, sky.spherical.lat
    out = {"phi1": lon.wrap_at(180 * u.deg).to_value(u.deg), "phi2": lat.to_value(u.deg)}
    if has_pm:
        dif = sky.data.differentials["s"]
        out["pm_phi1_cosphi2"] = dif.d_lon_coslat.to_value(u.mas / u.yr)
        out["pm_phi2"] = dif.d_lat.to_value(u.mas / u.yr)
    return pd.DataFrame(out, index=frame.index)
