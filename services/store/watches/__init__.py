"""Watches: saved searches matched once against each newly stored article, the feed ``GET /stream``
serves, the webhook outbox and its deliverer, and breaking-story detection."""
