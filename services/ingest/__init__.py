"""The ingest service: watches the inbox, understands news files, publishes ``news.raw.v1`` events.

``parsing/`` turns bytes into articles (pure functions, no I/O); the other modules own the
folder (readiness, claims, moving files), publishing and metrics; ``main`` wires them together.
"""
