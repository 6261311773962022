"""What every route shares: the request context, the one JSON error shape, negotiation, languages,
limits, CORS.
"""
