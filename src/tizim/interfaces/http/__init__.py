"""The FastAPI application: JSON API, operator interfaces and (later) pages."""
