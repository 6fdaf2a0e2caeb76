"""Declarations (service/api/model.py) of the meetings part of a young adult's record: meetings (audited as
consulted) and who attended. A network member attending is shown, and recorded, as wherever else one is."""

from __future__ import annotations

from service.api.model import Consulted, Many, One, TypeModel, cols, global_id

MODELS = (
    TypeModel("Meeting", "meeting", {
        "id": global_id("Meeting"),
        **cols(version="version", kind="kind", heldOn="held_on", outcome="outcome",
               youngAdultAttended="young_adult_attended"),
        "attendees": Many("MeetingAttendee", "{c}.meeting_id = {p}.id", "{c}.id"),
        # nothing in the database ties the version, or an attending member, to the meeting's young adult
        "agreedPlanVersion": One("PlanVersion", "{c}.id = {p}.agreed_plan_version_id", leaves_record=True),
    }, consulted=Consulted("{t}.young_adult_id")),
    TypeModel("MeetingAttendee", "meeting_attendee", {
        "practitioner": One("Practitioner", "{c}.id = {p}.practitioner_id"),
        "networkMember": One("NetworkMember", "{c}.id = {p}.network_member_id", leaves_record=True),
    }),
)
