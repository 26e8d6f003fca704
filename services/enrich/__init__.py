"""The enrich service: links reprints to their original and tags named entities.

Consumes ``news.raw.v1`` and publishes one ``news.enriched.v1`` event per article. ``main`` only
wires things together; :class:`services.enrich.enricher.Enricher` does the work and is usable
without Kafka. ``dedupe/`` owns reprint detection (its durable index lives in Postgres schema
``enrich``); ``entities/`` owns named-entity tagging and canonical names.
"""
