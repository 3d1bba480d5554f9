"""What every software's mapping shares: row builders, value coercion, and the table-driven
vocabularies (formats, licences, update frequencies, reference categories). Each software's own
mapping lives in its folder, `catalog/sources/<software>/mapping.py`."""
