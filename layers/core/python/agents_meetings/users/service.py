"""UserService: profiles (self-service) and administration (approve, reject, role, activation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from agents_meetings.audit import Actor, AuditLog
from agents_meetings.cache.entities import cached_user
from agents_meetings.clock import utcnow
from agents_meetings.errors import Conflict, Forbidden, NotFound, Unprocessable
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.events.publisher import EventPublisher
from agents_meetings.pagination import Page, decode_cursor, encode_cursor, index_key_names, paginate
from agents_meetings.tables import USER_DIRECTORY, UserModel
from agents_meetings.users.sessions import SessionService


class Role(StrEnum):
    ADMIN = "admin"
    TEACHER = "teacher"
    HOST = "host"
    PARTICIPANT = "participant"


class AccountStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


def active_key(is_active: bool) -> str:
    return "active" if is_active else "inactive"


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    # OSError: with the tzdata package a directory name ("Europe") or an over-long one reaches the file system.
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise Unprocessable(
            f"Unknown timezone {name!r}; use an IANA name such as 'Europe/Paris'.", code="invalid_timezone"
        ) from exc
    return name


@dataclass(frozen=True)
class ProfileChanges:
    full_name: str | None = None
    timezone: str | None = None
    bio: str | None = None
    expertise: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def _to_millisecond(instant: datetime) -> datetime:
    # Tokens record their issue time in whole milliseconds; one issued in this very millisecond
    # is still refused, because its session is ended too.
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)


class UserService:
    def __init__(self, events: EventPublisher, audit: AuditLog | None = None):
        self._events = events
        self._audit = audit or AuditLog()

    # --- reads -------------------------------------------------------------------------

    @staticmethod
    def get(user_id: str) -> UserModel:
        try:
            return cached_user(user_id)
        except DoesNotExist as exc:
            raise NotFound("User not found.", code="user_not_found") from exc

    @staticmethod
    def get_many(user_ids: list[str]) -> dict[str, UserModel]:
        """One BatchGetItem per 100 ids (pynamodb splits and retries unprocessed keys)."""
        unique = list(dict.fromkeys(user_ids))
        return {user.id: user for user in UserModel.batch_get(unique)} if unique else {}

    def list_users(
        self,
        actor: Actor,
        *,
        role: Role | None,
        is_active: bool | None,
        status: AccountStatus | None,
        limit: int,
        cursor: str | None,
    ) -> Page[UserModel]:
        require_admin(actor)
        # Query the most selective index given; the other filters run inside DynamoDB.
        filters = []
        index: Any
        hash_value: str | None
        if status is not None:
            index, hash_value = UserModel.by_status, status.value
        elif role is not None:
            index, hash_value = UserModel.by_role, role.value
        elif is_active is not None:
            index, hash_value = UserModel.by_active, active_key(is_active)
        else:
            index, hash_value = UserModel.by_created, USER_DIRECTORY
        if role is not None and index is not UserModel.by_role:
            filters.append(UserModel.role == role.value)
        if is_active is not None and index is not UserModel.by_active:
            filters.append(UserModel.active_key == active_key(is_active))
        condition = None
        for f in filters:
            condition = f if condition is None else condition & f

        key_names = index_key_names(UserModel, index.Meta.index_name)

        def run(start: dict[str, Any] | None) -> Any:
            return index.query(
                hash_value, filter_condition=condition, scan_index_forward=False, last_evaluated_key=start
            )

        items, last = paginate(run, key_names=key_names, limit=limit, cursor_key=decode_cursor(cursor))
        return Page(items, encode_cursor(last) if last else None)

    # --- self-service --------------------------------------------------------------------

    def update_profile(self, actor: Actor, changes: ProfileChanges) -> UserModel:
        user = self.get(actor.user_id)
        values = changes.as_dict()
        if not values:
            return user
        if "timezone" in values:
            validate_timezone(values["timezone"])
        actions = [getattr(UserModel, name).set(value) for name, value in values.items()]
        actions.append(UserModel.updated_at.set(utcnow()))
        user.update(actions=actions)
        self._audit.record(actor, "user.profile_updated", "user", user.id, {"fields": sorted(values)})
        self._events.publish(DomainEvent.USER_PROFILE_UPDATED, {"user_id": user.id, "fields": sorted(values)})
        return user

    # --- administration --------------------------------------------------------------------

    def approve(self, actor: Actor, user_id: str) -> UserModel:
        require_admin(actor)
        user, previous = self._transition(
            actor, user_id, AccountStatus.APPROVED, allowed_from=(AccountStatus.PENDING, AccountStatus.REJECTED)
        )
        if previous is None:
            return user
        self._audit.record(actor, "user.approved", "user", user_id)
        self._events.publish(
            DomainEvent.USER_APPROVED, {"user_id": user_id, "approved_by": actor.user_id, "previous_status": previous}
        )
        return user

    def reject(self, actor: Actor, user_id: str, reason: str | None = None) -> UserModel:
        require_admin(actor)
        if user_id == actor.user_id:
            raise Conflict("You cannot reject your own account.", code="cannot_change_self")
        user, previous = self._transition(actor, user_id, AccountStatus.REJECTED, allowed_from=(AccountStatus.PENDING,))
        if previous is None:
            return user
        self._audit.record(actor, "user.rejected", "user", user_id, {"reason": reason} if reason else None)
        detail = {"user_id": user_id, "rejected_by": actor.user_id, "reason": reason}
        self._events.publish(DomainEvent.USER_REJECTED, detail)
        return user

    def change_role(self, actor: Actor, user_id: str, new_role: Role) -> UserModel:
        require_admin(actor)
        if user_id == actor.user_id:
            raise Conflict("You cannot change your own role; ask another admin.", code="cannot_change_self")
        user = self.get(user_id)
        old_role = user.role
        if old_role == new_role.value:
            return user
        try:
            user.update(
                actions=[UserModel.role.set(new_role.value), UserModel.updated_at.set(utcnow())],
                condition=UserModel.role == old_role,
            )
        except UpdateError as exc:
            raise Conflict("The user's role changed meanwhile; reload and retry.", code="concurrent_update") from exc
        self._audit.record(actor, "user.role_changed", "user", user_id, {"old_role": old_role, "new_role": new_role})
        self._events.publish(
            DomainEvent.USER_ROLE_CHANGED,
            {"user_id": user_id, "old_role": old_role, "new_role": new_role.value, "changed_by": actor.user_id},
        )
        return user

    def set_active(self, actor: Actor, user_id: str, is_active: bool) -> UserModel:
        require_admin(actor)
        if user_id == actor.user_id and not is_active:
            raise Conflict("You cannot deactivate your own account.", code="cannot_change_self")
        user = self.get(user_id)
        if user.is_active == is_active:
            return user
        now = utcnow()
        actions: list[Action] = [
            UserModel.is_active.set(is_active),
            UserModel.active_key.set(active_key(is_active)),
            UserModel.updated_at.set(now),
        ]
        if not is_active:
            # Deactivation ends every token for good, not only while inactive: after reactivation,
            # tokens issued before now are still refused (and so are their sessions, ended below).
            actions.append(UserModel.tokens_valid_after.set(_to_millisecond(now)))
        user.update(actions=actions)
        if not is_active:
            SessionService().end_all(user_id, reason="account_deactivated")
        self._audit.record(actor, "user.activated" if is_active else "user.deactivated", "user", user_id)
        self._events.publish(
            DomainEvent.USER_PROFILE_UPDATED, {"user_id": user_id, "fields": ["is_active"], "is_active": is_active}
        )
        return user

    def _transition(
        self, actor: Actor, user_id: str, to: AccountStatus, *, allowed_from: tuple[AccountStatus, ...]
    ) -> tuple[UserModel, str | None]:
        """Move the account to ``to``; returns it and the status it left (None: nothing changed, idempotent)."""
        user = self.get(user_id)
        previous = str(user.status)
        if previous == to.value:
            return user, None
        if user.status not in allowed_from:
            raise Conflict(
                f"A {user.status} account cannot become {to.value}.",
                code="invalid_status_transition",
                details={"status": user.status},
            )
        try:
            user.update(
                actions=[UserModel.status.set(to.value), UserModel.updated_at.set(utcnow())],
                condition=UserModel.status == user.status,
            )
        except UpdateError as exc:
            raise Conflict("The account changed meanwhile; reload and retry.", code="concurrent_update") from exc
        return user, previous


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("This action needs the admin role.", code="admin_required")


def ensure_can_sign_in(user: UserModel) -> None:
    """The account-status rule every sign-in path applies: active, approved, not rejected."""
    if not user.is_active:
        raise Forbidden("This account has been deactivated. Contact an administrator.", code="account_inactive")
    if user.status == AccountStatus.PENDING.value:
        raise Forbidden("This account is waiting for an administrator's approval.", code="account_pending")
    if user.status == AccountStatus.REJECTED.value:
        raise Forbidden("This account's registration was rejected.", code="account_rejected")
