"""Place resolution throughput: what citizens type → nearest centres, on one core.

Reports resolutions per second over a mixed input list (exact names, townships, old names,
misspellings, unknown text) for the resolver alone — uncached (index lookup, fuzzy match when
that fails), misspellings only (the fuzzy path on every call) and cached (the LRU in front of
it, as in the running service) — and for the full nearest-centre search (resolve + distances
to every active centre). Goal: ≥ 20,000/s.

    .venv/bin/python bench/resolve.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from harness import record

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

INPUTS = [
    "soweto", "Soweto", "sowetto", "Diepkloof", "alex", "Alexandra", "Kagiso", "kagiso ext 2",
    "Khayelitsha", "Khayelitsa", "Mitchell's Plain", "Mthatha", "Umtata", "Mthata",
    "Polokwane/Pietersburg", "kwamashu", "Umlazi section B", "PE", "Port Elizabeth", "eThekwini",
    "PMB", "Kimberly", "Mosselbaai", "Kaapstad", "iKapa", "Mangaung", "Tshwane", "Jozi",
    "Sebokeng", "Nelspruit", "Witbank", "Beaufort-Wes", "Hermanus", "Tembisa", "Mahikeng",
    "Rustenburg", "George", "Durban", "xyzzy", "near soweto please", "Bloemfonteen", "Polokwan",
    "Emalahleni", "Qonce", "Matatiele", "Ladysmith", "Newcastle", "Upington", "Vryburg", "Musina",
]


# Misspellings: no exact or alias hit, so every call runs the fuzzy match over all names.
MISSPELT = ["sowetto", "Khayelitsa", "Mthata", "Kimberly", "Bloemfonteen", "Polokwan", "xyzzy"]


def rate(fn, seconds: float, inputs: list[str] = INPUTS) -> tuple[float, int]:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for text in inputs:
            fn(text)
        n += len(inputs)
    return n / (time.perf_counter() - start), n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()

    from config import load_settings
    from gateway.directory.centre_csv import import_centres
    from gateway.directory.nearest import nearest_in
    from gateway.runtime import Runtime
    from gateway.store.engine import upgrade

    folder = tempfile.mkdtemp(prefix="thusong-bench-")
    rt = Runtime.from_settings(load_settings({"INSTANCE_PATH": folder}))
    try:
        upgrade(rt.engine)
        seed = Path(__file__).resolve().parents[1] / "gateway" / "directory" / "data" / "thusong_centres.csv"
        import_centres(rt.sessions, seed.read_text(), rt.gazetteer)
        gaz, directory = rt.gazetteer, rt.directory
        directory.refresh()
        resolved = sum(gaz.resolve(t) is not None for t in INPUTS)
        print(f"inputs: {len(INPUTS)} mixed ({resolved} resolve, {len(INPUTS) - resolved} not found); "
              f"gazetteer: {len(gaz)} names; centres: {len(directory.entries())}")
        rows = [
            ("resolve, uncached (index, then fuzzy)", gaz.resolve_uncached),
            ("resolve, misspellings only (fuzzy each call)", gaz.resolve_uncached, MISSPELT),
            ("resolve, cached (as served)", gaz.resolve),
            ("nearest 3, nothing cached", lambda t: (p := gaz.resolve_uncached(t))
             and nearest_in(directory._snap.points, directory.entries(), p, 3)),
            ("nearest 3 centres, as served (cached)", lambda t: directory.nearest(t, 3)),
        ]
        figures = []
        for label, fn, *inputs in rows:
            per_s, n = rate(fn, args.seconds, *inputs)
            verdict = "meets" if per_s >= 20_000 else "below"
            print(f"{label:45} {per_s:>10,.0f}/s  ({n:,} calls; {verdict} the 20,000/s goal)")
            figures.append({"label": label, "per_s": per_s})
        record("resolve", figures, vars(args), "sqlite", {"inputs": len(INPUTS), "resolved": resolved})
    finally:
        rt.close()


if __name__ == "__main__":
    main()
