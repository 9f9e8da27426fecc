"""Price sources: one reader class per source or file format, each yielding canonical frames.

This package never imports Dagster.
"""
