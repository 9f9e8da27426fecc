"""trading-assets."""
