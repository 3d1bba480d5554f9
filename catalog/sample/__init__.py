"""An offline CKAN portal: a generated Vietnamese catalogue and a server that speaks the Action API.

Used by `catalog sample-portal` and `make demo`, by the tests (serving real recorded records, see
`tests/recorded.py`) and by
the benchmark (serving hundreds of thousands of generated ones), so every run exercises the real HTTP
client, paging and parsing.
"""
