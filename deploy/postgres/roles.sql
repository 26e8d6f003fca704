-- The compose stack's database roles (run once by initdb.sh, when the Postgres volume is created).
--
-- The stack's POSTGRES_USER owns the schema: only `migrate` connects as it. The services connect as
-- two roles that cannot change the schema or read other databases' secrets:
--   writer (enrich, store's consumers): reads and writes every table, creates nothing;
--   api    (the store's read API):      reads every table, writes nothing.
-- pg_read_all_data / pg_write_all_data (Postgres 14+) cover the tables that later migrations create.
--
-- psql variables: writer_role, writer_password, api_role, api_password.

-- Postgres 15+ already allows no one but the owner to create in the public schema; older ones do.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
CREATE ROLE :"writer_role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'writer_password';
GRANT pg_read_all_data, pg_write_all_data TO :"writer_role";
CREATE ROLE :"api_role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'api_password';
GRANT pg_read_all_data TO :"api_role";
