"""The tests' own layout, as docs/intro.md ("Layout") lists it: one folder per component of the
package, plus e2e/ and property/, and one home for what tests share (tests/support/).

A test file outside those folders, a folder the docs do not list (or a listed one that is gone),
or a test importing another test module instead of the shared helpers fails here, naming the file
and what to do.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
INTRO = ROOT / "docs" / "intro.md"

#: Folders of tests that are levels, not components of the package.
LEVELS = frozenset({"e2e", "property"})
#: The shared helpers (no tests in it).
SUPPORT = "support"
#: The only test files directly under tests/: checks of the repository as a whole.
TOP_LEVEL = frozenset(
    {"test_layout.py", "test_readme.py", "test_self_contained.py", "test_wheel.py"}
)

_DOC_FOLDER = re.compile(r"^tests/(\w+)/ ", re.M)
_DOC_PATH = re.compile(r"\btests/[\w./*-]*[\w*/]")


def documented_folders() -> set[str]:
    """The folders the layout block of docs/intro.md lists, one line each."""
    return set(_DOC_FOLDER.findall(INTRO.read_text(encoding="utf-8")))


def folders() -> set[str]:
    """The folders directly under tests/ that hold Python files."""
    return {p.parent.name for p in TESTS.glob("*/*.py") if p.parent.name != "__pycache__"}


def python_files() -> Iterator[Path]:
    yield from sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_test_file_sits_in_a_folder_of_the_layout() -> None:
    allowed = documented_folders() - {SUPPORT}
    misplaced = []
    for path in sorted(TESTS.rglob("test_*.py")):
        parts = path.relative_to(TESTS).parts
        if len(parts) == 1 and parts[0] in TOP_LEVEL:
            continue
        if len(parts) == 2 and parts[0] in allowed:
            continue
        misplaced.append(str(path.relative_to(ROOT)))
    assert not misplaced, (
        "move these test files into the folder of the component they test "
        f"(docs/intro.md lists them: {', '.join(sorted(allowed))}):\n" + "\n".join(misplaced)
    )


def test_the_docs_list_exactly_the_test_folders() -> None:
    documented, present = documented_folders(), folders()
    assert documented == present, (
        f"docs/intro.md lists {sorted(documented - present)} that tests/ lacks; "
        f"tests/ has {sorted(present - documented)} that docs/intro.md does not list"
    )


def test_component_folders_are_named_after_the_package() -> None:
    package = ROOT / "kxplan"
    strays = [
        name
        for name in sorted(folders() - LEVELS - {SUPPORT})
        if not (package / name).is_dir() and not (package / f"{name}.py").is_file()
    ]
    assert not strays, f"no kxplan/<name>/ or kxplan/<name>.py for tests/{strays}: rename them"


def test_every_test_folder_is_a_package() -> None:
    """So a test module imports as `tests.<folder>.<name>`, and two folders may hold one name."""
    wanted = [TESTS, *(TESTS / name for name in sorted(folders()))]
    missing = [str((d / "__init__.py").relative_to(ROOT)) for d in wanted]
    missing = [m for m in missing if not (ROOT / m).is_file()]
    assert not missing, "add " + ", ".join(missing)


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _imported(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative ones resolved."""
    package = _module(path).rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                names = [f"{base}.{node.module}"] if node.module else []
                names += [f"{base}.{a.name}" for a in node.names] if not node.module else []
            else:
                names = [str(node.module)]
                names += [f"{node.module}.{a.name}" for a in node.names]
            yield from ((node.lineno, name) for name in names)


def _test_module_names() -> set[str]:
    """What a file under tests/ could import by bare name through pytest's sys.path."""
    return ({p.stem for p in python_files()} | folders()) - set(sys.stdlib_module_names)


def _problem(path: Path, name: str) -> str | None:
    """Why importing `name` from `path` breaks the layout, or None."""
    parts = name.split(".")
    if parts[0] != "tests":
        if parts[0] in _test_module_names():
            return f"imports {parts[0]} through pytest's sys.path: import it from tests.support"
        return None
    target = TESTS.joinpath(*parts[1:]).with_suffix(".py")
    if not target.is_file():
        return None  # a package (tests.support) or a name inside a module
    if target.name == "conftest.py":
        return f"imports {name}: fixtures come as arguments, helpers from tests.support"
    if target.name.startswith("test_"):
        return f"imports the test module {name}: move what it shares into tests/support/"
    own = path.relative_to(TESTS).parts[0]
    theirs = target.relative_to(TESTS).parts[0]
    if own in (SUPPORT, "conftest.py") or theirs in (SUPPORT, own):
        return None  # the shared helpers and the fixtures may use a folder's helper
    return f"imports {name}, a helper of tests/{theirs}/: move it into tests/support/"


def test_tests_share_helpers_through_tests_support_only() -> None:
    problems = {
        f"{path.relative_to(ROOT)}:{line}: {why}": None
        for path in python_files()
        for line, name in _imported(path)
        if (why := _problem(path, name))
    }
    assert not problems, "\n".join(problems)


def test_every_tests_path_the_docs_name_exists() -> None:
    """Docs that point at a test file or data folder point at one that is there."""
    missing = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        for match in _DOC_PATH.finditer(page.read_text(encoding="utf-8")):
            if not any(ROOT.glob(match.group(0).rstrip("/"))):
                missing.append(f"{page.relative_to(ROOT)}: {match.group(0)}")
    assert not missing, "update these paths:\n" + "\n".join(missing)
