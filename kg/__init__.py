"""Alatau KG: the knowledge graph library (store, reasoning, validation, build, CLI).

No web framework is imported here; ``server/`` builds on this package, never the reverse.
"""

__version__ = "0.1.0"
