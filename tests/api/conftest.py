"""The read API tests' own fixtures: the generated archive of the count routes' tests."""

from tests.api.counts_archive import generated_client, generated_database_url

__all__ = ["generated_client", "generated_database_url"]
