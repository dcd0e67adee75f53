"""astroad_nb: anomaly, novelty and one-class detection in astronomy, with a person in the loop."""

__version__ = "0.1.0"

from astroad_nb._config import FAST, real_data_path  # noqa: E402

__all__ = ["FAST", "real_data_path", "__version__"]
