"""Alatau KG: the knowledge graph library. No web framework is imported here.

    build        load the sources, reason, validate, write the store (and replay the change log)
    publish      what readers get: descriptions, documents, languages, labels, search, the catalog
    changes      guarded writes: the writer, the change log, durable stores, tokens
    checks       OWL 2 RL reasoning, SHACL validation (pySHACL and compiled to SPARQL), the guard
    engine       where SPARQL runs: the one HTTP client, the supervised Oxigraph server, in-process
    rdf          names and namespaces, formats, parsing, terms, IRIs, SPARQL text
    config       settings, built once;  errors: the library's error tree

Each subsystem imports only those below it (import-linter checks this in ``make lint``); ``server/``
builds on this package, never the reverse.
"""

__version__ = "0.1.0"
