"""MeetingService: create, list, read, update, cancel/start/end, invite, join and leave.

Visibility: admins see every meeting; anyone else sees a meeting only if they host it or have a
participant record in it. A meeting one cannot see is "not found" (its existence is not leaked);
a visible meeting one may not change is "forbidden".
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.transactions import TransactWrite

from agents_meetings.audit import Actor, AuditLog
from agents_meetings.cache.entities import cached_meeting, cached_membership
from agents_meetings.clock import isoformat_z, to_utc, utcnow
from agents_meetings.conditions import is_condition_failure
from agents_meetings.errors import Conflict, Forbidden, InvalidRequest, NotFound, Unprocessable
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.events.publisher import EventPublisher
from agents_meetings.meetings.active import invalidate_active_meetings
from agents_meetings.meetings.livekit_access import RoomAccess, build_room_access
from agents_meetings.observability import emit_dimensioned
from agents_meetings.pagination import (
    Page,
    check_cursor_key,
    decode_cursor,
    encode_cursor,
    index_key_names,
    key_of,
    paginate,
)
from agents_meetings.tables import MeetingModel, ParticipantModel, UserModel, transaction_connection
from agents_meetings.users.service import AccountStatus, Role, UserService


class MeetingType(StrEnum):
    REGULAR = "regular"
    CLASSROOM = "classroom"


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    ENDED = "ended"
    CANCELLED = "cancelled"


class ParticipantStatus(StrEnum):
    INVITED = "invited"
    JOINED = "joined"
    LEFT = "left"


class MeetingRole(StrEnum):
    HOST = "host"
    ATTENDEE = "attendee"
    OBSERVER = "observer"  # an admin who joins a meeting they were not invited to


ORGANISER_ROLES = frozenset({Role.ADMIN.value, Role.TEACHER.value, Role.HOST.value})
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
MAX_LANGUAGES = 10
MAX_TAGS = 20
MAX_INVITES_PER_CALL = 100
# A join re-reads and retries when a concurrent request changed the participant first.
JOIN_ATTEMPTS = 5
# How far in the past a new meeting may be scheduled (clock skew between client and server).
SCHEDULE_GRACE = timedelta(minutes=5)


@dataclass(frozen=True)
class NewMeeting:
    title: str
    scheduled_at: datetime
    description: str | None = None
    meeting_type: MeetingType = MeetingType.REGULAR
    languages: list[str] = field(default_factory=lambda: ["en"])
    tags: list[str] = field(default_factory=list)
    auto_record: bool = False


@dataclass(frozen=True)
class MeetingChanges:
    title: str | None = None
    description: str | None = None
    scheduled_at: datetime | None = None
    languages: list[str] | None = None
    tags: list[str] | None = None
    auto_record: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class InviteResult:
    invited: list[str]
    already_invited: list[str]


@dataclass(frozen=True)
class JoinResult:
    participant: ParticipantModel
    access: RoomAccess


def normalise_languages(languages: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(code.strip() for code in languages))
    bad = [code for code in cleaned if not LANGUAGE_CODE.match(code)]
    if bad:
        raise Unprocessable(
            "Languages must be ISO 639 codes such as 'en', 'es' or 'pt-BR'.",
            code="invalid_language",
            details={"invalid": bad},
        )
    if not cleaned:
        raise Unprocessable("A meeting needs at least one language.", code="invalid_language")
    if len(cleaned) > MAX_LANGUAGES:
        raise Unprocessable(f"At most {MAX_LANGUAGES} languages per meeting.", code="too_many_languages")
    return cleaned


def normalise_tags(tags: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(tag.strip().lower() for tag in tags if tag.strip()))
    if len(cleaned) > MAX_TAGS:
        raise Unprocessable(f"At most {MAX_TAGS} tags per meeting.", code="too_many_tags")
    return cleaned


class MeetingService:
    def __init__(self, events: EventPublisher, audit: AuditLog | None = None):
        self._events = events
        self._audit = audit or AuditLog()

    # --- creation and reads ----------------------------------------------------------------

    def create(self, actor: Actor, new: NewMeeting) -> MeetingModel:
        if actor.role not in ORGANISER_ROLES:
            raise Forbidden("Only hosts, teachers and admins can create meetings.", code="organiser_required")
        now = utcnow()
        scheduled_at = to_utc(new.scheduled_at)
        if scheduled_at < now - SCHEDULE_GRACE:
            raise Unprocessable("scheduled_at is in the past.", code="scheduled_in_past")
        meeting_id = str(uuid.uuid4())
        meeting = MeetingModel(
            id=meeting_id,
            title=new.title.strip(),
            description=new.description,
            host_id=actor.user_id,
            meeting_type=new.meeting_type.value,
            status=MeetingStatus.SCHEDULED.value,
            scheduled_at=scheduled_at,
            languages=normalise_languages(new.languages),
            tags=normalise_tags(new.tags),
            room_name=f"meeting-{meeting_id}",
            auto_record=new.auto_record,
            created_at=now,
            updated_at=now,
            version=1,
        )
        host = ParticipantModel(
            meeting_id=meeting_id,
            user_id=actor.user_id,
            status=ParticipantStatus.INVITED.value,
            role=MeetingRole.HOST.value,
            language=meeting.languages[0],
            scheduled_at=scheduled_at,
            invited_by=actor.user_id,
            invited_at=now,
        )
        with TransactWrite(connection=transaction_connection()) as transaction:
            transaction.save(meeting, condition=MeetingModel.id.does_not_exist())
            transaction.save(host, condition=ParticipantModel.user_id.does_not_exist())
        self._audit.record(actor, "meeting.created", "meeting", meeting_id, {"title": meeting.title})
        self._events.publish(
            DomainEvent.MEETING_CREATED,
            {
                "meeting_id": meeting_id,
                "host_id": actor.user_id,
                "title": meeting.title,
                "scheduled_at": isoformat_z(scheduled_at),
                "meeting_type": meeting.meeting_type,
                "languages": meeting.languages,
                "auto_record": meeting.auto_record,
            },
        )
        emit_dimensioned(
            {"MeetingsCreated": ("Count", 1)}, {"meeting_type": str(meeting.meeting_type)}, {"meeting_id": meeting_id}
        )
        return meeting

    def get_visible(self, actor: Actor, meeting_id: str) -> MeetingModel:
        meeting = _load(meeting_id)
        if actor.is_admin or meeting.host_id == actor.user_id:
            return meeting
        if cached_membership(meeting_id, actor.user_id, lambda: _participant(meeting_id, actor.user_id) is not None):
            return meeting
        raise NotFound("Meeting not found.", code="meeting_not_found")

    def list_mine(
        self,
        actor: Actor,
        *,
        status: MeetingStatus | None,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        cursor: str | None,
    ) -> Page[MeetingModel]:
        """Meetings the actor hosts or was invited to, soonest first, through their history index."""
        key_names = index_key_names(ParticipantModel, "by_user")
        range_condition = _time_range(ParticipantModel.scheduled_at, start, end)
        cursor_key = check_cursor_key(decode_cursor(cursor), key_names)
        iterator = iter(
            ParticipantModel.by_user.query(
                actor.user_id, range_condition, last_evaluated_key=cursor_key, page_size=max(limit + 1, 25)
            )
        )
        results: list[tuple[ParticipantModel, MeetingModel]] = []
        chunk: list[ParticipantModel] = []
        exhausted = False
        while len(results) <= limit and not exhausted:
            chunk.clear()
            for participant in iterator:
                chunk.append(participant)
                if len(chunk) == 50:
                    break
            else:
                exhausted = True
            meetings = {m.id: m for m in MeetingModel.batch_get([p.meeting_id for p in chunk])} if chunk else {}
            for participant in chunk:
                meeting = meetings.get(participant.meeting_id)
                if meeting is not None and (status is None or meeting.status == status.value):
                    results.append((participant, meeting))
                    if len(results) > limit:
                        break
        if len(results) > limit:
            last_participant = results[limit - 1][0]
            return Page([m for _, m in results[:limit]], encode_cursor(key_of(last_participant, key_names)))
        return Page([m for _, m in results], None)

    def list_all(
        self,
        actor: Actor,
        *,
        status: MeetingStatus | None,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        cursor: str | None,
    ) -> Page[MeetingModel]:
        """Admin view through the status index; without a status, statuses are walked in order."""
        if not actor.is_admin:
            raise Forbidden("Listing every meeting needs the admin role.", code="admin_required")
        statuses = [status] if status else list(MeetingStatus)
        state = decode_cursor(cursor) or {"i": 0, "k": None}
        try:
            position, start_key = int(state["i"]), state.get("k")
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidRequest(
                "The cursor does not belong to this listing; start again without one.", code="invalid_cursor"
            ) from exc
        if not 0 <= position <= len(statuses) or not (start_key is None or isinstance(start_key, dict)):
            raise InvalidRequest(
                "The cursor does not belong to this listing; start again without one.", code="invalid_cursor"
            )
        key_names = index_key_names(MeetingModel, "by_status")
        range_condition = _time_range(MeetingModel.scheduled_at, start, end)
        items: list[MeetingModel] = []
        while position < len(statuses) and len(items) < limit:
            current = statuses[position].value

            def run(lek: dict[str, Any] | None, status_value: str = current) -> Any:
                return MeetingModel.by_status.query(status_value, range_condition, last_evaluated_key=lek)

            page, last = paginate(
                run,
                key_names=key_names,
                limit=limit - len(items),
                cursor_key=start_key,
            )
            items.extend(page)
            if last is not None:
                return Page(items, encode_cursor({"i": position, "k": last}))
            position, start_key = position + 1, None
        # The page filled exactly at the end of a status: only hand out a cursor if a later status
        # has a meeting in range, so that the last page never points at an empty one.
        while position < len(statuses) and not _has_any(statuses[position], range_condition):
            position += 1
        more = position < len(statuses)
        return Page(items, encode_cursor({"i": position, "k": None}) if more else None)

    # --- changes by the organiser -----------------------------------------------------------

    def update(self, actor: Actor, meeting_id: str, changes: MeetingChanges) -> MeetingModel:
        meeting = self._organised(actor, meeting_id)
        values = changes.as_dict()
        if not values:
            return meeting
        if meeting.status in (MeetingStatus.ENDED, MeetingStatus.CANCELLED):
            raise Conflict(f"A {meeting.status} meeting cannot be changed.", code="meeting_closed")
        if "scheduled_at" in values:
            if meeting.status != MeetingStatus.SCHEDULED:
                raise Conflict("Only a scheduled meeting can be rescheduled.", code="meeting_already_started")
            values["scheduled_at"] = to_utc(values["scheduled_at"])
            if values["scheduled_at"] < utcnow() - SCHEDULE_GRACE:
                raise Unprocessable("scheduled_at is in the past.", code="scheduled_in_past")
        if "languages" in values:
            values["languages"] = normalise_languages(values["languages"])
        if "tags" in values:
            values["tags"] = normalise_tags(values["tags"])
        if "title" in values:
            values["title"] = values["title"].strip()
        actions = [getattr(MeetingModel, name).set(value) for name, value in values.items()]
        self._versioned_update(meeting, actions)
        if "scheduled_at" in values:
            # Keep the denormalised copy in each participant's history in step.
            for participant in ParticipantModel.query(meeting_id):
                participant.update(actions=[ParticipantModel.scheduled_at.set(values["scheduled_at"])])
        self._audit.record(actor, "meeting.updated", "meeting", meeting_id, {"fields": sorted(values)})
        if meeting.status == MeetingStatus.ACTIVE:
            invalidate_active_meetings()
        self._publish_updated(meeting, sorted(values))
        return meeting

    def cancel(self, actor: Actor, meeting_id: str) -> MeetingModel:
        meeting = self._organised(actor, meeting_id)
        self._require_status(meeting, MeetingStatus.SCHEDULED, "cancel", hint={MeetingStatus.ACTIVE: "End it instead."})
        self._versioned_update(meeting, [MeetingModel.status.set(MeetingStatus.CANCELLED.value)])
        self._audit.record(actor, "meeting.cancelled", "meeting", meeting_id)
        self._publish_updated(meeting, ["status"], status=MeetingStatus.CANCELLED.value)
        return meeting

    def start(self, actor: Actor, meeting_id: str) -> MeetingModel:
        meeting = self._organised(actor, meeting_id)
        self._require_status(meeting, MeetingStatus.SCHEDULED, "start")
        now = utcnow()
        self._versioned_update(
            meeting, [MeetingModel.status.set(MeetingStatus.ACTIVE.value), MeetingModel.started_at.set(now)]
        )
        self._audit.record(actor, "meeting.started", "meeting", meeting_id)
        invalidate_active_meetings()
        self._events.publish(
            DomainEvent.MEETING_STARTED,
            {
                "meeting_id": meeting_id,
                "host_id": meeting.host_id,
                "room_name": meeting.room_name,
                "auto_record": meeting.auto_record,
                "languages": meeting.languages,
                "meeting_type": meeting.meeting_type,
                "started_at": isoformat_z(now),
            },
        )
        return meeting

    def end(self, actor: Actor, meeting_id: str) -> MeetingModel:
        meeting = self._organised(actor, meeting_id)
        self._require_status(
            meeting, MeetingStatus.ACTIVE, "end", hint={MeetingStatus.SCHEDULED: "It never started; cancel it instead."}
        )
        now = utcnow()
        self._versioned_update(
            meeting, [MeetingModel.status.set(MeetingStatus.ENDED.value), MeetingModel.ended_at.set(now)]
        )
        # Everyone still in the room leaves with the meeting.
        for participant in ParticipantModel.by_meeting_status.query(
            meeting_id, ParticipantModel.status == ParticipantStatus.JOINED.value
        ):
            self._mark_left(participant, now)
        self._audit.record(actor, "meeting.ended", "meeting", meeting_id)
        invalidate_active_meetings()
        self._events.publish(
            DomainEvent.MEETING_ENDED,
            {
                "meeting_id": meeting_id,
                "host_id": meeting.host_id,
                "started_at": isoformat_z(meeting.started_at),
                "ended_at": isoformat_z(now),
                "auto_record": meeting.auto_record,
            },
        )
        # An active meeting has its start; the duration is left out rather than made up without one.
        started = meeting.started_at
        duration = {"MeetingDuration": ("Seconds", max(0.0, (now - started).total_seconds()))} if started else {}
        emit_dimensioned(
            {"MeetingsCompleted": ("Count", 1), **duration},
            {"meeting_type": str(meeting.meeting_type)},
            {"meeting_id": meeting_id},
        )
        return meeting

    # --- participants -------------------------------------------------------------------

    def invite(self, actor: Actor, meeting_id: str, user_ids: list[str]) -> InviteResult:
        meeting = self._organised(actor, meeting_id)
        if meeting.status in (MeetingStatus.ENDED, MeetingStatus.CANCELLED):
            raise Conflict(f"Nobody can be invited to a {meeting.status} meeting.", code="meeting_closed")
        wanted = list(dict.fromkeys(user_ids))
        if not wanted:
            raise Unprocessable("user_ids must not be empty.", code="no_invitees")
        if len(wanted) > MAX_INVITES_PER_CALL:
            raise Unprocessable(f"At most {MAX_INVITES_PER_CALL} users per invitation.", code="too_many_invitees")
        users = UserService.get_many(wanted)
        unusable = [uid for uid in wanted if uid not in users or not _can_attend(users[uid])]
        if unusable:
            raise Unprocessable(
                "Some users do not exist or cannot attend meetings (pending, rejected or deactivated accounts).",
                code="invalid_invitees",
                details={"user_ids": unusable},
            )
        now = utcnow()
        invited, already = [], []
        for user_id in wanted:
            participant = ParticipantModel(
                meeting_id=meeting_id,
                user_id=user_id,
                status=ParticipantStatus.INVITED.value,
                role=MeetingRole.ATTENDEE.value,
                language=meeting.languages[0],
                scheduled_at=meeting.scheduled_at,
                invited_by=actor.user_id,
                invited_at=now,
            )
            try:
                participant.save(condition=ParticipantModel.user_id.does_not_exist())
                invited.append(user_id)
            except PutError as exc:
                if not is_condition_failure(exc):
                    raise
                already.append(user_id)
        if invited:
            self._audit.record(actor, "meeting.participants_invited", "meeting", meeting_id, {"user_ids": invited})
            self._publish_updated(meeting, ["participants"])
        return InviteResult(invited=invited, already_invited=already)

    def list_participants(
        self, actor: Actor, meeting_id: str, *, status: ParticipantStatus | None, limit: int, cursor: str | None
    ) -> Page[ParticipantModel]:
        self.get_visible(actor, meeting_id)
        if status is None:
            key_names = index_key_names(ParticipantModel)

            def run(lek: dict[str, Any] | None) -> Any:
                return ParticipantModel.query(meeting_id, last_evaluated_key=lek)
        else:
            key_names = index_key_names(ParticipantModel, "by_meeting_status")

            def run(lek: dict[str, Any] | None) -> Any:
                return ParticipantModel.by_meeting_status.query(
                    meeting_id, ParticipantModel.status == status.value, last_evaluated_key=lek
                )

        items, last = paginate(run, key_names=key_names, limit=limit, cursor_key=decode_cursor(cursor))
        return Page(items, encode_cursor(last) if last else None)

    def join(self, actor: Actor, meeting_id: str, *, display_name: str, language: str | None) -> JoinResult:
        meeting = self.get_visible(actor, meeting_id)
        if meeting.status == MeetingStatus.SCHEDULED:
            raise Conflict("The meeting has not started yet.", code="meeting_not_started")
        if meeting.status in (MeetingStatus.ENDED, MeetingStatus.CANCELLED):
            raise Conflict(f"The meeting is {meeting.status}; it cannot be joined.", code="meeting_closed")
        if language is not None and language not in meeting.languages:
            raise Unprocessable(
                f"This meeting's languages are {', '.join(str(code) for code in meeting.languages)}.",
                code="invalid_language",
                details={"languages": meeting.languages},
            )
        participant, transition = self._enter(actor, meeting, language)
        chosen_language = str(participant.language or meeting.languages[0])
        is_host = participant.role == MeetingRole.HOST
        access = build_room_access(
            room_name=meeting.room_name,
            identity=actor.user_id,
            display_name=display_name,
            # In a classroom only the teacher (host) publishes by default; a regular meeting is open.
            can_publish=is_host or meeting.meeting_type == MeetingType.REGULAR,
            is_room_admin=is_host or actor.is_admin,
            metadata={"language": chosen_language, "meeting_role": participant.role},
        )
        if transition is not None:
            # Only the request whose conditional write moved the participant into the room records
            # it: a repeated (or concurrent) join by someone already in gets a fresh token, no more.
            self._audit.record(actor, "meeting.joined", "meeting", meeting_id)
            self._events.publish(
                DomainEvent.PARTICIPANT_JOINED,
                {
                    "meeting_id": meeting_id,
                    "user_id": actor.user_id,
                    "host_id": meeting.host_id,
                    "joined_at": isoformat_z(participant.joined_at),
                    "language": chosen_language,
                    # A rejoin (after leaving) is a new presence but not another meeting attended.
                    "rejoined": transition == ParticipantStatus.LEFT,
                },
            )
        return JoinResult(participant=participant, access=access)

    def leave(self, actor: Actor, meeting_id: str) -> ParticipantModel:
        self.get_visible(actor, meeting_id)
        participant = _participant(meeting_id, actor.user_id)
        # The conditional write decides: of concurrent leaves exactly one changes state (and is
        # audited and published); the others find the participant gone, as a second leave does.
        if (
            participant is None
            or participant.status != ParticipantStatus.JOINED
            or not self._mark_left(participant, utcnow())
        ):
            raise Conflict("You are not in this meeting.", code="not_joined")
        self._audit.record(actor, "meeting.left", "meeting", meeting_id)
        return participant

    def _enter(
        self, actor: Actor, meeting: MeetingModel, language: str | None
    ) -> tuple[ParticipantModel, ParticipantStatus | None]:
        """Move the actor into the room with a conditional write; (participant, the status it left),
        or (participant, None) when the actor was in the room already and nothing changed state."""
        for _ in range(JOIN_ATTEMPTS):
            participant = _participant(meeting.id, actor.user_id)
            if participant is not None and participant.status == ParticipantStatus.JOINED:
                if language is not None and language != participant.language:
                    try:  # only the language changes: no new presence, no event
                        participant.update(
                            actions=[ParticipantModel.language.set(language)],
                            condition=ParticipantModel.status == ParticipantStatus.JOINED.value,
                        )
                    except UpdateError as exc:
                        if not is_condition_failure(exc):
                            raise
                        continue  # left meanwhile: decide again on a fresh read
                return participant, None
            now = utcnow()
            chosen = str(language or (participant.language if participant else None) or meeting.languages[0])
            try:
                if participant is None:  # only admins reach here: get_visible hides the meeting from others
                    participant = ParticipantModel(
                        meeting_id=meeting.id,
                        user_id=actor.user_id,
                        status=ParticipantStatus.JOINED.value,
                        role=MeetingRole.OBSERVER.value,
                        language=chosen,
                        scheduled_at=meeting.scheduled_at,
                        invited_by=actor.user_id,
                        invited_at=now,
                        joined_at=now,
                    )
                    participant.save(condition=ParticipantModel.user_id.does_not_exist())
                    return participant, ParticipantStatus.INVITED
                previous = ParticipantStatus(participant.status)
                participant.update(
                    actions=[
                        ParticipantModel.status.set(ParticipantStatus.JOINED.value),
                        ParticipantModel.joined_at.set(now),
                        ParticipantModel.left_at.remove(),
                        ParticipantModel.language.set(chosen),
                    ],
                    condition=ParticipantModel.status == previous.value,
                )
                return participant, previous
            except (PutError, UpdateError) as exc:
                if not is_condition_failure(exc):
                    raise
                # Another request changed the participant first: read again and decide anew.
        raise Conflict("Your presence in this meeting changed meanwhile; retry.", code="concurrent_update")

    # --- internals -----------------------------------------------------------------------

    def _publish_updated(self, meeting: MeetingModel, fields: list[str], *, status: str | None = None) -> None:
        """MeetingUpdated: what consumers (search index, notifications, statistics) must refresh;
        ``status`` is the new status when the status changed."""
        detail: dict[str, Any] = {"meeting_id": meeting.id, "host_id": meeting.host_id, "fields": fields}
        if status is not None:
            detail["status"] = status
        self._events.publish(DomainEvent.MEETING_UPDATED, detail)

    def _mark_left(self, participant: ParticipantModel, now: datetime) -> bool:
        """The conditional joined -> left write; True if this call made it (and published it)."""
        try:
            participant.update(
                actions=[ParticipantModel.status.set(ParticipantStatus.LEFT.value), ParticipantModel.left_at.set(now)],
                condition=ParticipantModel.status == ParticipantStatus.JOINED.value,
            )
        except UpdateError as exc:
            if is_condition_failure(exc):
                return False  # already left (a concurrent leave or end): nothing more to record
            raise
        self._events.publish(
            DomainEvent.PARTICIPANT_LEFT,
            {
                "meeting_id": participant.meeting_id,
                "user_id": participant.user_id,
                "joined_at": isoformat_z(participant.joined_at),
                "left_at": isoformat_z(now),
            },
        )
        return True

    def _organised(self, actor: Actor, meeting_id: str) -> MeetingModel:
        meeting = self.get_visible(actor, meeting_id)
        if not (actor.is_admin or meeting.host_id == actor.user_id):
            raise Forbidden("Only the meeting's host or an admin can do this.", code="host_required")
        return meeting

    @staticmethod
    def _require_status(
        meeting: MeetingModel, expected: MeetingStatus, verb: str, hint: dict[MeetingStatus, str] | None = None
    ) -> None:
        if meeting.status != expected:
            extra = (hint or {}).get(MeetingStatus(meeting.status), "")
            message = f"Cannot {verb} a meeting that is {meeting.status}. {extra}".strip()
            raise Conflict(message, code="invalid_meeting_state", details={"status": meeting.status})

    @staticmethod
    def _versioned_update(meeting: MeetingModel, actions: list[Any]) -> None:
        expected = meeting.version
        try:
            meeting.update(
                actions=[*actions, MeetingModel.version.set(expected + 1), MeetingModel.updated_at.set(utcnow())],
                condition=MeetingModel.version == expected,
            )
        except UpdateError as exc:
            if is_condition_failure(exc):
                raise Conflict("The meeting changed meanwhile; reload and retry.", code="concurrent_update") from exc
            raise


def _has_any(status: MeetingStatus, range_condition: Any) -> bool:
    return next(iter(MeetingModel.by_status.query(status.value, range_condition, limit=1)), None) is not None


def _load(meeting_id: str) -> MeetingModel:
    try:
        return cached_meeting(meeting_id)
    except DoesNotExist as exc:
        raise NotFound("Meeting not found.", code="meeting_not_found") from exc


def _participant(meeting_id: str, user_id: str) -> ParticipantModel | None:
    try:
        return ParticipantModel.get(meeting_id, user_id)
    except DoesNotExist:
        return None


def _can_attend(user: UserModel) -> bool:
    return bool(user.is_active) and user.status == AccountStatus.APPROVED.value


def _time_range(attribute: Any, start: datetime | None, end: datetime | None) -> Any:
    if start and end:
        return attribute.between(to_utc(start), to_utc(end))
    if start:
        return attribute >= to_utc(start)
    if end:
        return attribute <= to_utc(end)
    return None
