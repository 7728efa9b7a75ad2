"""The REST API under /api, plus /healthz."""
