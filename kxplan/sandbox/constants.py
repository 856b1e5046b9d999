"""The sandbox's fixed vocabularies and limits, each named once (docs/sandbox.md, "Fidelity")."""

from __future__ import annotations

#: Stories one POST /stories may create (`{"stories": [...]}`); also the chunk size of
#: `SandboxModel.create_stories`.
MAX_BULK = 300
MAX_DEPTH = 4  # levels below a top-level task
FIRST_POSITION = 100_000_000
POSITION_STEP = 10_000  # between siblings; which end a new one takes: `new_siblings`
MAX_TITLE = 255
MAX_DESCRIPTION = 1000
#: Longest post message (assumed: Kantata documents no limit; docs/sandbox.md, "Posts").
MAX_MESSAGE = 10_000
#: Posts one POST /posts may create (`{"posts": [...]}`; documented: up to 100).
MAX_BULK_POSTS = 100
MAX_SETS = 50  # task status sets per account

#: The four status categories (a story's `state`), in Kantata's order.
CATEGORIES = ("not started", "started", "needs info", "completed")
STORY_TYPES = ("task", "deliverable", "milestone", "issue")
PRIORITIES = ("low", "normal", "high", "critical")
ISSUE_STATES = (
    "new",
    "reopened",
    "in progress",
    "blocked",
    "fixed",
    "duplicate",
    "can't repro",
    "resolved",
    "won't fix",
)
REFERENCE_STATUSES = ("pending", "successful", "failed")
# The OpenAPI documents `maven`/`consultant` (provider team) and `buyer`/`client`; which
# ones a server takes is the `creator_role` variant: its answer -> (accepted, default when
# missing; None: required).
CREATOR_ROLES = ("maven", "buyer", "consultant", "client")
CREATOR_ROLE_RULES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "any": (CREATOR_ROLES, "maven"),
    "enum": (("client", "consultant"), "consultant"),
    "legacy": (("maven", "buyer"), None),
}
