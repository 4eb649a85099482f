"""Thin interfaces over the services: CLI, HTTP API and pages, Diameter S13."""
