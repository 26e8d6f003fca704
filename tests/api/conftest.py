"""The read API tests' own fixtures: the generated archive of the count routes' tests, and its larger
version with a small sample size for the sampled counts (facets, related)."""

from tests.api.counts_archive import generated_client, generated_database_url, larger_database_url, sampling_client

__all__ = ["generated_client", "generated_database_url", "larger_database_url", "sampling_client"]
