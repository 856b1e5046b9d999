"""The wheel a user installs carries the JSON Schemas (editors and validation need them)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_wheel_contains_the_schemas(tmp_path: Path) -> None:
    # --no-isolation: use the installed hatchling instead of downloading one.
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = tmp_path.glob("kxplan-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "kxplan/schemas/manifest.schema.json" in names
    if (ROOT / "schemas" / "plan.schema.json").exists():
        assert "kxplan/schemas/plan.schema.json" in names
    assert "kxplan/manifest/__init__.py" in names
    assert any(n.endswith("entry_points.txt") for n in names)
