"""Guarded writes: plan a change, check it, commit it to a durable store, log it; tokens."""
