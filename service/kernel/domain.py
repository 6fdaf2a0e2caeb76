"""The programme's domain vocabularies, each defined once (DESIGN §4) and read by every feature, the GraphQL enums
(service.api.enums) and the validation of stored values. The services themselves are
:class:`service.kernel.principal.Service`."""

from __future__ import annotations

import enum


class SiteKind(enum.StrEnum):
    PRISON = "PRISON"
    PROBATION = "PROBATION"
    LEAVING_CARE = "LEAVING_CARE"
    LIFELONG_LINKS = "LIFELONG_LINKS"
    VCSE = "VCSE"


class Pathway(enum.StrEnum):
    """The seven resettlement pathways plans and assessments are organised under."""

    ACCOMMODATION = "ACCOMMODATION"
    EDUCATION_TRAINING_EMPLOYMENT = "EDUCATION_TRAINING_EMPLOYMENT"
    HEALTH = "HEALTH"
    DRUGS_ALCOHOL = "DRUGS_ALCOHOL"
    FINANCE_BENEFIT_DEBT = "FINANCE_BENEFIT_DEBT"
    CHILDREN_FAMILIES_COMMUNITIES = "CHILDREN_FAMILIES_COMMUNITIES"
    ATTITUDES_THINKING_BEHAVIOUR = "ATTITUDES_THINKING_BEHAVIOUR"


class OutcomeTimePoint(enum.StrEnum):
    """When an outcome check-in is due: the release day, or 3, 6 or 12 months after release (DESIGN §4)."""

    RELEASE_DAY = "RELEASE_DAY"
    MONTH_3 = "MONTH_3"
    MONTH_6 = "MONTH_6"
    MONTH_12 = "MONTH_12"

    @property
    def months(self) -> int:
        """Months after the release day."""
        return 0 if self is OutcomeTimePoint.RELEASE_DAY else int(self.value.removeprefix("MONTH_"))


class Accommodation(enum.StrEnum):
    """Where the young adult lives at an outcome check-in (UNKNOWN counts as not settled nationally)."""

    SETTLED = "SETTLED"
    TEMPORARY = "TEMPORARY"
    ROUGH_SLEEPING = "ROUGH_SLEEPING"
    CUSTODY = "CUSTODY"
    UNKNOWN = "UNKNOWN"


class TenantKind(enum.StrEnum):
    REGION = "REGION"
    COHORT = "COHORT"


def values(vocabulary: type[enum.StrEnum]) -> tuple[str, ...]:
    """The stored values of a vocabulary, in declaration order."""
    return tuple(member.value for member in vocabulary)
