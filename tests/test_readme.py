"""The README is what a new user reads first: current, and with the two set-up commands."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _assemble() -> str:
    spec = importlib.util.spec_from_file_location("assemble", ROOT / "docs" / "assemble_readme.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text: str = module.assemble()
    return text


def test_readme_is_assembled_from_the_current_docs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == _assemble(), "README.md is stale: run `python docs/assemble_readme.py`"


def test_readme_holds_the_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install . && kxplan apply --sandbox --auto-approve examples/first.yaml" in readme
    assert "pip install '.[test]' && python -m pytest -n auto" in readme
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest -p no:cacheprovider -n auto" in ci
