"""Pages for people: home, resources, the ontology, search, the query page, charts."""
