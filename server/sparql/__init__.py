"""The SPARQL 1.1 Protocol query operation (``/sparql``) and the service description."""
