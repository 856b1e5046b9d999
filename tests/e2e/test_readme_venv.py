"""The README's two commands, in a fresh virtualenv, from a directory with nothing in it:
`pip install . && kxplan apply --sandbox --auto-approve examples/first.yaml`."""

from __future__ import annotations

import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _share_site_packages(venv: Path) -> None:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    target = venv / "lib" / version / "site-packages" / "_outer_site.pth"
    target.write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_pip_install_then_apply_the_first_example_on_the_sandbox(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # The running interpreter's packages provide the dependencies (tests run without a
    # registry): a .pth file adds its site-packages, which works whether that interpreter is
    # itself a virtualenv (CI) or not. kxplan itself is installed from the checkout.
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    _share_site_packages(venv)
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
