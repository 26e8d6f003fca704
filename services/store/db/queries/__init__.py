"""The read API's queries, one module per resource; they return rows, the API formats them."""
