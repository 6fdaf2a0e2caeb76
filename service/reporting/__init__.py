"""National aggregate reporting: metric catalogue, per-tenant rollups, disclosure control, API and dashboard."""
