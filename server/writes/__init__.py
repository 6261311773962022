"""Guarded writes over HTTP: SPARQL Update, the Graph Store Protocol, ``/validate``, ``/changes``."""
