"""Alembic environment for the store's schema: the shared runner, pointed at the store's models."""

from services.store.db.models import Base
from shared.db import run_alembic_env

run_alembic_env(Base.metadata)
