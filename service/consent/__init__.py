"""Consent of young adults and network members, by purpose, granted and withdrawn with dates."""
