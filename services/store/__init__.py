"""The store service: persists enriched articles and dead letters to Postgres and serves the read API."""
