"""DuckDB over the lake: base views over the Parquet files, then the views in `sql/`.

Every statement a reader looks for is under `sql/`: the views (`sql/*.sql`, one per file, created after
the views each reads, as DuckDB's own parser finds them) and the queries the code asks of them
(`sql/queries/<area>/<name>.sql`, loaded by `named_query`). Two kinds of statement are generated here
instead, because they are built from what only Python knows: the `lake_<table>` views, which list the
lake's files and fill in the columns older files lack (from `catalog.schemas`), and the reference data
views, whose rows come from the registry, Vietnam's units and the category list. So, for the same reason,
are the statements `catalog/snapshots.py` builds from its table list. A harvest uses none of this: it
reads its portal's own files with Arrow (`catalog.versions.previous_state`). The same views serve `catalog
sql` (in memory), `catalog duckdb` (a database file for other tools) and the Dagster assets.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import duckdb
import pyarrow as pa

from catalog import vietnam
from catalog.errors import LakeError
from catalog.lake import TABLE_FOLDERS, Lake
from catalog.reference.categories import CATEGORIES
from catalog.registry import ASCN_PILOT_CITIES, load_registry
from catalog.schemas import HARVEST_RUNS, HARVEST_TABLES, LINK_CHECKS, PORTAL_CHECKS

log = logging.getLogger(__name__)
LAKE_TABLES: dict[str, pa.Schema] = {
    **HARVEST_TABLES,
    "harvest_runs": HARVEST_RUNS,
    "portal_checks": PORTAL_CHECKS,
    "link_checks": LINK_CHECKS,
}
_PACKAGED_SQL = Path(__file__).with_name("sql")
_SOURCE_SQL = Path(__file__).resolve().parent.parent / "sql"


def sql_dir() -> Path:
    """`sql/` inside an installed wheel, else the repository's top-level `sql/`."""
    return _PACKAGED_SQL if _PACKAGED_SQL.is_dir() else _SOURCE_SQL


def sql_literal(value: str) -> str:
    """A SQL string literal. Only for paths inside DDL, which DuckDB cannot parameterise."""
    return "'" + value.replace("'", "''") + "'"


SCALAR_TYPES: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.bool_(): "BOOLEAN",
    pa.float64(): "DOUBLE",
    pa.timestamp("us", tz="UTC"): "TIMESTAMP WITH TIME ZONE",
    pa.timestamp("us"): "TIMESTAMP",
}


def duckdb_type(kind: pa.DataType) -> str:
    """The DuckDB type DuckDB itself gives an Arrow type when reading Parquet."""
    if pa.types.is_list(kind):
        return f"{duckdb_type(kind.value_type)}[]"
    if pa.types.is_map(kind):
        return f"MAP({duckdb_type(kind.key_type)}, {duckdb_type(kind.item_type)})"
    try:
        return SCALAR_TYPES[kind]
    except KeyError:
        raise TypeError(f"no DuckDB type for {kind}") from None


GLOB_CHARACTERS = re.compile(r"([*?\[])")


def parquet_files_sql(files: list[str]) -> str:
    """A DuckDB list literal of files read as they are named: DuckDB treats each path as a glob, so its
    glob characters are escaped (`lake[1]` must not read `lake1`). DuckDB's globbing cannot take a
    backslash together with them, so that one combination is refused."""
    for path in files:
        if "\\" in path and GLOB_CHARACTERS.search(path):
            raise LakeError(f"{path}: DuckDB cannot read a path holding both a backslash and one of * ? [")
    return "[" + ", ".join(sql_literal(GLOB_CHARACTERS.sub(r"[\1]", path)) for path in files) + "]"


def lake_view_sql(
    connection: duckdb.DuckDBPyConnection, lake: Lake, files: list[str], table: str, schema: pa.Schema
) -> str:
    """`lake_<table>`: the table's readable files, or an empty relation of the right shape if there are none.

    The files are listed, not globbed: damaged harvests are left out, and a path is only ever a path.
    A column that no file has yet (files written before the column existed) reads as typed nulls, so a
    lake keeps working across schema additions.
    """
    if not files:
        columns = ", ".join(f'CAST(NULL AS {duckdb_type(field.type)}) AS "{field.name}"' for field in schema)
        return f"CREATE OR REPLACE VIEW lake_{table} AS SELECT {columns} WHERE false"
    locations = [f"s3://{location}" for location in files] if lake.remote else files
    source = f"read_parquet({parquet_files_sql(locations)}, union_by_name = true, hive_partitioning = false)"
    present = {row[0] for row in connection.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    columns = ", ".join(
        f'"{field.name}"' if field.name in present else f'CAST(NULL AS {duckdb_type(field.type)}) AS "{field.name}"'
        for field in schema
    )
    return f"CREATE OR REPLACE VIEW lake_{table} AS SELECT {columns} FROM {source}"


def values_view_sql(name: str, columns: dict[str, str], rows: Iterable[Sequence[object]]) -> str:
    """A view over rows given in the SQL itself (reference data: a copy of the database file carries it)."""
    rows = list(rows)
    typed = ", ".join(
        f'CAST(value{index} AS {kind}) AS "{column}"' for index, (column, kind) in enumerate(columns.items())
    )
    if not rows:
        nulls = ", ".join(f'CAST(NULL AS {kind}) AS "{column}"' for column, kind in columns.items())
        return f"CREATE OR REPLACE VIEW {name} AS SELECT {nulls} WHERE false"
    values = ", ".join("(" + ", ".join(_value_sql(value) for value in row) + ")" for row in rows)
    names = ", ".join(f"value{index}" for index in range(len(columns)))
    return f"CREATE OR REPLACE VIEW {name} AS SELECT {typed} FROM (VALUES {values}) AS reference({names})"


def _value_sql(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return sql_literal(str(value))


@cache
def reference_views() -> dict[str, str]:
    """The reference data the views join, by view name: the classifier's categories (catalog/normalise/
    themes.py, in order, so the portal x category matrix shows the categories no portal covers too),
    the portal registry, Vietnam's provincial units on both maps (catalog/vietnam.py) and the ASEAN
    Smart Cities Network's pilot cities."""
    text = "VARCHAR"
    return {
        "reference_categories": values_view_sql(
            "reference_categories", {"position": "INTEGER", "category": text}, enumerate(CATEGORIES, start=1)
        ),
        "registry_portals": values_view_sql(
            "registry_portals",
            {"portal_id": text, "title": text, "url": text, "software": text, "country": text, "province": text}
            | {"city": text, "ascn_pilot_city": "BOOLEAN", "cadence": text},
            (
                (p.id, p.title, p.url, p.software, p.country, p.province, p.city, p.ascn_pilot_city, p.cadence)
                for p in load_registry().values()
            ),
        ),
        "vn_units": values_view_sql(
            "vn_units",
            {"code": text, "gso_code": text, "iso_3166_2": text, "name": text, "name_ascii": text, "type": text}
            | {"tile_row": "INTEGER", "tile_col": "INTEGER", "source": text},
            (
                (u.code, u.gso_code, u.iso_3166_2, u.name, u.name_ascii, u.type, u.tile_row, u.tile_col, u.source)
                for u in vietnam.current_units().values()
            ),
        ),
        "vn_units_before_2025": values_view_sql(
            "vn_units_before_2025",
            {"code": text, "gso_code": text, "name": text, "name_ascii": text, "type": text, "current_code": text}
            | {"source": text},
            (
                (u.code, u.gso_code, u.name, u.name_ascii, u.type, u.current_code, u.source)
                for u in vietnam.former_units().values()
            ),
        ),
        "vn_place_names": values_view_sql(
            "vn_place_names",
            {"spelling": text, "current_code": text, "former_code": text, "rule": text, "unless": text},
            ((n.spelling, n.current_code, n.former_code, n.rule, n.unless) for n in vietnam.place_names()),
        ),
        "ascn_pilot_cities": values_view_sql(
            "ascn_pilot_cities",
            {"country": text, "city": text},
            ((country, city) for country, cities in ASCN_PILOT_CITIES.items() for city in cities),
        ),
    }


def view_definitions() -> dict[str, str]:
    """Every `sql/*.sql` file's text, keyed by view name (the file's stem)."""
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(sql_dir().glob("*.sql"))}


QUERIES_FOLDER = "queries"


@cache
def named_query(name: str) -> str:
    """The query in `sql/queries/<name>.sql`: what the code asks of the views, kept beside them so that every
    statement a reader looks for is under `sql/`."""
    path = sql_dir() / QUERIES_FOLDER / f"{name}.sql"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LakeError(f"no query {name!r}: {path} does not exist") from None


@dataclass(frozen=True)
class Definition:
    """What one `sql/<name>.sql` file defines, as DuckDB's own tokenizer reads its statement."""

    kind: str
    """'VIEW', or 'MACRO' for a table macro (`datasets_as_of`)."""
    query: str
    """The SELECT the view or macro stands for."""


def parse_definition(name: str, sql: str) -> Definition:
    """The file's one statement, which must be `CREATE OR REPLACE VIEW <name> AS <select>` or
    `CREATE OR REPLACE MACRO <name>(<parameters>) AS TABLE <select>`. Read from DuckDB's tokens, so that a
    comment is never taken for SQL."""
    expected = f"expected CREATE OR REPLACE VIEW {name} AS SELECT ... (or MACRO {name}(...) AS TABLE SELECT ...)"
    text = sql.encode()  # the tokenizer's offsets count bytes
    starts = [start for start, kind in duckdb.tokenize(sql) if kind != duckdb.token_type.comment]
    words = [text[start:end].decode().strip() for start, end in zip(starts, [*starts[1:], len(text)], strict=True)]
    if ";" in words[:-1]:
        raise LakeError(f"sql/{name}.sql: one statement per file")
    upper = [word.upper() for word in words]
    if upper[:4] == ["CREATE", "OR", "REPLACE", "VIEW"] and words[4:5] == [name]:
        kind, position, header = "VIEW", 5, ["AS"]
    elif upper[:4] == ["CREATE", "OR", "REPLACE", "MACRO"] and words[4:6] == [name, "("]:
        kind, position, header, depth = "MACRO", 5, ["AS", "TABLE"], 1
        while depth and position + 1 < len(words):  # past the parameters' closing parenthesis
            position += 1
            depth += {"(": 1, ")": -1}.get(words[position], 0)
        position += 1
    else:
        raise LakeError(f"sql/{name}.sql: {expected}")
    body = position + len(header)
    if upper[position:body] != header or body >= len(words):
        raise LakeError(f"sql/{name}.sql: {expected}")
    return Definition(kind, text[starts[body] :].decode())


def references(
    parser: duckdb.DuckDBPyConnection, name: str, definition: Definition, macros: Collection[str]
) -> set[str]:
    """The relations a definition's SELECT reads, from DuckDB's own parse of it (`json_serialize_sql`): the
    tables and views it names, less the CTEs in scope where it names them, and the `macros` it calls.
    Aliases, column names, string literals and comments are not references, whatever they say."""
    (serialised,) = parser.execute("SELECT json_serialize_sql(?)", [definition.query]).fetchone()
    parsed = json.loads(serialised)
    if parsed["error"]:
        raise LakeError(f"sql/{name}.sql: {parsed['error_message']}")
    found: set[str] = set()
    _collect_references(parsed["statements"][0]["node"], frozenset(), frozenset(macros), found, name)
    return found


def _collect_references(node: object, ctes: frozenset[str], macros: frozenset[str], found: set[str], name: str) -> None:
    """Walk a serialised query tree. A CTE is in scope in the query that defines it and in the CTEs after it,
    and a recursive one in itself; not in its own body otherwise, where its name means the relation outside."""
    if isinstance(node, list):
        for item in node:
            _collect_references(item, ctes, macros, found, name)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "RECURSIVE_CTE_NODE":
        ctes |= {node["cte_name"].lower()}
    for entry in (node.get("cte_map") or {}).get("map", []):
        _collect_references(entry["value"], ctes, macros, found, name)
        ctes |= {entry["key"].lower()}
    if node.get("type") == "BASE_TABLE":
        if node["schema_name"] or node["catalog_name"]:
            qualified = ".".join(node["qualified_name"]["path"])
            raise LakeError(f"sql/{name}.sql: reads {qualified}: a view reads the others by their bare names")
        if (table := node["table_name"].lower()) not in ctes:
            found.add(table)
    elif node.get("class") == "FUNCTION" and not node.get("schema") and node["function_name"].lower() in macros:
        found.add(node["function_name"].lower())
    for key, value in node.items():
        if key != "cte_map":
            _collect_references(value, ctes, macros, found, name)


@cache
def _references_by_name(definitions: tuple[tuple[str, str], ...]) -> dict[str, frozenset[str]]:
    """What each definition reads (kept: every connection of a process orders the same files)."""
    parsed = {name: parse_definition(name, sql) for name, sql in definitions}
    macros = frozenset(name for name, definition in parsed.items() if definition.kind == "MACRO")
    with duckdb.connect() as parser:  # parses only: reads no file
        return {name: frozenset(references(parser, name, definition, macros)) for name, definition in parsed.items()}


def base_view_names() -> list[str]:
    """The views created in Python before the `sql/` ones: the lake's tables and the reference data."""
    return [f"lake_{table}" for table in LAKE_TABLES] + list(reference_views())


def creation_order(definitions: dict[str, str], given: Collection[str] | None = None) -> list[str]:
    """The `sql/` views and macros ordered so each comes after those it reads. `given` (default: the lake's
    and the reference data's views) exist already; reading any other relation is an error naming the file,
    and so is a cycle."""
    given = set(base_view_names() if given is None else given)
    graph = {}
    for name, read in _references_by_name(tuple(sorted(definitions.items()))).items():
        if unknown := sorted(read - given - definitions.keys()):
            raise LakeError(f"sql/{name}.sql: reads {', '.join(unknown)}, neither a view in sql/ nor one of the lake")
        graph[name] = read - given
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        cycle = " -> ".join(f"{name}.sql" for name in reversed(exc.args[1]))
        raise LakeError(f"sql/: views read each other in a cycle (each reads the next): {cycle}") from exc


def create_views(connection: duckdb.DuckDBPyConnection, lake: Lake) -> list[str]:
    """Create (or replace) every view over `lake` on `connection`; returns the view names."""
    connection.execute("SET TimeZone = 'UTC'")
    inventory = lake.inventory()
    for table, schema in LAKE_TABLES.items():
        connection.execute(lake_view_sql(connection, lake, inventory.files.get(table, []), table, schema))
    for sql in reference_views().values():
        connection.execute(sql)
    definitions = view_definitions()
    order = creation_order(definitions)
    for name in order:
        try:
            connection.execute(definitions[name])
        except duckdb.Error as exc:
            raise LakeError(f"sql/{name}.sql: {exc}") from exc
    return [*base_view_names(), *order]


def connect(lake: Lake, database: str | Path = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with every view over the lake created (reading an s3:// lake through its
    fsspec filesystem, so no DuckDB extension has to be downloaded)."""
    connection = duckdb.connect(str(database))
    if lake.filesystem is not None:
        connection.register_filesystem(lake.filesystem)
        # Every view binds the lake's files again; over the network, read each footer once.
        connection.execute("SET parquet_metadata_cache = true")
    create_views(connection, lake)
    return connection


DATABASE_FILE = "catalog.duckdb"
"""The DuckDB file beside the lake's data (`<lake>/catalog.duckdb`) for the duckdb CLI and BI tools."""


def refresh_database(lake: Lake) -> Path | None:
    """Rebuild `<lake>/catalog.duckdb`, if the lake has one, after a harvest or check: its views list the
    lake's files, so it must be rebuilt to answer what `catalog sql` answers. A failure is a warning:
    the harvest it follows is published already."""
    path = lake.root / DATABASE_FILE
    if lake.remote or not path.is_file():
        return None
    try:
        write_database(lake, path)
    except (duckdb.Error, OSError) as exc:
        log.warning("%s not rebuilt: %s", path, str(exc).splitlines()[0])
        return None
    return path


def write_database(lake: Lake, path: Path) -> list[str]:
    """A DuckDB database file holding the views, written aside (a file of its own for each writer: two
    harvests may finish at once) and moved into place."""
    descriptor, partial_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(descriptor)
    partial = Path(partial_name)
    partial.unlink()  # DuckDB makes its own file, and refuses an empty one
    try:
        connection = duckdb.connect(str(partial))
        try:
            names = create_views(connection, lake)
        finally:
            connection.close()
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
        Path(f"{partial}.wal").unlink(missing_ok=True)
    return names


READ_ONLY_STATEMENTS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})
"""What `catalog sql` runs: queries (SELECT, WITH, FROM, DESCRIBE, SHOW, SUMMARIZE) and EXPLAIN, but not
EXPLAIN ANALYZE, which runs the statement it explains."""
EXPLAIN_ANALYZE = re.compile(r"^\s*EXPLAIN\s+ANALY[SZ]E\b", re.IGNORECASE)


def read_only_statement(sql: str) -> str:
    """`sql` if it is one statement that only reads; else a LakeError saying what was refused."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise LakeError(str(exc).splitlines()[0]) from None
    if not statements:
        raise LakeError("no SQL statement given")
    if len(statements) > 1:
        raise LakeError(f"one statement at a time ({len(statements)} given)")
    kind = statements[0].type
    if kind not in READ_ONLY_STATEMENTS or EXPLAIN_ANALYZE.match(statements[0].query):
        name = "EXPLAIN ANALYZE" if kind in READ_ONLY_STATEMENTS else kind.name
        raise LakeError(
            f"{name} statements are refused: queries over the lake only read it "
            "(to save a result, give --out FILE outside the lake)"
        )
    return sql


def seal(connection: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """Confine a connection, in DuckDB's own terms, to reading the lake: no other file, no network, no
    extension, and no way to change that back."""
    root = (lake.uri if lake.remote else str(lake.root)).rstrip("/") + "/"
    # only the folders of the lake's tables; DuckDB checks a path as the view names it, glob characters
    # escaped (`parquet_files_sql`)
    folders = [f"{base}{folder}/" for base in {root, GLOB_CHARACTERS.sub(r"[\1]", root)} for folder in TABLE_FOLDERS]
    connection.execute("SET allowed_directories = ?", [sorted(folders)])
    connection.execute("SET enable_external_access = false")
    connection.execute("SET autoload_known_extensions = false")
    connection.execute("SET lock_configuration = true")


@contextmanager
def read_only_query(
    lake: Lake, sql: str, parameters: Iterable[object] | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """One read-only statement executed over the lake's views on a sealed connection, ready to fetch."""
    read_only_statement(sql)
    connection = connect(lake)
    try:
        seal(connection, lake)
        connection.execute(sql, list(parameters) if parameters else None)
        yield connection
    finally:
        connection.close()


def query(lake: Lake, sql: str, parameters: Iterable[object] | None = None) -> tuple[list[str], list[tuple]]:
    """Run one read-only query against the views: column names and rows."""
    with read_only_query(lake, sql, parameters) as cursor:
        return [description[0] for description in cursor.description or []], cursor.fetchall()
