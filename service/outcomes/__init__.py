"""Outcome check-ins: what became of the young adult at release day, +3, +6 and +12 months after release."""
