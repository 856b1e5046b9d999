"""The README's two commands, in a fresh virtualenv, from a directory with nothing in it:
`pip install . && kxplan apply --sandbox --auto-approve examples/first.yaml`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_pip_install_then_apply_the_first_example_on_the_sandbox(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # System site-packages provide the dependencies (tests run without a registry); kxplan
    # itself is installed from the checkout exactly as the README says.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--no-deps", "--no-build-isolation", str(ROOT)], check=True)
    work = tmp_path / "fresh"
    (work / "examples").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "first.yaml", work / "examples" / "first.yaml")
    kxplan = str(venv / "bin" / "kxplan")
    args = [kxplan, "apply", "--sandbox", "--auto-approve", "examples/first.yaml"]
    first = subprocess.run(args, cwd=work, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Created workspace" in first.stdout
    assert "Apply complete:" in first.stdout
    assert "Verified: the workspace matches the manifest." in first.stdout
    # The sandbox persisted: running it again finds nothing to do.
    again = subprocess.run(args, cwd=work, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes." in again.stdout
    assert (work / ".kxplan" / "sandbox.db").is_file()
