"""Machine learning over the marts: forecasts (statsmodels SARIMAX), anomaly flags, the
churn model and its scores, user segments and content recommendations, as plain
functions over DataFrames, and :mod:`ml_assets.inputs`, the frames they learn from, read
from the marts through ringside.core.warehouse. The Dagster assets that run them live
in orchestration/defs/ml.py; their outputs go to ringside.core.ml_store.

May use: ringside.core only.
"""
