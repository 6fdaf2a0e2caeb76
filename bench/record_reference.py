"""The hand-written reference for `YoungAdultRecord` (graphql/operations/practitioners/YoungAdultRecord.graphql):
one SQL statement whose JSON PostgreSQL builds, the same shape as our answer's `data` for the same young adult.
No authentication, visibility, tenancy switch or audit: the floor to compare to. Served by bench/reference_app.py
(POST /record) and checked against our API by tests/api/test_record_reference.py.

Left out of both sides (the reference and the comparison), because they need the practice rules in force (Python):
`PlanVersion.requiredServices` and `PlanVersion.missingServices` (see EXCLUDED). The benchmark still sends the
published operation to our service, so ours computes those two fields on top of what the reference does."""

from typing import Any

EXCLUDED = ("requiredServices", "missingServices")  # PlanVersion fields absent from the reference's JSON


def without(value: Any, names: tuple[str, ...] = EXCLUDED) -> Any:
    """``value`` with the fields ``names`` removed at every depth: our answer made comparable with the reference's."""
    if isinstance(value, dict):
        return {k: without(v, names) for k, v in value.items() if k not in names}
    if isinstance(value, list):
        return [without(v, names) for v in value]
    return value


def gid(type_name: str, column: str) -> str:
    """The global-id encoding, spelt out (tests/api/test_global_id_sql.py checks it equals the Python one)."""
    return f"translate(encode(convert_to('{type_name}:' || {column}, 'UTF8'), 'base64'), E'+/\\n', '-_')"


def ts(column: str) -> str:
    """A timestamptz as Python's isoformat() writes it in UTC: six fractional digits, none when they are zero."""
    return (f"CASE WHEN {column} IS NULL THEN NULL WHEN extract(microseconds FROM {column})::bigint % 1000000 = 0 "
            f"THEN to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"') "
            f"ELSE to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"') END")


def person(alias: str, *extra: str) -> str:
    fields = ", ".join(f"'{f}', {alias}.{c}" for f, c in (("givenName", "given_name"), ("familyName", "family_name"),
                                                        *(e.split("=") for e in extra)))
    return f"json_build_object('id', {gid('Practitioner', alias + '.id')}, {fields})"


def plan_version(alias: str) -> str:
    """The PlanVersionContent fragment for the plan_version row `alias` (requiredServices/missingServices excluded)."""
    return f"""json_build_object(
        'id', {gid('PlanVersion', alias + '.id')}, 'number', {alias}.number, 'status', {alias}.status,
        'version', {alias}.version, 'agreedAt', {ts(alias + '.agreed_at')},
        'signoffs', coalesce((SELECT json_agg(json_build_object(
            'service', s.service, 'signedAt', {ts('s.signed_at')},
            'practitioner', (SELECT {person('sp')} FROM practitioner sp WHERE sp.id = s.practitioner_id))
          ORDER BY s.signed_at, s.service) FROM plan_signoff s WHERE s.plan_version_id = {alias}.id), '[]'::json),
        'goals', coalesce((SELECT json_agg(json_build_object(
            'id', {gid('PlanGoal', 'g.id')}, 'lineageId', g.lineage_id, 'version', g.version, 'pathway', g.pathway,
            'description', g.description, 'position', g.position,
            'actions', coalesce((SELECT json_agg(json_build_object(
                'id', {gid('PlanAction', 'a.id')}, 'lineageId', a.lineage_id, 'version', a.version,
                'description', a.description, 'ownerService', a.owner_service, 'dueOn', a.due_on,
                'status', a.status, 'position', a.position,
                'owner', (SELECT {person('ap')} FROM practitioner ap WHERE ap.id = a.owner_id))
              ORDER BY a.position, a.created_at) FROM plan_action a WHERE a.plan_goal_id = g.id), '[]'::json))
          ORDER BY g.position, g.created_at) FROM plan_goal g WHERE g.plan_version_id = {alias}.id), '[]'::json))"""


TIMELINE = """
  SELECT e.identified_on, e.created_at, 0, 'ENROLMENT_IDENTIFIED', 'Enrolment', e.id, s.code
    FROM enrolment e JOIN site s ON s.id = e.site_id WHERE e.young_adult_id = ya.id
  UNION ALL SELECT h.changed_on, h.created_at, 1, 'ENROLMENT_STATUS_CHANGED', 'Enrolment', e.id, h.status
    FROM enrolment_status_change h JOIN enrolment e ON e.id = h.enrolment_id WHERE e.young_adult_id = ya.id
  UNION ALL SELECT t.started_on, t.created_at, 2, 'TEAM_MEMBER_JOINED', 'TeamMember', t.id, t.team_role
    FROM team_member t WHERE t.young_adult_id = ya.id
  UNION ALL SELECT t.ended_on, t.updated_at, 3, 'TEAM_MEMBER_LEFT', 'TeamMember', t.id, t.team_role
    FROM team_member t WHERE t.young_adult_id = ya.id AND t.ended_on IS NOT NULL
  UNION ALL SELECT c.reception_date, c.created_at, 4, 'CUSTODY_RECEPTION', 'CustodyEpisode', c.id, c.sentence_type
    FROM custody_episode c WHERE c.young_adult_id = ya.id
  UNION ALL SELECT c.actual_release_date, c.updated_at, 5, 'RELEASED', 'CustodyEpisode', c.id, c.release_type
    FROM custody_episode c WHERE c.young_adult_id = ya.id AND c.actual_release_date IS NOT NULL
  UNION ALL SELECT r.recalled_on, r.created_at, 6, 'RECALLED', 'CustodyEpisode', c.id, NULL
    FROM recall_event r JOIN custody_episode c ON c.id = r.custody_episode_id WHERE c.young_adult_id = ya.id
  UNION ALL SELECT a.assessed_on, a.created_at, 7, 'ASSESSMENT_RECORDED', 'Assessment', a.id, a.source
    FROM assessment a WHERE a.young_adult_id = ya.id
  UNION ALL SELECT v.created_at::date, v.created_at, 8, 'PLAN_VERSION_STARTED', 'PlanVersion', v.id, v.number::text
    FROM plan_version v JOIN integrated_plan p ON p.id = v.plan_id WHERE p.young_adult_id = ya.id
  UNION ALL SELECT s.signed_at::date, s.signed_at, 9, 'PLAN_SIGNED_OFF', 'PlanVersion', v.id, s.service
    FROM plan_signoff s JOIN plan_version v ON v.id = s.plan_version_id JOIN integrated_plan p ON p.id = v.plan_id
    WHERE p.young_adult_id = ya.id
  UNION ALL SELECT v.agreed_at::date, v.agreed_at, 10, 'PLAN_AGREED', 'PlanVersion', v.id, v.number::text
    FROM plan_version v JOIN integrated_plan p ON p.id = v.plan_id
    WHERE p.young_adult_id = ya.id AND v.agreed_at IS NOT NULL
  UNION ALL SELECT m.held_on, m.created_at, 11, 'MEETING_HELD', 'Meeting', m.id, m.kind
    FROM meeting m WHERE m.young_adult_id = ya.id"""

# $1: the young adult's uuid. The session's search_path is the tenant's schema and its TimeZone is UTC.
SQL = f"""
SELECT json_build_object('data', json_build_object('youngAdult', (SELECT json_build_object(
  'id', {gid('YoungAdult', 'ya.id')}, 'version', ya.version, 'givenName', ya.given_name,
  'familyName', ya.family_name, 'dateOfBirth', ya.date_of_birth, 'prisonNumber', ya.prison_number,
  'probationCrn', ya.probation_crn, 'laReference', ya.la_reference, 'careStatus', ya.care_status,
  'responsibleLocalAuthority', ya.responsible_local_authority, 'entitlementEndAge', ya.entitlement_end_age,
  'entitlementEndDate', ya.entitlement_end_date, 'accessRestricted', ya.access_restricted,
  'enrolments', coalesce((SELECT json_agg(json_build_object(
      'id', {gid('Enrolment', 'e.id')}, 'version', e.version, 'status', e.status, 'identifiedOn', e.identified_on,
      'referredOn', e.referred_on, 'consentedOn', e.consented_on, 'exitedOn', e.exited_on,
      'exitReason', e.exit_reason,
      'site', (SELECT json_build_object('id', {gid('Site', 's.id')}, 'code', s.code, 'name', s.name, 'kind', s.kind)
               FROM site s WHERE s.id = e.site_id),
      'statusHistory', coalesce((SELECT json_agg(json_build_object(
          'status', h.status, 'changedOn', h.changed_on, 'reason', h.reason) ORDER BY h.changed_on, h.created_at, h.id)
        FROM enrolment_status_change h WHERE h.enrolment_id = e.id), '[]'::json))
    ORDER BY e.identified_on, e.created_at, e.id) FROM enrolment e WHERE e.young_adult_id = ya.id), '[]'::json),
  'team', coalesce((SELECT json_agg(json_build_object(
      'id', {gid('TeamMember', 't.id')}, 'version', t.version, 'role', t.team_role, 'startedOn', t.started_on,
      'endedOn', t.ended_on,
      'practitioner', (SELECT {person('tp', 'service=service', 'role=role')} FROM practitioner tp
                       WHERE tp.id = t.practitioner_id))
    ORDER BY t.started_on, t.created_at, t.id)
    FROM team_member t WHERE t.young_adult_id = ya.id AND t.ended_on IS NULL),
    '[]'::json),
  'custodyEpisodes', coalesce((SELECT json_agg(json_build_object(
      'id', {gid('CustodyEpisode', 'c.id')}, 'version', c.version, 'receptionDate', c.reception_date,
      'sentenceType', c.sentence_type, 'sentenceStart', c.sentence_start, 'crd', c.crd, 'ard', c.ard, 'ped', c.ped,
      'hdced', c.hdced, 'sed', c.sed, 'led', c.led, 'tused', c.tused, 'handoverDate', c.handover_date,
      'earliestReleaseDate', c.earliest_release_date, 'actualReleaseDate', c.actual_release_date,
      'releaseType', c.release_type,
      'prison', (SELECT json_build_object('id', {gid('Site', 's.id')}, 'code', s.code, 'name', s.name)
                 FROM site s WHERE s.id = c.prison_site_id),
      'licenceConditions', coalesce((SELECT json_agg(json_build_object(
          'description', l.description, 'startsOn', l.starts_on, 'endsOn', l.ends_on) ORDER BY l.created_at, l.id)
        FROM licence_condition l WHERE l.custody_episode_id = c.id), '[]'::json),
      'recalls', coalesce((SELECT json_agg(json_build_object(
          'recalledOn', r.recalled_on, 'returnedToCustodyOn', r.returned_to_custody_on, 'reason', r.reason)
          ORDER BY r.recalled_on, r.created_at, r.id) FROM recall_event r WHERE r.custody_episode_id = c.id),
        '[]'::json))
    ORDER BY c.reception_date DESC, c.created_at DESC, c.id) FROM custody_episode c WHERE c.young_adult_id = ya.id),
    '[]'::json),
  'assessments', coalesce((SELECT json_agg(json_build_object(
      'id', {gid('Assessment', 'a.id')}, 'source', a.source, 'assessedOn', a.assessed_on, 'summary', a.summary,
      'assessor', (SELECT {person('ap')} FROM practitioner ap WHERE ap.id = a.assessor_id),
      'needs', coalesce((SELECT json_agg(json_build_object('pathway', n.pathway, 'level', n.level, 'note', n.note)
                                         ORDER BY n.pathway) FROM assessment_need n WHERE n.assessment_id = a.id),
                        '[]'::json))
    ORDER BY a.assessed_on DESC, a.created_at DESC, a.id) FROM assessment a WHERE a.young_adult_id = ya.id),
    '[]'::json),
  'plan', (SELECT json_build_object(
      'id', {gid('IntegratedPlan', 'p.id')},
      'currentVersion', (SELECT {plan_version('cv')} FROM plan_version cv WHERE cv.plan_id = p.id
                         ORDER BY cv.status = 'DRAFT' DESC, cv.number DESC LIMIT 1),
      'agreedVersion', (SELECT {plan_version('av')} FROM plan_version av WHERE av.plan_id = p.id
                        AND av.status = 'AGREED' ORDER BY av.number DESC LIMIT 1))
    FROM integrated_plan p WHERE p.young_adult_id = ya.id),
  'meetings', coalesce((SELECT json_agg(json_build_object(
      'id', {gid('Meeting', 'm.id')}, 'version', m.version, 'kind', m.kind, 'heldOn', m.held_on,
      'outcome', m.outcome, 'youngAdultAttended', m.young_adult_attended,
      'attendees', coalesce((SELECT json_agg(json_build_object(
          'practitioner', (SELECT {person('xp', 'service=service')} FROM practitioner xp
                           WHERE xp.id = x.practitioner_id),
          'networkMember', (SELECT json_build_object('id', {gid('NetworkMember', 'nm.id')},
                                   'givenName', nm.given_name, 'familyName', nm.family_name,
                                   'relationship', nm.relationship)
                            FROM network_member nm WHERE nm.id = x.network_member_id)) ORDER BY x.id)
        FROM meeting_attendee x WHERE x.meeting_id = m.id), '[]'::json),
      'agreedPlanVersion', (SELECT json_build_object('id', {gid('PlanVersion', 'v.id')}, 'number', v.number,
                                                     'status', v.status)
                            FROM plan_version v WHERE v.id = m.agreed_plan_version_id))
    ORDER BY m.held_on, m.created_at, m.id) FROM meeting m WHERE m.young_adult_id = ya.id), '[]'::json),
  'timeline', coalesce((SELECT json_agg(json_build_object(
      'occurredOn', tl.occurred_on, 'kind', tl.kind,
      'subjectId', translate(encode(convert_to(tl.subject_type || ':' || tl.subject_id, 'UTF8'), 'base64'),
                             E'+/\\n', '-_'),
      'detail', tl.detail) ORDER BY tl.occurred_on, tl.recorded_at, tl.source, tl.subject_id, tl.detail)
    FROM ({TIMELINE}) AS tl (occurred_on, recorded_at, source, kind, subject_type, subject_id, detail)), '[]'::json))
  FROM young_adult ya WHERE ya.id = $1)))::text
"""
