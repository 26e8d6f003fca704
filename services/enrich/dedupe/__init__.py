"""Reprint detection: text normalisation, fingerprints, the match rule and the durable index."""
