"""kxplan: a declarative reconciler for Kantata OX project task plans.

Manifests (YAML) are loaded into *desired* objects, the workspace is read into *live*
objects, `build_plan` compares them into a `Plan`, and `apply_plan` executes it.
"""

__version__ = "0.1.0"
