"""Rendering screens within the USSD budget: ≤160 GSM-7 characters, or ≤70 when a screen
needs UCS-2. Lists and long texts are paginated (98 More, 0 Back); a single item too long for
a page is shortened with '...', never allowed to overflow."""

from __future__ import annotations

import re
from functools import lru_cache

from menus.segments import (
    USSD_SCREEN_BUDGET,
    USSD_SCREEN_BUDGET_UCS2,
    fits_ussd_screen,
    gsm_length,
    is_gsm7,
    ucs2_length,
)

MAX_ITEMS_PER_PAGE = 9  # single-digit choices; 0, 00 and 98 stay free for navigation

_PARENS = re.compile(r"\s*\(.*?\)")


def short_centre_name(name: str) -> str:
    """'Alexandra Thusong Service Centre (launched 2004 as Alexandra MPCC)' → 'Alexandra Thusong'."""
    short = _PARENS.sub("", name).strip()
    for long_form in ("Thusong Service Centre", "Thusong Centre", "Thusong satellite centre"):
        short = short.replace(long_form, "Thusong")
    short = " ".join(short.split())
    if short == "Thusong":  # 'Thusong Service Centre (Langeberg Municipality)': keep the place
        inside = re.search(r"\((.*?)\)", name)
        if inside:
            short = f"Thusong {inside.group(1).replace('Municipality', '').strip()}"
    return short or name


def fits(text: str) -> bool:
    return fits_ussd_screen(text)


def screen_length(text: str) -> int:
    """Length in the text's own encoding: GSM-7 septets, or UCS-2 code units."""
    return gsm_length(text) if is_gsm7(text) else ucs2_length(text)


def shorten(label: str, room: int) -> str:
    """``label`` cut with '...' to at most ``room`` units of its own encoding (a '€' takes two
    GSM-7 septets, an emoji two UCS-2 units), keeping at least one character."""
    if screen_length(label) <= room:
        return label
    cut = label[: max(room - 3, 1)]
    while len(cut) > 1 and screen_length(cut.rstrip() + "...") > room:
        cut = cut[:-1]
    return cut.rstrip() + "..."


def fit_screen(text: str) -> str:
    """The last resort: ``text`` cut to one screen of its encoding (160 GSM-7, 70 UCS-2)."""
    return shorten(text, USSD_SCREEN_BUDGET if is_gsm7(text) else USSD_SCREEN_BUDGET_UCS2)


def menu_text(title: str, labels: list[str], nav: list[str]) -> str:
    lines = [title] if title else []
    lines += [f"{i}. {label}" for i, label in enumerate(labels, 1)]
    lines += nav
    return "\n".join(lines)


def paginate_items(header: str | list[str], labels: list[str], more: str, nav: list[str]) -> tuple[tuple[int, ...], ...]:
    """Split item indexes into pages so that header + items + (more) + nav fits every page.
    ``header`` may list every header a page can be shown under (title, invalid-input hint):
    each must fit, in its own encoding (a UCS-2 title halves the room a GSM-7 hint leaves)."""
    headers = (header,) if isinstance(header, str) else tuple(header)
    # Every hop on a list screen paginates; the same lists recur, so remember the answers.
    return _paginate_items(headers, tuple(labels), more, tuple(nav))


@lru_cache(maxsize=2048)
def _paginate_items(headers: tuple[str, ...], labels: tuple[str, ...], more: str, nav: tuple[str, ...]) -> tuple[tuple[int, ...], ...]:
    pages: list[tuple[int, ...]] = []
    i = 0
    while i < len(labels):
        page: list[int] = []
        while i < len(labels) and len(page) < MAX_ITEMS_PER_PAGE:
            trial = page + [i]
            last = i == len(labels) - 1
            tail = [*([] if last else [more]), *nav]
            ok = all(fits(menu_text(h, [labels[j] for j in trial], tail)) for h in headers)
            if not ok and page:
                break
            page.append(i)
            i += 1
            if not ok:  # a lone item too long: it is shortened when rendered
                break
        pages.append(tuple(page))
    return tuple(pages) or ((),)


def render_page(header: str, labels: list[str], has_more: bool, more: str, nav: list[str]) -> str:
    tail = ([more] if has_more else []) + nav
    text = menu_text(header, labels, tail)
    if fits(text):
        return text
    # Shorten the longest labels until it fits (keeps every choice visible).
    labels = list(labels)
    for room in range(40, 3, -2):
        labels = [shorten(label, room) for label in labels]
        text = menu_text(header, labels, tail)
        if fits(text):
            return text
    return fit_screen(text)


def paginate_text(text: str, nav_more: list[str], nav_last: list[str]) -> list[str]:
    """Split a long text at line then word boundaries into pages that fit with their nav."""
    return list(_paginate_text(text, tuple(nav_more), tuple(nav_last)))


@lru_cache(maxsize=2048)
def _paginate_text(text: str, nav_more: tuple[str, ...], nav_last: tuple[str, ...]) -> tuple[str, ...]:
    words_lines = [line.split(" ") for line in text.split("\n")]
    pages: list[str] = []
    current = ""
    for words in words_lines:
        whole = " ".join(words)
        if current and not fits("\n".join([f"{current}\n{whole}", *nav_more])) \
                and fits("\n".join([whole, *nav_more])):
            # A line that fits a page of its own starts the next page rather than being split
            # ("Phone:" on one page and its number on the next).
            pages.append(current)
            current = ""
        line = ""
        for word in words:
            candidate_line = f"{line} {word}".strip()
            candidate = f"{current}\n{candidate_line}" if current else candidate_line
            if fits("\n".join([candidate, *nav_more])):
                line = candidate_line
                continue
            # flush what we have as a page
            page = f"{current}\n{line}".strip("\n") if line else current
            if page:
                pages.append(page)
            current, line = "", word
        current = f"{current}\n{line}" if current else line
    if current:
        pages.append(current)
    # the last page has different nav; if it does not fit with it, split once more
    if pages and not fits("\n".join([pages[-1], *nav_last])):
        last = pages.pop()
        half = last.rfind("\n", 0, len(last) // 2 + 1)
        pages += [last[:half], last[half + 1:]] if half > 0 else [last[:60], last[60:]]
    return tuple(pages) or ("",)


# Realistic longest values used to check static screens at load time.
