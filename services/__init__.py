"""newsflow's services (ingest, enrich, store) and the process tooling that runs them."""
