"""What readers get: resource descriptions, RDF documents, languages, labels, search, the catalog
(VoID/DCAT, dumps).
"""
