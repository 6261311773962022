"""RDF itself: names and namespaces, formats, parsing, term conversion, IRIs, SPARQL as text."""
