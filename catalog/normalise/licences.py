"""Licence ids, titles and URLs -> one canonical licence (SPDX id where one exists) and whether it is open.

Portals name licences by CKAN id (`cc-by`, `odc-odbl`, `uk-ogl`), by title ("Creative Commons
Attribution"), by URL (creativecommons.org in every spelling, opendefinition.org as CKAN's DCAT output
writes it, the EU Publications Office licence authority that DCAT-AP recommends, national DCAT-AP lists
such as dcat-ap.de, spdx.org), or not at all.

The published vocabularies are kept as data, `licence_vocabulary.csv`: every identifier, URL and
label of the EU authority table, the Open Knowledge list CKAN uses, the Open Definition's URLs,
DCAT-AP.de's list and the data and content licences of the SPDX list (with a few national lists),
each row naming the source it came from. Openness follows the Open Definition
(https://opendefinition.org/licenses/): a non-commercial or no-derivatives licence is known, and not
open. `canonical_licence` tries the id, the URL and the title in turn: first against the vocabulary
(after folding the spellings a URL comes in: http/https, `www.`, trailing slash, `legalcode`,
`deed.xx`, `.html`), then against the rules below for what no list spells out (any Creative Commons
licence URL, free-text titles).

Nothing stated is `not-stated` (not null), so "how many datasets state no licence" is a plain count. A
licence that nothing recognises is `unrecognised` with `is_open` None: the original text is still in
`license_id` / `license_title` / `license_url`.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

VOCABULARY_FILE = Path(__file__).with_name("licence_vocabulary.csv")
REMEMBERED_STATEMENTS = 1024
REMEMBERED_LENGTH = 1000
"""Statements up to this length are remembered: a portal states the same few licences on thousands of
records, some as a paragraph (data.gov.uk's 352-character `licence`). Longer text is not kept, so that
hostile records cannot fill memory through the cache."""


@dataclass(frozen=True)
class Licence:
    key: str
    is_open: bool | None


NOT_STATED = Licence("not-stated", False)
UNRECOGNISED = Licence("unrecognised", None)

# Any Creative Commons licence URL: its family, version and (for ported licences) jurisdiction.
CREATIVE_COMMONS_URL = re.compile(
    r"creativecommons\.org/licen[cs]es/(?P<family>by(?:-nc)?(?:-nd|-sa)?)"
    r"(?:/(?P<version>\d\.\d))?(?:/(?P<port>[a-z]{2,3})(?![a-z.]))?"
)
# (pattern over the lower-cased text, canonical id, open), for titles and URLs no vocabulary lists.
# Versioned patterns come before unversioned.
RULES: tuple[tuple[str, str, bool], ...] = (
    (r"^(notspecified|not specified|license not specified|none|n/a|unknown|\[\])$", "not-stated", False),
    (r"creativecommons\.org/publicdomain/zero|^cc-?zero|^cc0|creative commons (cc)?zero", "CC0-1.0", True),
    (r"creativecommons\.org/publicdomain/mark|public domain mark", "CC-PDM-1.0", True),
    (r"^cc-nc|non-?commercial|^other-nc$", "other-nc", False),
    (r"cc-by-sa-4\.0|cc by-sa 4\.0", "CC-BY-SA-4.0", True),
    (r"cc-by-sa-3\.0", "CC-BY-SA-3.0", True),
    (r"^cc-by-sa$|attribution[ -]share[ -]?alike", "CC-BY-SA", True),
    (r"cc-by-4\.0|cc by 4\.0|attribution 4\.0", "CC-BY-4.0", True),
    (r"cc-by-3\.0|cc by 3\.0", "CC-BY-3.0", True),
    (r"cc-by-2\.5", "CC-BY-2.5", True),
    (r"^cc-by$|^cc by$|creative commons attribution$", "CC-BY", True),
    (r"opendatacommons\.org/licenses/odbl|^odc-odbl|open database license|\bodbl\b", "ODbL-1.0", True),
    (r"opendatacommons\.org/licenses/pddl|^odc-pddl|public domain dedication and licen[cs]e", "PDDL-1.0", True),
    (r"opendatacommons\.org/licenses/by|^odc-by|open data commons attribution", "ODC-By-1.0", True),
    (r"open-government-licence/version/3|^ogl-uk-3\.0|open government licen[cs]e v(ersion )?3", "OGL-UK-3.0", True),
    (r"open-government-licence-canada|open government licen[cs]e - canada", "OGL-Canada-2.0", True),
    (r"open-government-licence|^uk-ogl|^ogl\b|open government licen[cs]e", "OGL-UK", True),
    (r"etalab.{0,40}2\.0|licence ouverte.{0,20}2\.0|^lo-2\.0", "etalab-2.0", True),
    (r"etalab|licence[ _-]ouverte", "Licence-Ouverte", True),
    (r"^gfdl|gnu free documentation", "GFDL-1.3", True),
    (r"opensource\.org/licenses/mit-0", "MIT-0", True),
    (r"opensource\.org/licenses/mit\b|^mit$", "MIT", True),
    (r"usa\.gov/(government-works|publicdomain)|us public domain|public domain", "public-domain", True),
    (r"^other \(open\)$", "other-open", True),
    (r"^other \(attribution\)$", "other-at", True),
    (r"^other \(not open\)$|all rights reserved|proprietary", "other-closed", False),
)
_COMPILED = tuple((re.compile(pattern), Licence(key, is_open)) for pattern, key, is_open in RULES)
_SPELLING = (
    (re.compile(r"^https?://"), ""),
    (re.compile(r"^www\."), ""),
    (re.compile(r"/+$"), ""),
    (re.compile(r"/(legalcode|deed)(\.[a-z_-]+)?(\.txt)?$"), ""),  # creativecommons.org: the same licence
    (re.compile(r"^(spdx\.org/licenses/[^/]+)\.(html|json|txt)$"), r"\1"),
    (re.compile(r"/(index\.html?)?$"), ""),
)


def spelling_key(text: str) -> str:
    """The text a licence is looked up by: lower-cased, and a URL without the spellings that do not change
    the licence (scheme, `www.`, trailing slash, `legalcode`, `deed.xx`, a `.html` suffix). Fragments
    stay: some vocabularies name each licence by one (`.../od-licenses#CC-BY-4.0`)."""
    key = " ".join(text.strip().lower().split())
    for pattern, replacement in _SPELLING:
        key = pattern.sub(replacement, key)
    return key


@cache
def vocabulary() -> dict[str, Licence]:
    """Every identifier, URL and label of the published lists (`licence_vocabulary.csv`) -> its licence.

    Identifiers win over labels; a spelling shared by two licences (an ambiguous label) is left out."""
    identifiers: dict[str, set[Licence]] = {}
    labels: dict[str, set[Licence]] = {}
    with VOCABULARY_FILE.open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            licence = Licence(row["key"], {"true": True, "false": False}.get(row["is_open"]))
            identifiers.setdefault(spelling_key(row["identifier"]), set()).add(licence)
            if row["label"].strip():
                labels.setdefault(spelling_key(row["label"]), set()).add(licence)
    table = {key: found.pop() for key, found in labels.items() if len(found) == 1}
    table.update({key: found.pop() for key, found in identifiers.items() if len(found) == 1})
    return table


def _creative_commons(text: str) -> Licence | None:
    """Any Creative Commons licence URL as an SPDX-style id (`CC-BY-NC-ND-4.0`, `CC-BY-3.0-DE`)."""
    found = CREATIVE_COMMONS_URL.search(text)
    if found is None:
        return None
    family, version, port = found["family"].upper(), found["version"], found["port"]
    key = "-".join(part for part in ("CC", family, version, port.upper() if port and version else None) if part)
    return Licence(key, "NC" not in family and "ND" not in family)


def canonical_licence(license_id: str | None, license_url: str | None, license_title: str | None) -> Licence:
    """The canonical licence for what a dataset states; `not-stated` when it states nothing."""
    statement = (license_id, license_url, license_title)
    if all(value is None or (type(value) is str and len(value) <= REMEMBERED_LENGTH) for value in statement):
        return _remembered_licence(*statement)
    return _licence_of(*statement)


def _licence_of(license_id: str | None, license_url: str | None, license_title: str | None) -> Licence:
    stated = [value for value in (license_id, license_url, license_title) if value and value.strip()]
    if not stated:
        return NOT_STATED
    table = vocabulary()
    for text in stated:
        if (known := table.get(spelling_key(text))) is not None:
            return known
    for text in stated:
        lowered = text.strip().lower()
        if (licence := _creative_commons(lowered)) is not None:
            return licence
        for pattern, licence in _COMPILED:
            if pattern.search(lowered):
                return licence
    return UNRECOGNISED


_remembered_licence = lru_cache(maxsize=REMEMBERED_STATEMENTS)(_licence_of)
