"""The read API (FastAPI): app factory, one router per resource, shared dependencies and error handling."""
