"""Tests of the ingest service."""
