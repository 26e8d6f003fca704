"""The store's database layer: models (the schema), writes (the consumer's upserts), queries (the API's reads)."""
