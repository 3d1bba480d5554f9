-- `make demo`: the sample portal's datasets by licence. Parameter: portal id.
SELECT license AS licence, is_open, datasets, share_of_datasets FROM coverage_by_license WHERE portal_id = ?
