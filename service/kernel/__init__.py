"""The kernel: what every layer may use and that uses nothing above it — errors, ids, settings, telemetry,
the principal, tenancy (SET LOCAL ROLE), the request's sessions and unit of work, visibility and the audit trail."""
