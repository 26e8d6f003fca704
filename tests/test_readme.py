"""The README's configuration table stays true to the settings the code reads."""

from __future__ import annotations

import re

from shared.config import Settings
from tests.conftest import REPO_ROOT


def _env_names() -> set[str]:
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None)
        names.add(str(choices[0]) if choices else f"NEWSFLOW_{name.upper()}")
    return names


def test_every_setting_is_documented_and_nothing_else() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", table, flags=re.MULTILINE))
    assert documented == _env_names()


def test_readme_shows_the_two_commands() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
