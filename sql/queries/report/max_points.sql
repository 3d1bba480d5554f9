-- The most points a dataset can score (dataset_quality), shown beside every average.
SELECT any_value(max_points) FROM dataset_quality
