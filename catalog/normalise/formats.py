"""Free-text distribution formats -> one canonical format, its IANA media type, and two flags.

Portals write formats any way they like (`csv`, `.CSV`, `text/csv; charset=utf-8`, `Comma Separated
Values`, an EU file-type IRI, `WWW:LINK-1.0-http--link`); one portal had 291 distinct strings. The
tables below say what each spelling means; `canonical_format` tries the declared format, then the
media type, then the URL's extension, and keeps the first it recognises. Unrecognised formats stay
unrecognised (None): the original string is still in `distributions.format`.

`machine_readable`: software can read the data directly (Berners-Lee's 5-star scheme, star 2+).
`open_format`: the format is an open, non-proprietary standard (star 3+; data.europa.eu's MQA
"non-proprietary" check). None where the format says nothing either way (ZIP, an API).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit


@dataclass(frozen=True)
class FormatInfo:
    key: str
    media_type: str
    machine_readable: bool | None
    open_format: bool | None


_F = FormatInfo
FORMATS: dict[str, FormatInfo] = {
    info.key: info
    for info in (
        _F("CSV", "text/csv", True, True),
        _F("TSV", "text/tab-separated-values", True, True),
        _F("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", True, False),
        _F("XLS", "application/vnd.ms-excel", True, False),
        _F("ODS", "application/vnd.oasis.opendocument.spreadsheet", True, True),
        _F("JSON", "application/json", True, True),
        _F("GeoJSON", "application/geo+json", True, True),
        _F("JSON-LD", "application/ld+json", True, True),
        _F("XML", "application/xml", True, True),
        _F("RDF", "application/rdf+xml", True, True),
        _F("Turtle", "text/turtle", True, True),
        _F("Parquet", "application/vnd.apache.parquet", True, True),
        _F("RSS", "application/rss+xml", True, True),
        _F("GTFS", "application/zip", True, True),
        _F("GTFS-RT", "application/x-protobuf", True, True),
        _F("LAS", "application/vnd.las", True, True),
        _F("NetCDF", "application/x-netcdf", True, True),
        _F("SHP", "application/x-shapefile", True, True),  # Esri's published specification
        _F("KML", "application/vnd.google-earth.kml+xml", True, True),
        _F("KMZ", "application/vnd.google-earth.kmz", True, True),
        _F("GPKG", "application/geopackage+sqlite3", True, True),
        _F("GML", "application/gml+xml", True, True),
        _F("FileGDB", "application/x-filegdb", True, False),
        _F("WMS", "application/vnd.ogc.wms_xml", True, True),
        _F("WFS", "application/vnd.ogc.wfs_xml", True, True),
        _F("WMTS", "application/vnd.ogc.wmts_xml", True, True),
        _F("API", "application/json", True, None),
        _F("PDF", "application/pdf", False, True),
        _F("DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", False, False),
        _F("DOC", "application/msword", False, False),
        _F("ODT", "application/vnd.oasis.opendocument.text", False, True),
        _F("TXT", "text/plain", False, True),
        _F("HTML", "text/html", False, True),
        _F("ZIP", "application/zip", None, None),
        _F("JPEG", "image/jpeg", False, True),
        _F("PNG", "image/png", False, True),
        _F("TIFF", "image/tiff", False, True),
    )
}

# Spellings (already lower-cased, stripped of a leading dot) -> canonical key.
ALIASES: dict[str, str] = {
    **{key.lower(): key for key in FORMATS},
    **{info.media_type: info.key for info in FORMATS.values() if info.key not in ("API", "GTFS")},
    "application/json": "JSON",  # not API, which shares the media type
    "comma separated values": "CSV",
    "csv file": "CSV",
    "text/comma-separated-values": "CSV",
    "application/csv": "CSV",
    "tab": "TSV",
    # "Excel" alone could be XLS or XLSX: the media type or the URL decides
    "xlsm": "XLSX",
    "application/excel": "XLS",
    "application/x-excel": "XLS",
    "geojson": "GeoJSON",
    "application/vnd.geo+json": "GeoJSON",
    "jsonld": "JSON-LD",
    "json-ld": "JSON-LD",
    "text/json": "JSON",
    "application/x-json": "JSON",
    "text/xml": "XML",
    "rdf/xml": "RDF",
    "rdf": "RDF",
    "ttl": "Turtle",
    "nc": "NetCDF",
    "shape": "SHP",
    "shapefile": "SHP",
    "esri shapefile": "SHP",
    "application/x-zipped-shp": "SHP",
    "zipped shapefile": "SHP",
    "geopackage": "GPKG",
    "gdb": "FileGDB",
    "ogc:wms": "WMS",
    "ogc wms": "WMS",
    "wms_xml": "WMS",
    "ogc:wfs": "WFS",
    "ogc wfs": "WFS",
    "ogc:wmts": "WMTS",
    "esri rest": "API",
    "arcgis geoservices rest api": "API",
    "rest": "API",
    "geoservice": "API",
    "rss+xml": "RSS",
    "gtfs-rt": "GTFS-RT",
    "laz": "LAS",
    "api": "API",
    "soda api": "API",
    "web service": "API",
    "docx": "DOCX",
    "word": "DOCX",
    "txt": "TXT",
    "text": "TXT",
    "htm": "HTML",
    "web page": "HTML",
    "webpage": "HTML",
    "www:link-1.0-http--link": "HTML",
    "link": "HTML",
    "zip": "ZIP",
    "application/x-zip-compressed": "ZIP",
    "jpg": "JPEG",
    "tif": "TIFF",
    "geotiff": "TIFF",
}
EXTENSION = re.compile(r"\.([a-z0-9]{2,7})$")
REMEMBERED_SPELLINGS = 4096
REMEMBERED_LENGTH = 200
"""Declared formats up to this length are remembered: a portal writes the same few hundred spellings on
every distribution. Longer text is rare, and not kept, so that hostile records cannot fill memory."""
IRI_TAILS = (
    "http://publications.europa.eu/resource/authority/file-type/",
    "http://www.iana.org/assignments/media-types/",
    "https://www.iana.org/assignments/media-types/",
)


def _spelling(text: str) -> str:
    value = text.strip().lower().split(";", 1)[0].strip().lstrip(".")
    for prefix in IRI_TAILS:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


def _declared_format(declared: str) -> FormatInfo | None:
    key = ALIASES.get(_spelling(declared))
    return FORMATS[key] if key else None


_remembered_format = lru_cache(maxsize=REMEMBERED_SPELLINGS)(_declared_format)


def canonical_format(fmt: str | None, media_type: str | None, url: str | None) -> FormatInfo | None:
    """The canonical format of a distribution from its declared format, media type or URL extension."""
    for declared in (fmt, media_type):
        if declared:
            known = _remembered_format(declared) if len(declared) <= REMEMBERED_LENGTH else _declared_format(declared)
            if known is not None:
                return known
    if url:
        match = EXTENSION.search(urlsplit(url).path.lower())
        key = ALIASES.get(match.group(1)) if match else None
        if key:
            return FORMATS[key]
    return None
