"""A ``newsflow run`` under test, article files made from real text, and DB checks (fault tests, load bench).

The pipeline is started exactly as a user starts it (``python -m services.cli run`` as a child
process); faults are real signals to real processes (SIGKILL, SIGSTOP/SIGCONT), and every check
reads the real Postgres the store writes to.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import psutil
import psycopg

from bench.harness.paths import REPO_ROOT, SEEDS_DIR
from services.embedded import free_port

# Generous: the machine has 2 cores shared with other test runs, and a join takes ~3 s.
START_TIMEOUT_SECONDS: Final = 180.0
FLOW_TIMEOUT_SECONDS: Final = 300.0
RESTART_TIMEOUT_SECONDS: Final = 120.0
STOP_TIMEOUT_SECONDS: Final = 60.0
POLL_SECONDS: Final = 0.25
HTTP_TIMEOUT_SECONDS: Final = 10.0
# Words of a generated article taken from the seeds (paragraphs of whole sentences).
SENTENCES_PER_ARTICLE: Final = 8
SENTENCES_PER_PARAGRAPH: Final = 3
OWN_PASSAGE_WORDS: Final = 60


def wait_until(predicate: Callable[[], bool], what: str, timeout_seconds: float = FLOW_TIMEOUT_SECONDS) -> None:
    """Poll ``predicate`` until it holds; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"timed out after {timeout_seconds:.0f} s waiting for {what}")


# --- the pipeline --------------------------------------------------------------------------------
_METRICS_PORT_VARIABLES = (
    "NEWSFLOW_INGEST_METRICS_PORT",
    "NEWSFLOW_ENRICH_METRICS_PORT",
    "NEWSFLOW_STORE_METRICS_PORT",
)


def free_metrics_ports() -> dict[str, str]:
    """Free ports for the services' metrics, as environment: a pipeline off the default 9101-9103,
    so several run side by side (the test suite's workers) without moving each other's ports."""
    return {name: str(free_port()) for name in _METRICS_PORT_VARIABLES}


@dataclass
class Pipeline:
    """One ``newsflow run`` (the supervisor) with its own data dir, inbox and API port."""

    root: Path
    database_url: str | None = None
    enrich_replicas: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    # On 9101-9103 as a user runs it (a taken default port is then replaced, not refused); the
    # caller makes sure no other pipeline is on them. Else free ports (``free_metrics_ports``).
    default_metrics_ports: bool = False
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    runs: int = 0

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def processed_dir(self) -> Path:
        return self.data_dir / "processed"

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> Path:
        return self.root / f"run-{self.runs}.out"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
        env.update(
            {
                "NEWSFLOW_DATA_DIR": str(self.data_dir),
                "NEWSFLOW_INBOX": str(self.inbox),
                "NEWSFLOW_API_PORT": str(self.port),
                "NEWSFLOW_FILE_SETTLE_SECONDS": "0.3",
                "NEWSFLOW_INBOX_POLL_INTERVAL_SECONDS": "0.5",
                # Retry a stalled or restarted database quickly: the tests wait for the recovery.
                "NEWSFLOW_DB_RETRY_MAX_SECONDS": "2",
                "PYTHONPATH": str(REPO_ROOT),
                **({} if self.default_metrics_ports else free_metrics_ports()),
                **self.extra_env,
            }
        )
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        return env

    def start(self) -> Pipeline:
        """Start the supervisor and wait until its API answers (a fresh embedded broker each time)."""
        self.runs += 1
        self.port = free_port()
        argv = [sys.executable, "-m", "services.cli", "run", "--enrich-replicas", str(self.enrich_replicas)]
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(argv, cwd=self.root, env=self.env(), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while "newsflow is ready" not in self.output.read_text(errors="replace"):
            assert self.process.poll() is None, f"newsflow run exited early:\n{self.output.read_text()}"
            assert time.monotonic() < deadline, f"newsflow run did not become ready:\n{self.output.read_text()}"
            time.sleep(POLL_SECONDS)
        return self

    def stop(self) -> None:
        """SIGTERM the supervisor (it stops its children and embedded servers) and wait."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def run_info(self) -> dict[str, Any]:
        info: dict[str, Any] = json.loads((self.data_dir / "run.json").read_text())
        return info

    def pid(self, service: str) -> int:
        return int(self.run_info()["services"][service])

    def store_metrics(self) -> str:
        """The store's /metrics URL (the API's are at ``{api}/metrics``)."""
        return str(self.run_info()["store_metrics_url"])

    def kill(self, service: str) -> int:
        """SIGKILL one service (no cleanup at all, as a crash or the OOM killer); its pid."""
        pid = self.pid(service)
        os.kill(pid, signal.SIGKILL)
        return pid

    def wait_restarted(self, service: str, old_pid: int) -> int:
        """Wait until the supervisor replaced ``old_pid`` with a live process; the new pid."""
        wait_until(
            lambda: self.pid(service) != old_pid and psutil.pid_exists(self.pid(service)),
            f"the supervisor to restart {service}",
            RESTART_TIMEOUT_SECONDS,
        )
        return self.pid(service)

    def broker(self) -> psutil.Process:
        """The embedded Tansu broker the supervisor started."""
        assert self.process is not None
        brokers = [p for p in psutil.Process(self.process.pid).children() if "tansu" in " ".join(p.cmdline())]
        assert len(brokers) == 1, f"expected one embedded broker, found {brokers}"
        return brokers[0]

    def health(self) -> httpx.Response:
        return httpx.get(f"{self.api}/health", timeout=HTTP_TIMEOUT_SECONDS)

    def log_lines(self, service: str, message: str) -> int:
        """How many lines of ``service``'s log (every run of it) carry ``message``."""
        path = self.logs / f"{service}.log"
        if not path.exists():
            return 0
        needle = json.dumps(message)
        return sum(1 for line in path.read_text(errors="replace").splitlines() if needle in line)

    def dump_logs(self) -> None:
        """The tail of every log, on stderr (pytest shows it for a failed test)."""
        for path in [self.output, *sorted(self.logs.glob("*.log"))] if self.logs.is_dir() else [self.output]:
            if path.exists():
                sys.stderr.write(f"\n--- {path.name} (tail) ---\n{path.read_text(errors='replace')[-6000:]}\n")


# --- article files --------------------------------------------------------------------------------
def seed_sentences() -> list[str]:
    """Every distinct sentence of the seed articles (real wire text), long enough to be prose."""
    sentences: dict[str, None] = {}
    for seed in sorted(SEEDS_DIR.glob("*.txt")):
        for paragraph in seed.read_text().split("\n"):
            for sentence in re.split(r"(?<=[.!?])\s+", paragraph.strip()):
                if len(sentence.split()) >= 8 and sentence[-1:] in '.!?"”':
                    sentences[sentence] = None
    return list(sentences)


@dataclass(frozen=True)
class ArticleFile:
    """One generated article: its file name and bytes."""

    name: str
    data: bytes


def make_articles(count: int, *, prefix: str, seed: int = 7) -> list[ArticleFile]:
    """``count`` distinct articles: seed sentences shuffled, a unique reference line and a passage of their own.

    Shuffled seed sentences alone make articles that share most of their text with many others
    (as if every article were a collage of the same quotes), which reprint detection rightly treats
    as shared material. Real articles also have their own reporting: the own passage (seed words
    drawn at random) gives each article content no other article has, so none is a copy of another
    and a reprint of it is recognisable.
    """
    pool = seed_sentences()
    vocabulary = sorted({word for sentence in pool for word in sentence.split()})
    rng = random.Random(f"{prefix}-{seed}")
    files = []
    for index in range(count):
        reference = f"{prefix}-{index:05d}-{rng.getrandbits(40):010x}"
        picked = rng.sample(pool, SENTENCES_PER_ARTICLE)
        own_passage = " ".join(rng.choice(vocabulary) for _ in range(OWN_PASSAGE_WORDS)) + "."
        paragraphs = [
            f"Desk note {reference}: this report was filed by correspondent number {index} of the {prefix} "
            f"bureau for edition {rng.randrange(10_000)}.",
            own_passage,
            *(
                " ".join(picked[i : i + SENTENCES_PER_PARAGRAPH])
                for i in range(0, len(picked), SENTENCES_PER_PARAGRAPH)
            ),
        ]
        title = f"Report {reference}"
        files.append(
            ArticleFile(f"{prefix}_{index:05d}.txt", (title + "\n\n" + "\n\n".join(paragraphs) + "\n").encode())
        )
    return files


def reprint_of(original: ArticleFile, name: str) -> ArticleFile:
    """The way an outlet republishes wire copy: own byline and dateline, last paragraph cut, a word edited."""
    title, _, body = original.data.decode().partition("\n\n")
    paragraphs = body.strip().split("\n\n")[:-1]
    words = paragraphs[1].split(" ")
    words[len(words) // 2] = "reportedly"
    paragraphs[1] = " ".join(words)
    text = (
        f"{title}\n\nBy Staff Reporter\n\nISLAMABAD (Newswire) - " + "\n\n".join(paragraphs) + "\n\n"
        "Follow us on Twitter and Facebook for the latest news. Subscribe to our newsletter to get the "
        "day's top stories in your inbox every morning.\n"
    )
    return ArticleFile(name, text.encode())


def drop(inbox: Path, files: Iterable[ArticleFile]) -> list[str]:
    """Put files in the inbox atomically (written under a hidden name, then renamed); their names."""
    inbox.mkdir(parents=True, exist_ok=True)
    names = []
    for item in files:
        hidden = inbox / f".{item.name}.part"
        hidden.write_bytes(item.data)
        os.rename(hidden, inbox / item.name)
        names.append(item.name)
    return names


# --- the database -----------------------------------------------------------------------------------
def stored_count(database_url: str) -> int:
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        row = conn.execute("SELECT count(*) FROM articles").fetchone()
    return int(row[0]) if row else 0


def stored_articles(database_url: str) -> list[tuple[str, str, str | None, str | None]]:
    """(source_file, article_id, duplicate_of, duplicate_kind) of every stored article."""
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        rows = conn.execute("SELECT source_file, article_id, duplicate_of, duplicate_kind FROM articles").fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def dead_letters(database_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        cursor = conn.execute(
            "SELECT stage, reason, message, source_file, source_topic, source_partition, source_offset"
            " FROM dead_letters"
        )
        columns = [c.name for c in cursor.description or []]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def miscounted_entities(database_url: str) -> list[tuple[str, int, int]]:
    """Entities whose ``article_count`` disagrees with their links: a double-applied redelivery shows here."""
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        rows = conn.execute(
            """
            SELECT e.id, e.article_count, count(ae.article_id) FILTER (WHERE ae.in_original)
            FROM entities e LEFT JOIN article_entities ae ON ae.entity_id = e.id
            GROUP BY e.id, e.article_count
            HAVING e.article_count <> count(ae.article_id) FILTER (WHERE ae.in_original)
            """
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def assert_stored_exactly_once(
    database_url: str, names: Iterable[str]
) -> list[tuple[str, str, str | None, str | None]]:
    """Every named file is one stored article, none is missing, none is there twice, nothing else is."""
    expected = sorted(names)
    rows = stored_articles(database_url)
    files = sorted(row[0] for row in rows)
    missing = sorted(set(expected) - set(files))
    doubled = sorted({f for f in files if files.count(f) > 1}) if len(files) != len(set(files)) else []
    unexpected = sorted(set(files) - set(expected))
    assert not missing and not doubled and not unexpected, (
        f"{len(rows)} rows for {len(expected)} files; missing {missing[:10]}, doubled {doubled[:10]}, "
        f"unexpected {unexpected[:10]}"
    )
    assert miscounted_entities(database_url) == [], "entity article counts disagree with the stored links"
    return rows
