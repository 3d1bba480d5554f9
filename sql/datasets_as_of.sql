-- The catalogue as it was at a moment: SELECT * FROM datasets_as_of(TIMESTAMPTZ '2026-11-01 00:00:00+00').
CREATE OR REPLACE MACRO datasets_as_of(moment) AS TABLE
SELECT * EXCLUDE (change, valid_to)
FROM dataset_history
WHERE valid_from <= moment AND (valid_to IS NULL OR valid_to > moment) AND change <> 'deleted';
