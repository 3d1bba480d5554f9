"""Open data portal catalogue harvester: harvest portal metadata into a Parquet lake, query it with DuckDB."""

__version__ = "0.1.0"
