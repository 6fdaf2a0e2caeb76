"""Meetings around a young adult: integrated planning, three-way, pre-release, review; attendees and outcome."""
