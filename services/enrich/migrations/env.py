"""Alembic environment for the enrich service's schema (run by ``shared.db.run_migrations``)."""

import services.enrich.stories.schema  # noqa: F401  (registers the story tables on the metadata)
from services.enrich.dedupe.schema import metadata
from shared.db import run_alembic_env

run_alembic_env(metadata)
