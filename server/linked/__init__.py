"""Linked data: every IRI dereferences (303 to a page or RDF), ``/data/…``, ``/dataset``, ``/dumps/``."""
