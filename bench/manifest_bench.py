"""Manifest load benchmark: CPU time of `load_manifest` for 1,000- and 10,000-task manifests
(5 levels, tags and a 2-item checklist per task, as in apply_bench), split by stage.

    python bench/manifest_bench.py [--tasks 1000 10000] [--repeat 3]

Prints the best of `--repeat` runs per size; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from apply_bench import tree_manifest  # noqa: E402

from kxplan._runtime import gc_paused  # noqa: E402
from kxplan.manifest import load_manifest  # noqa: E402
from kxplan.manifest.build import build_manifest  # noqa: E402
from kxplan.manifest.checks import check_manifest  # noqa: E402
from kxplan.manifest.schema import check_schema, schema_passes  # noqa: E402
from kxplan.manifest.vars import resolve_vars, substitute_document  # noqa: E402
from kxplan.manifest.yaml_loader import read_document  # noqa: E402


def cpu(run: Callable[[], Any]) -> tuple[float, Any]:
    start = time.process_time()
    result = run()
    return time.process_time() - start, result


def stages(path: Path) -> dict[str, float]:
    """CPU seconds of each loading stage (garbage collector paused, as load_manifest does)."""
    with gc_paused():
        took: dict[str, float] = {}
        took["yaml"], (doc, _) = cpu(lambda: read_document(path))
        took["vars"], (values, data) = cpu(lambda: _substitute(doc))
        doc = doc.with_data(data)
        took["schema"], _ = cpu(lambda: check_schema(doc))
        took["build"], built = cpu(lambda: build_manifest(doc, values))
        took["checks"], _ = cpu(lambda: check_manifest(built))
        return took


def _substitute(doc: Any) -> tuple[Any, Any]:
    values, _ = resolve_vars(doc, {})
    data, _ = substitute_document(doc, values)
    return values, data


def measure(total: int, workdir: Path, repeat: int) -> dict[str, Any]:
    path = workdir / f"tree-{total}.yaml"
    path.write_text(yaml.safe_dump(tree_manifest(total), sort_keys=False), encoding="utf-8")
    best = min(cpu(lambda: load_manifest(path))[0] for _ in range(repeat))
    split = [stages(path) for _ in range(repeat)]
    return {
        "tasks": total,
        "load_cpu_seconds": round(best, 3),
        "stages": {k: round(min(s[k] for s in split), 3) for k in split[0]},
        "schema_fast_path": schema_passes["fast"] > 0 and schema_passes["full"] == 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for total in args.tasks:
            print("load manifest:", json.dumps(measure(total, Path(tmp), args.repeat)))


if __name__ == "__main__":
    main()
