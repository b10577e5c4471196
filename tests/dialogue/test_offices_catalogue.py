"""Every office and every status reason has its name in the English catalogue (the fallback)
and, in GSM-7 letters, in each language marked complete: no reason is ever free text, so every
language says it in its own words."""

from gateway.dialogue.office_status import REASONS
from gateway.dialogue.offices import CODES, OFFICES
from menus.catalogue import Catalogues
from menus.segments import is_gsm7


def test_english_names_match_the_reference_data():
    english = Catalogues.load().by_code["en"].strings
    assert {f"office.{c}": n for c, n, _s in OFFICES} == {k: v for k, v in english.items() if k.startswith("office.")}
    assert {f"status_reason.{c}": w for c, w in REASONS.items()} == {k: v for k, v in english.items() if k.startswith("status_reason.")}


def test_every_complete_language_names_every_office_and_reason_in_gsm7():
    catalogues = Catalogues.load()
    keys = [f"office.{c}" for c in CODES] + [f"status_reason.{c}" for c in REASONS]
    for code in catalogues.codes:
        cat = catalogues.by_code[code]
        if cat.complete:
            assert all(k in cat.strings for k in keys), code
        assert all(is_gsm7(catalogues.text(code, k)) for k in keys), code

