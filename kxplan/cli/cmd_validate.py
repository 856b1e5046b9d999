"""`kxplan validate` (being built)."""

from __future__ import annotations
