"""Custody episodes and key dates: sentence dates, the derived earliest release date, release, licence, recalls."""
