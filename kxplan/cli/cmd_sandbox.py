"""`kxplan sandbox` (being built)."""

from __future__ import annotations
