"""A longer soak of the suite's seeded fault run (tests/faults/test_chaos.py): the same
schedule generator, kills, SIGTERMs, Dovecot restart and misbehaving SMTP server, for
longer and over several seeds, each with the same checks. Not run in CI.

    python bench/soak_unknown.py --seconds 600 --rounds 3 [--seed N] [--postgresql]

A failing round prints its seed; MAILFLOW_CHAOS_SEED=N with the suite's test, or --seed N
here, reruns that schedule."""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "faults"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=600, help="disturbed time per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, help="the first round's seed (default: random)")
    ap.add_argument("--postgresql", action="store_true", help="on a private PostgreSQL")
    args = ap.parse_args()

    from conftest import ROSTER, TEST_USERS, Project, new_database
    from servers import Dovecot, Postgres
    from test_chaos import chaos_run

    for name, user in (("HR", "hr"), ("SUP", "qian.zg")):
        os.environ[f"MAILFLOW_TEST_{name}_PASSWORD"] = f"secret-{user}"
    dovecot = Dovecot()
    for user in TEST_USERS:
        dovecot.add_user(user, "secret-" + user.split("@")[0])
    dovecot.start()
    postgres = Postgres().start() if args.postgresql else None
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    failed = 0
    try:
        for n in range(args.rounds):
            root = Path(tempfile.mkdtemp(prefix="mailflow-soak-"))
            shutil.copytree(ROOT / "rules", root / "rules")
            shutil.copytree(ROOT / "templates", root / "templates")
            (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
            project = Project(root)
            project.write_settings(database=new_database(postgres))
            try:
                chaos_run(project, dovecot, args.seconds, seed + n)
                shutil.rmtree(root)
            except AssertionError as exc:
                failed += 1
                print(f"round {n} FAILED (seed {seed + n}, files kept in {root}): {exc}",
                      flush=True)
    finally:
        dovecot.stop()
        if postgres is not None:
            postgres.stop()
    print(f"{args.rounds - failed}/{args.rounds} rounds passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
