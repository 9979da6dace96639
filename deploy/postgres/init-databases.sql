-- One database per service, each owned by its own login role, so no service can
-- read another's tables (DESIGN.md §4). The official postgres image runs this
-- once, when it starts on an empty data volume (/docker-entrypoint-initdb.d),
-- with ON_ERROR_STOP: a missing password variable leaves `:'...'` unexpanded,
-- the statement fails and the container stops instead of running half set up.
--
-- The passwords come from the postgres container's environment (docker-compose.yml
-- passes AUTH_DB_PASSWORD, BILLING_DB_PASSWORD, INVOICING_DB_PASSWORD), and each
-- service's TOLLGATE_<SERVICE>_DATABASE_URL logs in with the matching role.
-- Changing a password later is ALTER ROLE, not this file: it never runs again.

\getenv auth_password AUTH_DB_PASSWORD
\getenv billing_password BILLING_DB_PASSWORD
\getenv invoicing_password INVOICING_DB_PASSWORD

CREATE ROLE tollgate_auth LOGIN PASSWORD :'auth_password';
CREATE DATABASE tollgate_auth OWNER tollgate_auth;
REVOKE ALL ON DATABASE tollgate_auth FROM PUBLIC;

CREATE ROLE tollgate_billing LOGIN PASSWORD :'billing_password';
CREATE DATABASE tollgate_billing OWNER tollgate_billing;
REVOKE ALL ON DATABASE tollgate_billing FROM PUBLIC;

CREATE ROLE tollgate_invoicing LOGIN PASSWORD :'invoicing_password';
CREATE DATABASE tollgate_invoicing OWNER tollgate_invoicing;
REVOKE ALL ON DATABASE tollgate_invoicing FROM PUBLIC;
