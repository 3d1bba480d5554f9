"""Canonical licences, on ids, titles and URLs found in the fixtures."""

from __future__ import annotations

import pytest

from catalog.normalise.licences import canonical_licence


@pytest.mark.parametrize(
    ("license_id", "url", "title", "key", "is_open"),
    [
        ("uk-ogl", None, "UK Open Government Licence (OGL)", "OGL-UK", True),  # Birmingham
        ("https://creativecommons.org/publicdomain/zero/1.0/", None, None, "CC0-1.0", True),  # GSA
        ("http://www.usa.gov/publicdomain/label/1.0/", None, None, "public-domain", True),  # OPM
        ("https://creativecommons.org/licenses/by/4.0/", None, None, "CC-BY-4.0", True),  # Philadelphia
        ("http://creativecommons.org/licenses/by-nc/3.0/", None, None, "CC-BY-NC", False),  # Sweden RDF
        ("Open Data Commons Open Database License (ODbL)", None, None, "ODbL-1.0", True),  # datos.gob.ar
        (
            None,
            None,
            "http://www.etalab.gouv.fr/pages/Licence_ouverte_Open_licence-5899923.html",
            "Licence-Ouverte",
            True,
        ),
        ("Licence ouverte / Open Licence", None, None, "Licence-Ouverte", True),  # sig.oreme
        ("cc-by", "http://www.opendefinition.org/licenses/cc-by", "Creative Commons Attribution", "CC-BY", True),
        ("odc-by", None, "Open Data Commons Attribution License", "ODC-By-1.0", True),
        ("other-closed", None, "Other (Not Open)", "other-closed", False),
        ("notspecified", None, "License not specified", "not-stated", False),
        (None, None, None, "not-stated", False),
        ("  ", "", None, "not-stated", False),
        ("https://metadata.phila.gov/#help/help-faqs/what-are-the-terms-of-use/", None, None, "unrecognised", None),
    ],
)
def test_licences(license_id, url, title, key, is_open) -> None:
    licence = canonical_licence(license_id, url, title)
    assert (licence.key, licence.is_open) == (key, is_open)
