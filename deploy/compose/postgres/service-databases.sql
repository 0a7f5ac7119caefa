-- Run once by the postgres image when the node's data volume is new
-- (/docker-entrypoint-initdb.d). Each service owns its own database; the services apply their
-- own schema migrations (PUHUI_MIGRATE_ON_START, or `puhui migrate <service>`).
CREATE DATABASE identity OWNER puhui;
CREATE DATABASE catalog OWNER puhui;
CREATE DATABASE data OWNER puhui;
CREATE DATABASE feedback OWNER puhui;
-- The federation service's (hub only; an unused empty database on a province).
CREATE DATABASE federation OWNER puhui;
\connect catalog
CREATE EXTENSION IF NOT EXISTS pg_trgm;
\connect data
CREATE EXTENSION IF NOT EXISTS pg_trgm;
