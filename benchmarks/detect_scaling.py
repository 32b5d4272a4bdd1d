"""How generic detection scales with the page: the time to detect the listing of a page of 200
and of 2,000 entry blocks (about 35 KB and 370 KB). Goal: at most 10x the time for 10x the blocks.

    .venv/bin/python benchmarks/detect_scaling.py
"""

from __future__ import annotations

import time

from spfeed.detect import detect
from spfeed.extract import parse


def page(blocks: int) -> str:
    """A listing page of *blocks* cards, each with a linked title, a date line and a summary."""
    cards = "".join(
        f'<div class="card"><h3 class="title"><a href="/news/{i}">News item number {i}</a></h3>'
        f'<span class="date">{1 + i % 28} June 2022</span><p class="summary">Summary of item {i}, long enough.</p></div>'
        for i in range(blocks)
    )
    return f'<html><body><nav><a href="/">Home</a></nav><div class="list">{cards}</div></body></html>'


def seconds(blocks: int, repeat: int = 3) -> float:
    """The best of *repeat* runs of detection (parsing excluded) on a page of *blocks* blocks."""
    soup = parse(page(blocks))
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        found = detect(soup, "https://www.ilo.org/")
        best = min(best, time.perf_counter() - started)
        assert found is not None and found.item == "div.card"
    return best


def main() -> None:
    small, large = seconds(200), seconds(2000)
    print(f"200 blocks ({len(page(200)) // 1000} KB): {small * 1000:.1f} ms")
    print(f"2000 blocks ({len(page(2000)) // 1000} KB): {large * 1000:.1f} ms")
    print(f"ratio: {large / small:.1f}x for 10x the blocks (goal: at most 10x)")


if __name__ == "__main__":
    main()
