"""My work: what is due for the caller across every young adult they may see, and the plan actions they or their
service own, in one list, overdue first."""
