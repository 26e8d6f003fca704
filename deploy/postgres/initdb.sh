#!/bin/sh
# Run by the postgres image once, when its volume is initialised (/docker-entrypoint-initdb.d):
# creates the roles the newsflow services connect as (see roles.sql). An existing volume keeps its
# roles; docs/operations.md ("Security") says how to add them to one created before this script.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v writer_role=newsflow_writer -v writer_password="$POSTGRES_WRITER_PASSWORD" \
  -v api_role=newsflow_api -v api_password="$POSTGRES_API_PASSWORD" \
  -f /etc/newsflow/roles.sql
