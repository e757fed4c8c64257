-- Runs once, when the Postgres data directory is first created (docker-entrypoint-initdb.d).
-- The services also create the database if it is missing; this keeps a fresh volume
-- ready before the first service connects. Each service migrates its own schema in it.
CREATE DATABASE pragma;
