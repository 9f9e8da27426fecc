"""Feature and label assets (group ``features``), over ``staging/bars``.

==========================  ============  ==================================================
asset (table)               partitions    depends on
==========================  ============  ==================================================
features/alpha158           symbol        staging/bars
features/classic            symbol        staging/bars
features/regime             symbol        staging/bars
features/labels             symbol        staging/bars
features/context            symbol        features/classic
features/sentiment          none          staging/bars, the sentiment_agg producer if any
features/cross_asset        none          staging/bars (all symbols: see ``joins``)
==========================  ============  ==================================================

:func:`derived_assets` builds, from the other assets of the code location, the pieces whose
dependencies are only known then: ``features/sentiment`` (wired to the news pipeline's
``sentiment_agg`` asset when it exists) and the SQL models of ``dbt_like_sql/``.
"""

from collections.abc import Sequence

import dagster as dg

from trading_assets.defs.features.joins import context_features, cross_asset, sentiment_asset_for
from trading_assets.defs.features.series import SERIES_ASSETS

#: assets with static dependencies (listed in ``trading_assets.definitions.ASSETS``)
FEATURE_ASSETS: list[dg.AssetsDefinition] = [*SERIES_ASSETS, context_features, cross_asset]


def derived_assets(existing: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """``features/sentiment`` and the SQL model assets, given every other asset."""
    from trading_assets.defs.sql_models import sql_model_assets

    sentiment = sentiment_asset_for(existing)
    return [sentiment, *sql_model_assets([*existing, sentiment])]
