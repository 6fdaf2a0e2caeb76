"""Platform administration: tenants and users' grants. Never touches case data."""
