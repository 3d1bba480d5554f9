"""Reference data the library reads: the categories, Vietnam's administrative units (CSV)."""
