"""Routes about the service itself: ``/-/health``, ``/-/version``."""
