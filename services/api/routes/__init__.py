"""One router module per resource of the read API."""
