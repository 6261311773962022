"""Checking the data: OWL 2 RL reasoning, SHACL validation and its report, the guard of a change."""
