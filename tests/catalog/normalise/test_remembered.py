"""What the hot path remembers between records (licence statements, declared formats and frequencies,
characters' Unicode categories): the same answers as without, and no more than a bounded amount, so a
hostile record cannot fill memory through a cache."""

from __future__ import annotations

from catalog.normalise import formats, frequency, licences


def test_a_long_licence_statement_is_answered_but_not_remembered() -> None:
    long = "Open Government Licence" + " " * licences.REMEMBERED_LENGTH  # stripped, the same licence
    remembered = licences._remembered_licence.cache_info().currsize
    assert licences.canonical_licence(None, None, long) == licences.Licence("OGL-UK", True)
    assert licences._remembered_licence.cache_info().currsize == remembered


def test_a_long_declared_format_is_answered_but_not_remembered() -> None:
    long = "text/csv;" + " " * formats.REMEMBERED_LENGTH
    remembered = formats._remembered_format.cache_info().currsize
    assert formats.canonical_format(long, None, None) == formats.FORMATS["CSV"]
    assert formats._remembered_format.cache_info().currsize == remembered


def test_a_long_declared_frequency_is_answered_but_not_remembered() -> None:
    long = " " * frequency.REMEMBERED_LENGTH + "Monthly"
    remembered = frequency._remembered_frequency.cache_info().currsize
    assert frequency.update_frequency(long) == ("monthly", 30.4375)
    assert frequency._remembered_frequency.cache_info().currsize == remembered


def test_folding_remembers_a_bounded_number_of_characters() -> None:
    every = "".join(map(chr, range(0x3000, 0x3000 + 2 * frequency._WithoutMarks.REMEMBERED)))
    frequency.fold(every)
    assert len(frequency._WITHOUT_MARKS) <= frequency._WithoutMarks.REMEMBERED
