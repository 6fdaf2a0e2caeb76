"""A young adult's record in full: details, enrolments and their status history, the team, the timeline, the
caseload."""
