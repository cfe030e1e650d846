"""Several nodes on one database: node registry, camera leases with fencing tokens, placement, handover.

Design: docs/fleet.md. Every function here runs on the calling thread with its own short sessions
(the fleet thread of an engine, a CLI command, a test); none keeps a session or an ORM object.
"""
