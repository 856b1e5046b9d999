"""What tests share, in one place: `from tests.support import kxplan, TOKEN, api, ...`.

Fixtures stay in conftest.py files (tests/conftest.py: `sandbox`, `make_sandbox`,
`sandbox_workspace`, `connect`, `seed_workspace`, `stack`); this package holds plain functions
and constants, one module per concern:

- `cli`: run the CLI in-process (`kxplan` -> `Result`) or on a pseudo-terminal
  (`run_on_terminal`); write manifests (`write_manifest`, `tree`); read a workspace back with
  the API token tests use (`TOKEN`, `read`) and compare runs (`snapshot`, `duplicates`).
- `http`: raw HTTP on a sandbox (`api`, `create`, `ids`), and a client that loses POST
  answers after they commit (`LosesPostAnswers`).
- `events`: `--json` output read line by line and checked against schemas/events.schema.json
  (`events_of`, `of`, `event_validator`).
- `sandboxes`: sandboxes checked against the OpenAPI documents outside fixtures
  (`checked_sandbox`, `MakeSandbox`) and workspaces seeded through the model (`seed`,
  `story_items`, `SEED_STACK`).
- `builders`: the planner cases' compact dicts -> model values (`manifest_from`, `live_from`,
  `options_from`, `with_case_usage`).

A test module imports shared things from here, never from another test module
(tests/test_layout.py checks it).
"""

from tests.support.bench import bench_module
from tests.support.builders import live_from, manifest_from, options_from, with_case_usage
from tests.support.cli import (
    TOKEN,
    Result,
    duplicates,
    kxplan,
    read,
    run_on_terminal,
    snapshot,
    tree,
    write_manifest,
)
from tests.support.http import LosesPostAnswers, api, create, ids
from tests.support.sandboxes import (
    SEED_STACK,
    MakeSandbox,
    Seed,
    checked,
    checked_sandbox,
    fail_on,
    seed,
    story_items,
)

__all__ = [
    "SEED_STACK",
    "TOKEN",
    "LosesPostAnswers",
    "MakeSandbox",
    "Result",
    "Seed",
    "api",
    "bench_module",
    "checked",
    "checked_sandbox",
    "create",
    "duplicates",
    "fail_on",
    "ids",
    "kxplan",
    "live_from",
    "manifest_from",
    "options_from",
    "read",
    "run_on_terminal",
    "seed",
    "snapshot",
    "story_items",
    "tree",
    "with_case_usage",
    "write_manifest",
]
