"""Tenant administration: a tenant's own administrators manage its sites, users and role grants."""
