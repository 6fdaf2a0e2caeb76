"""Tenancy: the registry of tenants, provisioning, isolation by PostgreSQL roles, and the migration runner.

Every tenant is a PostgreSQL schema with two roles of its own:

* the *owner* role owns the schema and its tables; migrations run as it and nothing else ever does;
* the *runtime* role has row privileges only (and no UPDATE or DELETE on the audit trail); every request
  transaction runs as it, through ``SET LOCAL ROLE`` from the ``NOINHERIT`` application login role, which owns
  nothing and can read nothing of a tenant by itself.
"""
