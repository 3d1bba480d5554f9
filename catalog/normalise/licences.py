"""Licence ids, titles and URLs -> one canonical licence (SPDX id where one exists) and whether it is open.

Portals name licences by CKAN id (`cc-by`, `odc-odbl`, `uk-ogl`), by title ("Creative Commons
Attribution"), by URL (creativecommons.org, opendatacommons.org, the UK's Open Government Licence,
France's Licence Ouverte), or not at all. `canonical_licence` tries the id, the URL and the title in
turn against the rules below (first match wins) and returns the licence's canonical id and whether it
conforms to the Open Definition (https://opendefinition.org/licenses/).

Nothing stated is `not-stated` (not null), so "how many datasets state no licence" is a plain count. A
licence that no rule recognises is `unrecognised` with `is_open` None: the original text is still in
`license_id` / `license_title` / `license_url`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Licence:
    key: str
    is_open: bool | None


NOT_STATED = Licence("not-stated", False)
UNRECOGNISED = Licence("unrecognised", None)

# (pattern over the lower-cased text, canonical id, open). Versioned patterns come before unversioned.
RULES: tuple[tuple[str, str, bool], ...] = (
    (r"^(notspecified|not specified|license not specified|none|n/a|unknown|\[\])$", "not-stated", False),
    (r"creativecommons\.org/publicdomain/zero|^cc-?zero|^cc0|creative commons (cc)?zero", "CC0-1.0", True),
    (r"creativecommons\.org/publicdomain/mark|public domain mark", "PDM-1.0", True),
    (r"creativecommons\.org/licenses/by-nc", "CC-BY-NC", False),
    (r"creativecommons\.org/licenses/by-nd", "CC-BY-ND", False),
    (r"creativecommons\.org/licenses/by-sa/4\.0|cc-by-sa-4\.0|cc by-sa 4\.0", "CC-BY-SA-4.0", True),
    (r"creativecommons\.org/licenses/by-sa/3\.0|cc-by-sa-3\.0", "CC-BY-SA-3.0", True),
    (r"creativecommons\.org/licenses/by-sa|^cc-by-sa$|attribution[ -]share[ -]?alike", "CC-BY-SA", True),
    (r"creativecommons\.org/licenses/by/4\.0|cc-by-4\.0|cc by 4\.0|attribution 4\.0", "CC-BY-4.0", True),
    (r"creativecommons\.org/licenses/by/3\.0|cc-by-3\.0|cc by 3\.0", "CC-BY-3.0", True),
    (r"creativecommons\.org/licenses/by/2\.5|cc-by-2\.5", "CC-BY-2.5", True),
    (r"creativecommons\.org/licenses/by\b|^cc-by$|^cc by$|creative commons attribution$", "CC-BY", True),
    (r"^cc-nc|non-?commercial|^other-nc$", "other-nc", False),
    (r"opendatacommons\.org/licenses/odbl|^odc-odbl|open database license|\bodbl\b", "ODbL-1.0", True),
    (r"opendatacommons\.org/licenses/pddl|^odc-pddl|public domain dedication and licen[cs]e", "PDDL-1.0", True),
    (r"opendatacommons\.org/licenses/by|^odc-by|open data commons attribution", "ODC-By-1.0", True),
    (r"open-government-licence/version/3|^ogl-uk-3\.0|open government licen[cs]e v(ersion )?3", "OGL-UK-3.0", True),
    (r"open-government-licence|^uk-ogl|^ogl\b|open government licen[cs]e", "OGL-UK", True),
    (r"open-government-licence-canada|open government licen[cs]e - canada", "OGL-Canada-2.0", True),
    (r"etalab.{0,40}2\.0|licence ouverte.{0,20}2\.0|^lo-2\.0", "etalab-2.0", True),
    (r"etalab|licence[ _-]ouverte", "Licence-Ouverte", True),
    (r"^gfdl|gnu free documentation", "GFDL-1.3", True),
    (r"opensource\.org/licenses/mit-0", "MIT-0", True),
    (r"opensource\.org/licenses/mit\b|^mit$", "MIT", True),
    (r"usa\.gov/(government-works|publicdomain)|us public domain|^other-pd$|public domain", "public-domain", True),
    (r"^other-open$|^other \(open\)$", "other-open", True),
    (r"^other-at$|^other \(attribution\)$", "other-at", True),
    (r"^other-closed$|^other \(not open\)$|all rights reserved|proprietary", "other-closed", False),
)
_COMPILED = tuple((re.compile(pattern), Licence(key, is_open)) for pattern, key, is_open in RULES)


def canonical_licence(license_id: str | None, license_url: str | None, license_title: str | None) -> Licence:
    """The canonical licence for what a dataset states; `not-stated` when it states nothing."""
    stated = [value.strip().lower() for value in (license_id, license_url, license_title) if value and value.strip()]
    if not stated:
        return NOT_STATED
    for text in stated:
        for pattern, licence in _COMPILED:
            if pattern.search(text):
                return licence
    return UNRECOGNISED
