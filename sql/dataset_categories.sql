-- Each current dataset in each reference category it covers (EU High-Value Datasets and Open Data
-- Charter key datasets, matched in English and Vietnamese: catalog/normalise/themes.py).
CREATE OR REPLACE VIEW dataset_categories AS
SELECT portal_id, dataset_id, title, publisher_name, unnest(categories) AS category
FROM datasets;
