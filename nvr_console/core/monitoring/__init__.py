"""Monitoring: Prometheus metrics, built-in alert rules and their channels, health checks.

Everything here hangs off the engine's public plain-data signals (core.status) and the database, never
off engine internals, so the engine's hot path carries no monitoring work beyond a few dict updates.
"""
