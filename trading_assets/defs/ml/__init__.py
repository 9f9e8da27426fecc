"""Model training and out-of-sample predictions (group ``ml``): see :mod:`.assets`."""

from trading_assets.defs.ml.assets import ML_ASSETS

__all__ = ["ML_ASSETS"]
