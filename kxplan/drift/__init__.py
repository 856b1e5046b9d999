"""`kxplan drift`: where Kantata no longer matches the manifest, and where each difference
comes from (docs/drift.md).

    report.py  what is reported, and comparing one workspace (pure)
    run.py     the reads: plan's, then who set each drifted status (story state changes)
    render.py  text, JSON (schemas/drift.schema.json) and Markdown
"""

from kxplan.drift.render import drift_document, render_drift
from kxplan.drift.report import (
    DriftReport,
    FieldDrift,
    ItemDrift,
    ObjectDrift,
    TaskDrift,
    WorkspaceDrift,
    compare_workspace,
    workspace_origins,
)
from kxplan.drift.run import drift_of, with_histories

__all__ = [
    "DriftReport",
    "FieldDrift",
    "ItemDrift",
    "ObjectDrift",
    "TaskDrift",
    "WorkspaceDrift",
    "compare_workspace",
    "drift_document",
    "drift_of",
    "render_drift",
    "with_histories",
    "workspace_origins",
]
