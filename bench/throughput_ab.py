"""Same-run A/B of enrich throughput against another checkout (e.g. main before a change).

    .venv/bin/python -m bench.throughput_ab --base /path/to/other/checkout [--rounds 3]

Each round runs ``bench.throughput``'s pipeline once with the other checkout's code (its own
``.venv``) and once with this one's, alternately, on the same 400 BBC articles of eval-dev with
every article tagged (``NEWSFLOW_REUSE_COPY_ENTITIES=false``: no copy skips spaCy), one enrich
process. The machine is shared, so the figures are the medians over the rounds and the ratio is
taken between medians of one run. The peak RSS of the enrich process is sampled (psutil, every
0.2 s) in each run. Writes its section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import threading
import time
from pathlib import Path

import psutil

from bench.common import REPO_ROOT, machine_line, write_section

ARTICLES = 400
_RUN = (
    "from bench.throughput import ARTICLES, bbc_files, pipeline_run; "
    "run, _ = pipeline_run(bbc_files(ARTICLES), 1, reuse=False); print('RATE', run.rate, flush=True)"
)
MIB = 1024 * 1024


def _enrich_rss(root: psutil.Process) -> int:
    total = 0
    for child in root.children(recursive=True):
        try:
            if "enrich" in child.cmdline():
                total = max(total, child.memory_info().rss)
        except psutil.Error:
            continue
    return total


def run_once(checkout: Path) -> tuple[float, float]:
    """(articles/s, peak enrich RSS MiB) of one pipeline run with ``checkout``'s code."""
    python = checkout / ".venv" / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"{checkout} has no .venv (run `make install` there first)")
    process = subprocess.Popen(
        [str(python), "-c", _RUN], cwd=checkout, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(process.pid)
        while not done.wait(0.2):
            try:
                peak = max(peak, _enrich_rss(root))
            except psutil.Error:
                return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate(timeout=1800)
    done.set()
    sampler.join(timeout=5)
    rates = [float(line.split()[1]) for line in output.splitlines() if line.startswith("RATE ")]
    if process.returncode != 0 or not rates:
        raise SystemExit(f"the pipeline run in {checkout} failed (exit {process.returncode})")
    return rates[0], peak / MIB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True, help="the other checkout (with its own .venv)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    machine = machine_line()
    base_commit = subprocess.run(
        ["git", "-C", str(args.base), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    head_commit = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    results: dict[str, list[tuple[float, float]]] = {"base": [], "this": []}
    started = time.perf_counter()
    for round_number in range(args.rounds):
        for label, checkout in (("base", args.base), ("this", REPO_ROOT)):
            rate, rss = run_once(checkout.resolve())
            results[label].append((rate, rss))
            print(
                f"round {round_number + 1}, {label}: {rate:.1f} articles/s, enrich peak RSS {rss:.0f} MiB", flush=True
            )
    base_rate = statistics.median(r for r, _ in results["base"])
    this_rate = statistics.median(r for r, _ in results["this"])
    ratio = this_rate / base_rate
    print(f"median base {base_rate:.1f}, this {this_rate:.1f} articles/s: ratio {ratio:.2f}")

    def listed(label: str) -> str:
        return ", ".join(f"{r:.1f}" for r, _ in results[label])

    body = f"""
## Enrich throughput A/B against main (`bench/throughput_ab.py`)

Command: `.venv/bin/python -m bench.throughput_ab --base <checkout of {base_commit}> --rounds
{args.rounds}`. Machine: {machine}; {time.perf_counter() - started:.0f} s. {ARTICLES} BBC articles of
eval-dev through the real pipeline (`bench/throughput.py`'s run: 1 enrich process, every article
tagged by spaCy), alternately with main's code ({base_commit}) and this branch's ({head_commit}).

| code | articles/s (each round) | median | enrich peak RSS MiB (max) |
|---|---|---:|---:|
| main ({base_commit}) | {listed("base")} | {base_rate:.1f} | {max(m for _, m in results["base"]):.0f} |
| this branch ({head_commit}) | {listed("this")} | {this_rate:.1f} | {max(m for _, m in results["this"]):.0f} |

Ratio of medians: **{ratio:.2f}** (target >= 0.9); enrich peak RSS target < 600 MiB.
"""
    print(body)
    if not args.no_write:
        write_section("throughput_ab.py", body)


if __name__ == "__main__":
    main()
