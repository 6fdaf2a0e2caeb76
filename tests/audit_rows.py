"""Reading the audit trail in tests as one row per event and subject type (as t0008 stored it): an event lists its
subjects with their types (subject_types, t0009), and what a test checks is usually which subjects of which type a
request recorded. ``by_type(schema)`` is a FROM item with the columns of audit_event, ``subject_type`` for
``subject_types``, and ``part`` (the position of the type's first subject in its event) to order by after ``id``."""

from __future__ import annotations


def by_type(schema: str) -> str:
    return (f'(SELECT e.id, e.occurred_at, e.actor_subject, e.actor_role, e.action, u.subject_type, '
            "array_agg(u.subject_id ORDER BY u.n) AS subject_ids, "
            "array_agg(u.young_adult_id ORDER BY u.n) AS young_adult_ids, e.fields, e.request_id, e.operation, "
            f'min(u.n) AS part FROM "{schema}".audit_event e, '
            "unnest(e.subject_ids, e.young_adult_ids, e.subject_types) WITH ORDINALITY "
            "AS u (subject_id, young_adult_id, subject_type, n) GROUP BY e.id, u.subject_type) AS audit_event")
