"""What the console's pages read: counts per day, AI usage, a user's whole picture.

Plain SQLAlchemy queries on the kit's tables (replica-tolerant reads through
``kit.reads``); grouping by day happens in Python over one query's timestamps, so the
same code runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["Activity", "UserPicture", "activity", "days_back", "user_picture"]


def days_back(days: int, today: date | None = None) -> list[str]:
    """The ISO dates of the last ``days`` days, oldest first, today included."""
    end = today or datetime.now(UTC).date()
    return [(end - timedelta(days=offset)).isoformat() for offset in range(days - 1, -1, -1)]


def _day(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).date().isoformat()


@dataclass
class Activity:
    """Signups and logins per day, AI tokens per month and model."""

    days: list[str]
    signups: list[int]
    logins: list[int]
    failed_logins: list[int]
    months: list[str]
    ai_tokens: dict[str, list[int]] = field(default_factory=dict)


async def activity(kit: Any, *, days: int = 30, today: date | None = None) -> Activity:
    """The console's activity page: the last ``days`` days, the last 6 months of AI."""
    labels = days_back(days, today)
    since = datetime.fromisoformat(labels[0]).replace(tzinfo=UTC)
    user = kit.user_model
    audit = kit.models.audit_event
    usage = kit.models.ai_usage
    first_month = labels[-1][:7]
    months = sorted({label[:7] for label in days_back(180, today)})[-6:]
    first_month = months[0]

    async def read(db: AsyncSession) -> Activity:
        created = await db.scalars(select(user.created_at).where(user.created_at >= since))
        logins = (
            await db.execute(
                select(audit.created_at, audit.outcome).where(
                    audit.action == "login", audit.created_at >= since
                )
            )
        ).all()
        rows = (
            await db.execute(
                select(
                    usage.month, usage.model, usage.prompt_tokens, usage.completion_tokens
                ).where(usage.month >= first_month)
            )
        ).all()
        signups = Counter(_day(value) for value in created)
        ok = Counter(_day(at) for at, outcome in logins if outcome == "success")
        failed = Counter(_day(at) for at, outcome in logins if outcome != "success")
        tokens: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for month, model, prompt, completion in rows:
            tokens[model][month] += int(prompt or 0) + int(completion or 0)
        return Activity(
            days=labels,
            signups=[signups[day] for day in labels],
            logins=[ok[day] for day in labels],
            failed_logins=[failed[day] for day in labels],
            months=months,
            ai_tokens={
                model: [per_month.get(month, 0) for month in months]
                for model, per_month in sorted(tokens.items())
            },
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


async def user_picture(kit: Any, user_id: int) -> UserPicture | None:
    """The user, their live sessions, organizations, subscriptions, AI usage, last events."""
    user = await kit.users.get(user_id, replica=True)
    if user is None:
        return None
    tables = kit.models.tables
    subscription = kit.models.subscription
    usage = kit.models.ai_usage
    audit = kit.models.audit_event

    async def read(db: AsyncSession) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
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
        return organizations, subscriptions, ai, events

    organizations, subscriptions, ai, events = await kit.reads.run(read)
    sessions = await kit.sessions.for_user(user_id)
    return UserPicture(
        user=user,
        sessions=sessions,
        organizations=[(row[0], row[1]) for row in organizations],
        subscriptions=subscriptions,
        ai_usage=ai,
        events=events,
    )
