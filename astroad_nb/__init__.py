"""astroad_nb: anomaly, novelty and one-class detection in astronomy, with a person in the loop."""

__version__ = "0.1.0"

from astroad_nb._config import FAST, real_data_path  # noqa: E402

__all__ = ["FAST", "load", "real_data_path", "save", "__version__"]


def save(obj, path):
    """Write a fitted astroad_nb object to a folder: see :func:`astroad_nb.io.save`."""
    from astroad_nb.io import save as _save  # lazy: `import astroad_nb` stays light

    return _save(obj, path)


def load(path, *, expected=None, feature_names=None, device=None):
    """Read any object written by ``save``: see :func:`astroad_nb.io.load`.

    Examples
    --------
    >>> detector = astroad_nb.load("models/iforest")  # doctest: +SKIP
    """
    from astroad_nb.io import load as _load

    return _load(path, expected=expected, feature_names=feature_names, device=device)
