-- The NOINHERIT login role request traffic uses (README, "How tenancy is enforced"), for the compose stack only.
-- `always-hope migrate` creates it when missing, but without a password, and this image's PostgreSQL accepts TCP
-- logins by password only (scram-sha-256). Creating it here first, with the password APP_DATABASE_URL in
-- compose.yaml carries, lets migrate find it and only grant what it needs. Runs once, on an empty data volume.
CREATE ROLE ah_app LOGIN NOINHERIT PASSWORD 'ah_app';
