"""Dagster definitions for the harvester. Thin: every asset calls into the `catalog` library."""
