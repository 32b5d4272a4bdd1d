"""Where the time of one benchmark row goes: cProfile or ``-X importtime`` of one spfeed run, set up
as bench.py sets it up (the same pages, served on 127.0.0.1).

    .venv/bin/python benchmarks/profile_row.py changed              # cProfile, top costs
    .venv/bin/python benchmarks/profile_row.py unchanged --imports  # import times (best of 5 runs)

Runs: changed (6 items), unchanged (304), regenerate, first-8000 (a first update of 8,000 items),
run-304 and run-changed (100 calls of pipeline.update in one process, as `spfeed run` makes them).
"""

from __future__ import annotations

import argparse
import pstats
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402

_LOOP = r"""
import cProfile, sys
from pathlib import Path
from spfeed import config
from spfeed.pipeline import update
from spfeed.store import KeptStore
cfg = config.load(Path(sys.argv[1]))
kept = KeptStore(cfg.state_path)
for _ in range(3):
    update(cfg, kept=kept)
profile = cProfile.Profile()
profile.enable()
for _ in range(100):
    update(cfg, kept=kept)
profile.disable()
profile.dump_stats(sys.argv[2])
"""


def prepare(server: bench.Server, root: Path, run: str) -> tuple[tuple[str, ...], Callable[[], None]]:
    """The spfeed arguments of *run*, its state made ready, and what to do before each run."""
    if run == "first-8000":
        s = bench.setup(root, run, server.page("/big", bench.big_page(8000, None)), bench.NAIVE_FORMATS)
        return s.spfeed("update"), s.reset
    if run in ("changed", "run-changed"):
        url = server.changing("/changed", bench.retitled(bench.FIXTURE, 1), bench.retitled(bench.FIXTURE, 2))
    else:
        url = server.page("/page", bench.FIXTURE)
    s = bench.setup(root, run, url, bench.NAIVE_FORMATS)
    s.run("update")
    if run.startswith("run-"):
        return ("", "-c", _LOOP, str(s.config)), lambda: None
    return s.spfeed("regenerate" if run == "regenerate" else "update"), lambda: None


def imports(argv: tuple[str, ...], before: Callable[[], None], runs: int = 5) -> None:
    """The top-level imports of *argv* and their cumulative times, the best of *runs*."""
    best: dict[str, int] = {}
    for _ in range(runs):
        before()
        err = subprocess.run([bench.PY, "-X", "importtime", *argv[1:]], capture_output=True, text=True,
                             env=bench.CHILD_ENV).stderr
        for line in err.splitlines():
            if line.startswith("import time:") and "imported package" not in line:
                _, cumulative, name = line[len("import time:"):].split("|")
                best[name.rstrip()] = min(best.get(name.rstrip(), 1 << 60), int(cumulative))
    top = sorted(((us, name) for name, us in best.items() if not name.startswith("  ")), reverse=True)
    print(f"imports: {sum(us for us, _ in top) / 1000:.0f} ms in all (best of {runs} runs)")
    for us, name in top[:15]:
        print(f"{us / 1000:8.1f} ms  {name.strip()}")


def profile(argv: tuple[str, ...], out: Path) -> None:
    if argv[1] == "-c":  # the in-process loop dumps its own stats
        subprocess.run([bench.PY, *argv[1:], str(out)], check=True, env=bench.CHILD_ENV)
    else:
        subprocess.run([bench.PY, "-m", "cProfile", "-o", str(out), *argv[1:]], check=True,
                       stdout=subprocess.DEVNULL, env=bench.CHILD_ENV)
    stats = pstats.Stats(str(out))
    stats.sort_stats("cumulative").print_stats(r"spfeed|cssselect/__init__|lxml|requests/api|sqlite3", 30)
    stats.sort_stats("tottime").print_stats(15)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", choices=("changed", "unchanged", "regenerate", "first-8000", "run-304", "run-changed"))
    parser.add_argument("--imports", action="store_true", help="-X importtime instead of cProfile")
    args = parser.parse_args()
    server = bench.Server()
    try:
        with tempfile.TemporaryDirectory(prefix="spfeed-profile-") as tmp:
            bench.CHILD_ENV["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
            argv, before = prepare(server, Path(tmp), args.run)
            if args.imports and argv[1] == "-c":
                parser.error("--imports is for whole-process runs")
            before()
            subprocess.run([bench.PY, *argv[1:]] if argv[1] != "-c" else [bench.PY, "-c", "import spfeed.pipeline"],
                           stdout=subprocess.DEVNULL, env=bench.CHILD_ENV)  # compiles the bytecode once
            if args.imports:
                imports(argv, before)
            else:
                before()
                profile(argv, Path(tmp) / "profile.out")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
