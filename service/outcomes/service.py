"""Rules for outcome check-ins (DESIGN §4, §5 "outcome time points").

A check-in belongs to the young adult's latest custody episode and needs its release recorded: the time points
are counted from the release day (RELEASE_DAY, MONTH_3, MONTH_6, MONTH_12). Each time point is recorded once per
episode. The observation date is never in the future, never before the release, and never earlier than the time
point minus the site's ``due_soon_days`` (the day the OUTCOME_CHECK_IN due item shows as due soon): a +6-month
check-in cannot be recorded a week after release. A recorded check-in completes that due item and is what the
national outcome metrics count (service.reporting.compute, Family.OUTCOME).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import asyncpg

from service.kernel.audit import AuditAction, AuditEvent
from service.kernel.domain import Accommodation, values
from service.kernel.errors import Conflict, InvalidInput
from service.kernel.visibility import Actor
from service.outcomes import repository
from service.people.service import require_young_adult
from service.rules.due import OUTCOME_MONTHS, add_months
from service.rules.service import rules_for_young_adult

ACCOMMODATION = values(Accommodation)
MAX_CONTACTS = 1000  # contacts in 30 days: more than this is a typing error, not a network


def check_values(values: dict[str, Any]) -> dict[str, Any]:
    """The observed values, checked; at least one must be given."""
    given = {k: v for k, v in values.items() if k in repository.VALUES and v is not None}
    if not given:
        raise InvalidInput("Record at least one of accommodation, inEducationTrainingEmployment, recalled and "
                           "networkContactsLast30Days.", field="accommodation")
    if "accommodation" in given and given["accommodation"] not in ACCOMMODATION:
        raise InvalidInput(f"accommodation must be one of {', '.join(ACCOMMODATION)}.", field="accommodation")
    contacts = given.get("network_contacts_last_30_days")
    if contacts is not None and not 0 <= contacts <= MAX_CONTACTS:
        raise InvalidInput(f"networkContactsLast30Days must be between 0 and {MAX_CONTACTS}.",
                           field="network_contacts_last_30_days")
    return given


async def record_check_in(actor: Actor, young_adult_id: uuid.UUID | None, time_point: str, observed_on: date,
                          values: dict[str, Any], today: date) -> asyncpg.Record:
    young_adult_id = await require_young_adult(actor, young_adult_id)
    if time_point not in OUTCOME_MONTHS:
        raise InvalidInput(f"timePoint must be one of {', '.join(OUTCOME_MONTHS)}.", field="timePoint")
    given = check_values(values)
    if observed_on > today:
        raise InvalidInput("observedOn cannot be in the future.", field="observedOn")
    episode = await repository.latest_episode(actor.session, young_adult_id)
    released: date | None = None if episode is None else episode["actual_release_date"]
    if episode is None or released is None or released > today:
        raise InvalidInput("Outcome check-ins are counted from a release: record the release of the young adult's "
                           "custody episode first.", field="timePoint")
    if observed_on < released:
        raise InvalidInput("observedOn cannot be before the release.", field="observedOn")
    soon = int((await rules_for_young_adult(actor.session, young_adult_id, today))["due_soon_days"])
    opens = add_months(released, OUTCOME_MONTHS[time_point]) - timedelta(days=soon)
    if observed_on < opens:
        raise InvalidInput(f"A {time_point} check-in can be recorded from {opens.isoformat()} ({soon} days before "
                           "the time point); observedOn is earlier.", field="observedOn")
    row = await repository.insert_check_in(actor.session, young_adult_id, episode["id"], time_point, observed_on,
                                           given)
    if row is None:
        raise Conflict(f"The {time_point} check-in of this release is already recorded.", field="timePoint")
    await actor.audit([AuditEvent(AuditAction.CREATE, "OutcomeCheckIn", row["id"], young_adult_id,
                                  ("observed_on", "time_point", *sorted(given)))])
    return row
