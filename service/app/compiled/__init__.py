"""Compiled trusted documents: a published operation planned once into one SQL statement that builds the whole
response in PostgreSQL, which the service passes through without re-encoding.

Why: a caseload page is thousands of fields; resolving each through strawberry costs far more CPU than the
database spends building the same JSON. Only documents made wholly of fields with declared SQL (service/api/model.py)
compile; anything else (need-to-know fields, fields without SQL, directives, unknown variables) falls back to
the ordinary executor, which stays the reference: a test checks both give the same answer for every compiled
document. Visibility and auditing are inside the statement, so every rule stays exactly as strict.
"""
