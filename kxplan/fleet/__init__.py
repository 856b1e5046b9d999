"""Fleets: one template planned and applied in many workspaces in one run (docs/fleet.md).

command.py  `kxplan plan|apply` of a fleet manifest or a saved fleet plan
runner.py   the per-workspace steps (plan, gate, apply, verify), each isolated
reads.py    SharedReads: the ONE object of a run every workspace reads through
report.py   sections, the aggregate table, and the fleet JSON document
"""
