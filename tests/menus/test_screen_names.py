"""Every screen of the citizen journey has words for staff and says what ending there means:
a new screen without words, or words left for a screen that is gone, fails here. An END
screen is never a give-up (the service ended it), and no two screens read the same."""

from __future__ import annotations

import pytest

from menus.engine import TOO_MANY
from menus.loader import load_journey
from menus.screen_names import ANSWER, CLOSED, GAVE_UP, SCREENS, name_of

JOURNEY = load_journey()
IDS = sorted(JOURNEY.screens)


@pytest.mark.parametrize("screen_id", IDS, ids=IDS)
def test_each_screen_has_words(screen_id):
    assert screen_id in SCREENS, f"menus/screen_names.py: give {screen_id!r} words for staff"
    assert SCREENS[screen_id].words and "_" not in SCREENS[screen_id].words


@pytest.mark.parametrize("screen_id", IDS, ids=IDS)
def test_what_ending_on_each_screen_means(screen_id):
    screen, ending = JOURNEY.screens[screen_id], SCREENS[screen_id].ending
    assert ending in (ANSWER, CLOSED, GAVE_UP)
    if screen.type == "end":
        assert ending in (ANSWER, CLOSED), "the service ended the session: not a give-up"
    elif screen.type != "info":
        assert ending == GAVE_UP, "the caller still had to choose or type something"


def test_no_words_for_a_screen_that_is_gone():
    assert set(SCREENS) - set(JOURNEY.screens) == {TOO_MANY}


def test_no_two_screens_read_the_same():
    words = [s.words for s in SCREENS.values()]
    assert len(words) == len(set(words))


@pytest.mark.parametrize(("screen_id", "words", "ending"), [
    ("centre_details", "A centre's hours and address", ANSWER),
    ("rate_pick", "Rate a visit: pick the centre", GAVE_UP),
    (TOO_MANY, "Ended after three wrong entries", CLOSED),
    ("old_screen", "old_screen (no longer in the menu)", GAVE_UP),
], ids=["answer", "gave-up", "closed", "an id the journey no longer has"])
def test_name_of(screen_id, words, ending):
    assert (name_of(screen_id).words, name_of(screen_id).ending) == (words, ending)
