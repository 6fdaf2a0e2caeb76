"""Sites, practitioners, young adults and their enrolments."""
