"""What citizens type → the nearest seed centre (or a clear "not found")."""

import pytest

NOT_FOUND = None

# (typed, expected matched place, expected nearest centre name starts with)
CASES = [
    ("soweto", "Soweto", "Maponya Mall Thusong"),
    ("SOWETO!", "Soweto", "Maponya Mall Thusong"),
    ("sowetto", "Soweto", "Maponya Mall Thusong"),  # misspelling
    ("Diepkloof", "Soweto", "Maponya Mall Thusong"),  # Soweto suburb
    ("near soweto please", "Soweto", "Maponya Mall Thusong"),
    ("Alexandra", "Alexandra", "Alexandra Thusong"),
    ("alex", "Alexandra", "Alexandra Thusong"),  # township nickname
    ("Kagiso", "Kagiso", "Kagiso Thusong"),  # township missing from GeoNames
    ("kagiso ext 2", "Kagiso", "Kagiso Thusong"),
    ("Khayelitsha", "Khayelitsha", "Tafelsig Thusong"),
    ("Khayelitsa", "Khayelitsha", "Tafelsig Thusong"),  # misspelling
    ("Mitchell's Plain", "Mitchells Plain", "Tafelsig Thusong"),
    ("Mthatha", "Mthatha", "Tombo Thusong"),
    ("Umtata", "Mthatha", "Tombo Thusong"),  # old name
    ("Mthata", "Mthatha", "Tombo Thusong"),  # misspelling
    ("Polokwane/Pietersburg", "Polokwane", "Kgautswane Thusong"),
    ("Pietersburg", "Polokwane", "Kgautswane Thusong"),  # old name
    ("kwamashu", "KwaMashu", "Mnini Thusong"),  # township
    ("Kwa Mashu", "KwaMashu", "Mnini Thusong"),
    ("Umlazi section B", "Umlazi", "Mnini Thusong"),
    ("PE", "Gqeberha", "Motherwell Thusong"),  # abbreviation
    ("Port Elizabeth", "Gqeberha", "Motherwell Thusong"),  # old name
    ("eThekwini", "Durban", "Mnini Thusong"),  # isiZulu name
    ("PMB", "Pietermaritzburg", "Nhlazuka Thusong"),
    ("Kimberly", "Kimberley", "Manne Dipico Thusong"),  # misspelling (tie at 0 km, by name)
    ("Mosselbaai", "Mossel Bay", "Mossel Bay Thusong"),  # Afrikaans
    ("Kaapstad", "Cape Town", "Nyanga Thusong"),  # Afrikaans; Nyanga (confirmed Nov 2026) is the nearest
    ("iKapa", "Cape Town", "Nyanga Thusong"),  # isiXhosa
    ("Atlantis", "Atlantis", "Atlantis (Hartebeeskraal) Thusong"),
    ("Mangaung", "Bloemfontein", "Botshabelo Thusong"),
    ("Thaba 'Nchu", "Thaba Nchu", "Thaba Nchu Thusong"),
    ("Mamelodi", "Mamelodi", "Mamelodi Thusong"),  # GeoNames puts a Mamelodi in Mpumalanga
    ("Tshwane", "Pretoria", "Mamelodi Thusong"),
    ("Jozi", "Johannesburg", "Alexandra Thusong"),  # slang
    ("eGoli", "Johannesburg", "Alexandra Thusong"),  # isiZulu
    ("Sebokeng", "Sebokeng", "Orange Farm Thusong"),  # township
    ("Nelspruit", "Mbombela", "Louiville Thusong"),  # old name
    ("Witbank", "Emalahleni", "Rockdale Thusong"),  # old name; Rockdale (Middelburg, 26 km) is nearer than KwaZamokuhle
    ("KwaZamokuhle", "Hendrina", "KwaZamokuhle Thusong"),
    ("Beaufort-Wes", "Beaufort West", "Beaufort West Thusong"),  # Afrikaans spelling
    ("Hermanus", "Hermanus", "Hawston Thusong"),
    ("Tembisa", "Tembisa", "Alexandra Thusong"),
    ("Mahikeng", "Mafikeng", "Leretlhabetse Thusong"),  # no-coordinate centre, same province
    ("Makhado", "Louis Trichardt", None),  # resolves; nearest is whatever Limpopo has
    ("xyzzy", NOT_FOUND, None),
    ("asdfgh", NOT_FOUND, None),
    ("", NOT_FOUND, None),
    ("1", NOT_FOUND, None),
    ("***", NOT_FOUND, None),
]


@pytest.mark.parametrize("typed, place, centre", CASES)
def test_nearest_centre_for_what_citizens_type(seeded, typed, place, centre):
    result = seeded.directory.nearest(typed)
    if place is NOT_FOUND:
        assert result.place is None and result.centres == []
        return
    assert result.place is not None, f"{typed!r} not resolved"
    assert result.place.name == place
    assert 1 <= len(result.centres) <= 3
    if centre:
        assert result.centres[0].centre.name.startswith(centre)


def test_results_are_sorted_by_distance_and_carry_the_place(seeded):
    result = seeded.directory.nearest("Soweto")
    distances = [n.distance_km for n in result.centres]
    assert distances == sorted(distances)
    assert distances[0] == 0.0 and result.place.name == "Soweto"


def test_inactive_centres_are_never_offered(seeded):
    from sqlalchemy import select

    from gateway.store.models import Centre

    with seeded.sessions() as s:
        closed = s.scalar(select(Centre).where(Centre.name.like("Stanza Bopape%")))
        assert closed is not None and closed.active is False
    names = [n.centre.name for n in seeded.directory.nearest("Mamelodi East", limit=10).centres]
    assert not any(name.startswith("Stanza Bopape") for name in names)


def test_a_centre_without_coordinates_is_found_through_its_province(seeded):
    names = [n.centre.name for n in seeded.directory.nearest("Mafikeng").centres]
    assert "Leretlhabetse Thusong Service Centre" in names
