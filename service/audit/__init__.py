"""The append-only audit trail: every view of a young adult's record and every change, kept in the tenant."""
