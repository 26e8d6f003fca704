"""Issue 22's entity acceptance through the real pipeline: the seeds and the BBC dev files read back from the API.

    .venv/bin/python -m bench.entity_acceptance [--eval-dir ../shared/eval-dev] [--no-write]

Every seed and every BBC file of ``dedupe/docs`` is dropped into the inbox of the real services
(embedded Tansu, scratch Postgres); the answers are what a user gets from ``/articles`` and
``/entities``: which seeds ``entity=Donald Trump``, ``entity=Imran Khan`` and ``entity=Zulfi
Bukhari`` return, the types of the places and outlets the issue names, and whether any of its
junk surfaces is an entity (a name or a surface form of one). Written to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import machine_line, scratch_database, write_section
from bench.throughput import Stack

REPO = Path(__file__).resolve().parent.parent
DEFAULT_EVAL_DIR = REPO.parent / "shared" / "eval-dev"
SEEDS = sorted((REPO / "seeds").glob("*.txt"))
# entity value -> the seeds (file-name prefixes) it must return
SEED_QUERIES = {"Donald Trump": {"000", "001", "002", "003", "004"}, "Imran Khan": {"000", "001", "002", "003", "004"}}
SEED_QUERIES["Zulfi Bukhari"] = {"000", "002"}
EXPECTED_TYPES = {
    "Balochistan": "LOCATION",
    "Khyber Pakhtunkhwa": "LOCATION",
    "Karachi": "LOCATION",
    "Dawn": "ORG",
    "Geo News": "ORG",
}
# The junk surfaces the issue lists: as any type, or (the Sun is a newspaper) as the type it had.
JUNK: dict[str, str | None] = {
    "Goat or": None,
    "Sushant Singh Rajput-starrer": None,
    "M S Dhoni": "ORG",
    "Facing Failure": None,
    "GMT": None,
    "Notes": None,
    "Sun": "LOCATION",
    "Sea": "LOCATION",
    "Pakistanis": None,
}
PAGE = 100


def _seeds_of(api: str, entity: str) -> set[str] | str:
    response = httpx.get(f"{api}/articles", params={"entity": entity, "limit": PAGE, "include_duplicates": True})
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    return {item["source_file"][:3] for item in response.json()["items"] if item["source_file"] in SEED_NAMES}


SEED_NAMES = {p.name for p in SEEDS}


def _entities_named(api: str, name: str) -> list[dict[str, Any]]:
    """Every listed entity with ``name`` as its name or a surface form (any case)."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"q": name, "limit": PAGE, **({"cursor": cursor} if cursor else {})}
        page = httpx.get(f"{api}/entities", params=params).json()
        for item in page["items"]:
            profile = httpx.get(f"{api}/entities/{item['id']}").json()
            forms = {profile["name"].casefold(), *(a.casefold() for a in profile["aliases"])}
            if name.casefold() in forms:
                found.append(profile)
        cursor = page["next_cursor"]
        if not cursor:
            return found


def run(eval_dir: Path) -> dict[str, Any]:
    bbc = sorted((eval_dir / "dedupe" / "docs").glob("*.txt"))
    with tempfile.TemporaryDirectory() as tmp, scratch_database() as url, Stack(Path(tmp), url, 1) as stack:
        started = time.perf_counter()
        for path in [*SEEDS, *bbc]:
            stack.drop(path)
        stack.wait_stored(len(SEEDS) + len(bbc))
        seconds = time.perf_counter() - started
        seeds = {entity: _seeds_of(stack.api, entity) for entity in SEED_QUERIES}
        trump_orgs = [(e["name"], e["type"]) for e in _entities_named(stack.api, "Trump") if e["type"] != "PERSON"]
        types = {name: sorted({e["type"] for e in _entities_named(stack.api, name)}) for name in EXPECTED_TYPES}
        junk = {
            name: [(e["name"], e["type"]) for e in _entities_named(stack.api, name) if junk_type in (None, e["type"])]
            for name, junk_type in JUNK.items()
        }
        nobody = httpx.get(f"{stack.api}/articles", params={"entity": "Nobody"}).status_code
        return {
            "files": len(SEEDS) + len(bbc),
            "seconds": seconds,
            "seeds": seeds,
            "trump_not_person": trump_orgs,
            "types": types,
            "junk": {k: v for k, v in junk.items() if v},
            "nobody_status": nobody,
        }


def report(result: dict[str, Any]) -> str:
    rows = ["| check | expected | got | holds |", "|---|---|---|---|"]
    for entity, expected in SEED_QUERIES.items():
        got = result["seeds"][entity]
        shown = ", ".join(sorted(got)) if isinstance(got, set) else got
        rows.append(
            f"| `entity={entity}` returns seeds | {', '.join(sorted(expected))} | {shown} | {got == expected} |"
        )
    rows.append(
        f"| a Trump entity that is not the person | none | {result['trump_not_person'] or 'none'} | "
        f"{not result['trump_not_person']} |"
    )
    for name, wanted_type in EXPECTED_TYPES.items():
        types = result["types"][name]
        rows.append(
            f"| type of {name} | {wanted_type} | {', '.join(types) or 'not found'} | {types == [wanted_type]} |"
        )
    rows.append(f"| junk surfaces that are entities | none | {result['junk'] or 'none'} | {not result['junk']} |")
    rows.append(f"| `/articles?entity=Nobody` | 404 | {result['nobody_status']} | {result['nobody_status'] == 404} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    machine = machine_line()
    result = run(args.eval_dir)
    table = report(result)
    print(table)
    if not args.no_write:
        write_section(
            "entity_acceptance.py",
            f"""## Entity acceptance through the pipeline (`bench/entity_acceptance.py`)

Command: `.venv/bin/python -m bench.entity_acceptance`. Machine: {machine}. The five seeds and the
{result["files"] - len(SEEDS)} BBC files of eval-dev's `dedupe/docs` dropped into the inbox of the
real services ({result["seconds"]:.0f} s until all were stored); every answer below is read from
`/articles` and `/entities` as a user reads it (an entity counts as "named" X when X is its name or
one of its surface forms, any case; issue 22's acceptance list).

{table}""",
        )


if __name__ == "__main__":
    main()
