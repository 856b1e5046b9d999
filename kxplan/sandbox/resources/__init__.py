"""The sandbox's rules, one module per resource (no HTTP): what each API call may do.

`kxplan.sandbox.models.SandboxModel` is the facade the handlers call; it holds one rules
object per resource below and delegates to them. Stories are split by concern:
`story_queries` (filtering, sorting, paging: the SQL), `story_drafts` (validating a
write), `story_progress` (status, state and percentage rules), `story_writes` (create,
update, delete), `story_tree` (positions, nesting and subtree counts).
"""
