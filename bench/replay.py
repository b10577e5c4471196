"""Replaying a USSD hop's state from AT's ``text`` vs loading and saving it in Redis, in-process.

AT sends the whole path on every hop (``1*Soweto*1``) and the engine is pure, so a hop's state
could be rebuilt by replaying the path from the first screen instead of loaded from Redis. This
measures both for every hop of ``bench/ussd.py``'s journeys, as CPU (``time.process_time`` for
this process, ``INFO cpu`` for Redis):

- **load + save**: what a hop does now — the session and profile in one ``MGET``, the session,
  profile and usage entry written in one pipeline;
- **replay**: ``menus.engine.step`` over the path from a fresh state, the caller's inputs
  applied one by one (the real ports: a typed town is searched again at every later hop).

Replay would still need Redis for the caller's profile (language, resume point), the usage
entry and the once-only guard for side effects, so the fair comparison is replay + one write
against load + write. Figures are only worth comparing on a quiet machine.

    .venv/bin/python bench/replay.py [--rounds 2000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from harness import redis_cpu_seconds
from ussd import JOURNEYS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2000, help="times each journey is measured")
    args = parser.parse_args()

    from config import load_settings
    from gateway.cli.laptop import seed_if_empty
    from gateway.runtime import Runtime
    from gateway.store.engine import upgrade
    from gateway.ussd.ports import UssdPorts
    from gateway.ussd.sessions import SessionStore, StoredHop
    from menus.engine import step

    folder = tempfile.mkdtemp(prefix="thusong-bench-replay-")
    settings = load_settings({"INSTANCE_PATH": folder, "LOG_LEVEL": "WARNING",
                              "REDIS_URL": os.environ.get("REDIS_URL", "")})
    rt = Runtime.from_settings(settings)
    try:
        upgrade(rt.engine)
        seed_if_empty(rt)
        store, journey, phone = SessionStore(rt.redis), rt.journey, "+27820000001"

        def replay(inputs: list[str]) -> tuple[dict, object]:
            ports = UssdPorts(rt, phone, "replay", "en")
            reply, state = step(journey, {"lang": "en"}, None, ports)
            for key in inputs:
                reply, state = step(journey, state, key, ports)
            return state, reply

        print(f"{'hop (path)':24} {'load+save µs':>13} {'(Redis)':>8} {'replay µs':>10} {'save only µs':>13}")
        totals = {"load_save": 0.0, "replay": 0.0, "save": 0.0}
        hops = 0
        for journey_keys in JOURNEYS:
            inputs: list[str] = []
            for key in journey_keys:
                if key:
                    inputs.append(key)
                state, reply = replay(inputs)  # warm: gazetteer, browse snapshot
                hop = StoredHop(state, "*".join(inputs), reply.text, reply.end)
                profile = {"lang": "en", "resume": {"state": state, "at": time.time()}}
                usage = {"c": "0" * 16, "s": "replay", "sc": str(state.get("screen")), "e": "0", "t": "0"}
                store.save_with_profile("replay", hop, phone, profile, usage)

                r0, t0 = redis_cpu_seconds(rt.redis), time.process_time()
                for _ in range(args.rounds):
                    store.load_with_profile("replay", phone)
                    store.save_with_profile("replay", hop, phone, profile, usage)
                load_save = (time.process_time() - t0) / args.rounds * 1e6
                redis_us = (redis_cpu_seconds(rt.redis) - r0) / args.rounds * 1e6

                r1, t1 = redis_cpu_seconds(rt.redis), time.process_time()
                for _ in range(args.rounds):
                    store.save_with_profile("replay", hop, phone, profile, usage)
                save = ((time.process_time() - t1) + (redis_cpu_seconds(rt.redis) - r1)) / args.rounds * 1e6

                t2 = time.process_time()
                for _ in range(args.rounds):
                    replay(inputs)
                replayed = (time.process_time() - t2) / args.rounds * 1e6

                totals["load_save"] += load_save + redis_us
                totals["replay"] += replayed
                totals["save"] += save
                hops += 1
                print(f"{'*'.join(inputs) or '(dial)':24} {load_save + redis_us:13.0f} {redis_us:8.0f}"
                      f" {replayed:10.0f} {save:13.0f}")
        mean = {k: v / hops for k, v in totals.items()}
        print(f"mean over {hops} hops: load + save {mean['load_save']:.0f} µs; "
              f"replay + save {mean['replay'] + mean['save']:.0f} µs "
              f"(replay {mean['replay']:.0f} µs, save {mean['save']:.0f} µs); load avg {os.getloadavg()[0]:.2f}")
    finally:
        rt.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
