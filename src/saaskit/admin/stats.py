"""What the console's pages read: counts per day, AI usage, a user's whole picture.

Plain SQLAlchemy queries on the kit's tables (replica-tolerant reads through
``kit.reads``); signups and logins are grouped by day in Python over one query's
timestamps, so the same code runs on SQLite and PostgreSQL. AI tokens come from the
``ai_daily_usage`` table, already one row per owner, day and model, added up per day
and model by the database (:func:`saaskit.ai.metering.daily_usage_query`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from saaskit.ai.metering import DailyUsage, daily_rows, daily_usage_query
from saaskit.owners import Owner

__all__ = ["Activity", "UserPicture", "activity", "days_back", "tokens_per_model", "user_picture"]


def days_back(days: int, today: date | None = None) -> list[str]:
    """The ISO dates of the last ``days`` days, oldest first, today included."""
    end = today or datetime.now(UTC).date()
    return [(end - timedelta(days=offset)).isoformat() for offset in range(days - 1, -1, -1)]


def tokens_per_model(labels: list[str], usage: list[DailyUsage]) -> dict[str, list[int]]:
    """Tokens per model, one value per day of ``labels`` (0 on a day without usage)."""
    tokens: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in usage:
        tokens[row.model][row.day] += row.total_tokens
    return {
        model: [per_day.get(day, 0) for day in labels] for model, per_day in sorted(tokens.items())
    }


def _day(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).date().isoformat()


@dataclass
class Activity:
    """Signups, logins and AI tokens (per model) per day, one value per day of ``days``."""

    days: list[str]
    signups: list[int]
    logins: list[int]
    failed_logins: list[int]
    ai_tokens: dict[str, list[int]] = field(default_factory=dict)


async def activity(kit: Any, *, days: int = 30, today: date | None = None) -> Activity:
    """The console's activity page: the last ``days`` days (UTC), today included."""
    labels = days_back(days, today)
    since = datetime.fromisoformat(labels[0]).replace(tzinfo=UTC)
    user = kit.user_model
    audit = kit.models.audit_event
    ai = daily_usage_query(kit.models.tables["ai_daily_usage"], since.date())

    async def read(db: AsyncSession) -> Activity:
        created = await db.scalars(select(user.created_at).where(user.created_at >= since))
        logins = (
            await db.execute(
                select(audit.created_at, audit.outcome).where(
                    audit.action == "login", audit.created_at >= since
                )
            )
        ).all()
        usage = await daily_rows(db, ai)
        signups = Counter(_day(value) for value in created)
        ok = Counter(_day(at) for at, outcome in logins if outcome == "success")
        failed = Counter(_day(at) for at, outcome in logins if outcome != "success")
        return Activity(
            days=labels,
            signups=[signups[day] for day in labels],
            logins=[ok[day] for day in labels],
            failed_logins=[failed[day] for day in labels],
            ai_tokens=tokens_per_model(labels, usage),
        )

    result: Activity = await kit.reads.run(read)
    return result


@dataclass
class UserPicture:
    """Everything the console shows about one user."""

    user: Any
    sessions: list[Any]
    organizations: list[tuple[Any, str]]
    subscriptions: list[Any]
    ai_usage: list[Any]
    events: list[Any]
    ai_days: list[str] = field(default_factory=list)
    """The last 30 days (UTC), for :attr:`ai_daily`."""
    ai_daily: dict[str, list[int]] = field(default_factory=dict)
    """The user's own AI tokens per model, one value per day of :attr:`ai_days`."""


async def user_picture(
    kit: Any, user_id: int, *, days: int = 30, today: date | None = None
) -> UserPicture | None:
    """The user, their live sessions, organizations, subscriptions, AI usage, last events.

    AI usage: their monthly rows, and their tokens per day and model over the last
    ``days`` days (one query on the owner's key of ``ai_daily_usage``).
    """
    user = await kit.users.get(user_id, replica=True)
    if user is None:
        return None
    tables = kit.models.tables
    subscription = kit.models.subscription
    usage = kit.models.ai_usage
    audit = kit.models.audit_event
    labels = days_back(days, today)
    per_day = daily_usage_query(
        tables["ai_daily_usage"], date.fromisoformat(labels[0]), owner=Owner("user", user_id)
    )

    async def read(
        db: AsyncSession,
    ) -> tuple[list[Any], list[Any], list[Any], list[Any], list[DailyUsage]]:
        organizations: list[Any] = []
        if "membership" in tables and "organization" in tables:
            org, member = tables["organization"], tables["membership"]
            organizations = list(
                (
                    await db.execute(
                        select(org, member.role)
                        .join(member, member.organization_id == org.id)
                        .where(member.user_id == user_id)
                        .order_by(org.id)
                    )
                ).all()
            )
        subscriptions = list(
            await db.scalars(
                select(subscription)
                .where(
                    (subscription.user_id == user_id)
                    | (
                        (subscription.owner_kind == "organization")
                        & subscription.owner_id.in_([row[0].id for row in organizations] or [0])
                    )
                )
                .order_by(subscription.id.desc())
            )
        )
        ai = list(
            await db.scalars(
                select(usage)
                .where(usage.user_id == user_id)
                .order_by(usage.month.desc(), usage.model)
                .limit(24)
            )
        )
        events = list(
            await db.scalars(
                select(audit)
                .where(
                    (audit.actor_id == user_id)
                    | (audit.target_id == user_id)
                    | (audit.impersonator_id == user_id)
                )
                .order_by(audit.id.desc())
                .limit(20)
            )
        )
        return organizations, subscriptions, ai, events, await daily_rows(db, per_day)

    organizations, subscriptions, ai, events, daily = await kit.reads.run(read)
    sessions = await kit.sessions.for_user(user_id)
    return UserPicture(
        user=user,
        sessions=sessions,
        organizations=[(row[0], row[1]) for row in organizations],
        subscriptions=subscriptions,
        ai_usage=ai,
        events=events,
        ai_days=labels,
        ai_daily=tokens_per_model(labels, daily),
    )
