"""What a feature contributes to the kit, and how the kit composes features.

A feature is one package (``models``, ``service``, ``schemas``, ``router``, ``wiring``)
whose ``wiring`` module defines one :class:`Feature` subclass. The subclass *declares*
everything the kit needs to know, so that adding a feature edits no core list:

- ``name`` and a settings section (``settings_model``, read from ``SAASKIT_<NAME>__*``);
- its tables (:class:`TableSpec`, declared on the host's ``DeclarativeBase``);
- its error classes, each with its own HTTP ``status``;
- its audit actions (strings), hook events (:class:`~saaskit.hooks.HookEvent`), tasks;
- its router, mount ``prefix`` and OpenAPI ``tags``;
- its Alembic ``migrations`` folder (a branch of its own, see ``saaskit.migrations``);
- what a privacy export or erasure needs (:class:`DataExporter`, :class:`DataEraser`);
- how its service is built (:meth:`Feature.build`) and closed (:meth:`Feature.aclose`).

The kit (``SaaSKit(settings, features=[...])``) checks the declarations once, at
construction (a duplicated name, an error without a status, an audit action or hook
event another feature already declared are refused), builds each enabled feature's
service in order and mounts each router in ``kit.install(app)``. Nothing runs per
request: a feature costs the hot path nothing it does not itself put there.

This module sits low in the layers (next to ``hooks`` and ``tasks``): it knows the
settings, errors, hooks and tasks, and reaches the rest of the kit only through the
:class:`FeatureHost` protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, Field, create_model
from pydantic_settings import BaseSettings, SettingsConfigDict

from saaskit.exceptions import ErrorCode, SaaSKitError
from saaskit.hooks import HookEvent, Hooks
from saaskit.settings import SaaSKitSettings
from saaskit.tasks.runner import TaskFunction, TaskRunner
from saaskit.types import ClientInfo

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
    from sqlalchemy.orm import DeclarativeBase

__all__ = [
    "AuditRecorder",
    "DataEraser",
    "DataExporter",
    "Feature",
    "FeatureError",
    "FeatureHost",
    "FeatureRegistry",
    "TableSpec",
    "declare_tables",
    "read_section",
]

ServiceT = TypeVar("ServiceT")
SettingsT = TypeVar("SettingsT", bound=BaseModel)


class FeatureError(ValueError):
    """A feature's declarations cannot be composed (raised when the kit is built)."""


@dataclass(frozen=True)
class TableSpec:
    """One table of a feature, declared on the host's metadata from a mixin.

    Args:
        key: how the feature finds it again (``kit.models.tables[key]``).
        class_name: the mapped class's name (unique on one ``DeclarativeBase``).
        tablename: the table's name.
        mixin: the columns (no ``Base``): the host's metadata gets the table.
        user_table: set ``__user_table__`` to the host user's table, for a mixin whose
            foreign key points at the users.
    """

    key: str
    class_name: str
    tablename: str
    mixin: type[Any]
    user_table: bool = False


def declare_tables(
    base: type[DeclarativeBase], user_model: type[Any], specs: Sequence[TableSpec]
) -> dict[str, type[Any]]:
    """Declare ``specs`` on ``base`` (once per base: later calls reuse the classes).

    Args:
        base: the host's ``DeclarativeBase``.
        user_model: the host's user model (its ``__tablename__`` for foreign keys).
        specs: the tables to declare.

    Returns:
        Every table declared this way on ``base`` so far, by key (one dict per base,
        shared: a later call adds to it).
    """
    declared: dict[str, type[Any]] | None = base.__dict__.get("__saaskit_tables__")
    if declared is None:
        declared = {}
        setattr(base, "__saaskit_tables__", declared)  # noqa: B010 - one registry per base
    for spec in specs:
        if spec.key in declared:
            continue
        mapped = [
            mapper.class_
            for mapper in base.registry.mappers
            if getattr(mapper.local_table, "name", None) == spec.tablename
        ]
        if mapped:  # declared by hand on this base (e.g. a KitModels built without us)
            declared[spec.key] = mapped[0]
            continue
        namespace: dict[str, Any] = {
            "__tablename__": spec.tablename,
            "__module__": base.__module__,
        }
        if spec.user_table:
            namespace["__user_table__"] = user_model.__tablename__
        declared[spec.key] = type(spec.class_name, (spec.mixin, base), namespace)
    return declared


class _SectionReader(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SAASKIT_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )


def read_section(settings: BaseModel, name: str, model: type[SettingsT]) -> SettingsT:
    """Read one feature's settings section.

    The section is ``settings.<name>`` when the settings have it (as a ``model``),
    else it is read from ``SAASKIT_<NAME>__*`` (environment, then ``.env``), the way
    saaskit reads its own sections.

    Args:
        settings: the kit's settings.
        name: the section's name (a feature's ``name``).
        model: its pydantic model; every field needs a default or a variable.

    Returns:
        The section.
    """
    existing = getattr(settings, name, None)
    if isinstance(existing, model):
        return existing
    reader = create_model(
        f"{model.__name__}Reader",
        __base__=_SectionReader,
        **{name: (model, Field(default_factory=model))},  # type: ignore[call-overload]
    )
    value: SettingsT = getattr(reader(), name)
    return value


class AuditRecorder(Protocol):
    """Writes audit events (the kit's :class:`~saaskit.audit.service.AuditLog`)."""

    async def record(
        self,
        action: str,
        *,
        outcome: str = "success",
        actor_id: int | None = None,
        target_id: int | None = None,
        client: ClientInfo | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Write one audit event; never raises (a failed write is logged).

        Args:
            action: what happened (one of the declared audit actions).
            outcome: ``"success"`` or ``"failure"``.
            actor_id: the user who did it, if any.
            target_id: the user it was done to, if any.
            client: where the request came from (IP address and user agent).
            detail: extra JSON-ready context.
        """
        ...


class TableLookup(Protocol):
    """The kit's tables (:class:`saaskit.tables.KitModels`)."""

    @property
    def tables(self) -> Mapping[str, type[Any]]:
        """Every mapped table class, by its :attr:`TableSpec.key`."""
        ...


class FeatureHost(Protocol):
    """What a feature is built from (:class:`saaskit.SaaSKit` has it).

    A feature that needs more of the kit (another feature's service, say) declares a
    protocol of its own and narrows to it: features never import ``SaaSKit``.
    """

    @property
    def settings(self) -> SaaSKitSettings:
        """The kit's settings (a feature's own section: :meth:`feature_settings`)."""
        ...

    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]:
        """Sessions on the kit's (primary) database."""
        ...

    @property
    def models(self) -> TableLookup:
        """The kit's tables, a feature's own among them (``kit.models.tables[key]``)."""
        ...

    @property
    def hooks(self) -> Hooks[Any]:
        """The kit's hooks: emit the feature's events, listen to the kit's."""
        ...

    @property
    def runner(self) -> TaskRunner:
        """Queues background tasks (the feature's own come from :meth:`Feature.tasks`)."""
        ...

    @property
    def audit(self) -> AuditRecorder:
        """The kit's audit log."""
        ...

    @property
    def current_active_user(self) -> Callable[..., Any]:
        """Dependency: the signed-in, active user."""
        ...

    @property
    def current_session_user(self) -> Callable[..., Any]:
        """Dependency: the active user of a login session (API keys refused)."""
        ...

    @property
    def client_info(self) -> Callable[[Any], ClientInfo]:
        """Where a request came from (trusted proxies applied): ``kit.client_info(request)``."""
        ...

    def feature_settings(self, name: str) -> BaseModel:
        """Read a feature's settings section (once; see :func:`read_section`).

        Args:
            name: the feature's name.

        Returns:
            An instance of the feature's ``settings_model``.

        Raises:
            KeyError: no feature ``name``, or it declares no settings.
        """
        ...


class DataExporter(Protocol):
    """A feature's part of a user's privacy export (GDPR art. 15 / 20)."""

    name: str
    """The key of this part in the export."""

    async def export(self, user_id: int) -> list[dict[str, Any]]:
        """The user's records, as JSON-ready dicts."""
        ...


class DataEraser(Protocol):
    """A feature's part of erasing a user's data (GDPR art. 17)."""

    name: str

    async def erase(self, user_id: int) -> int:
        """Delete (or anonymise) the user's records; returns how many were touched."""
        ...


class Feature(Generic[ServiceT]):
    """One feature's contribution to the kit: subclass it in the feature's ``wiring``.

    Class attributes declare what the feature brings; methods build its parts. Only
    :attr:`name` and :meth:`build` are required.

    Example:
        ```python
        class NotesFeature(Feature[NotesService]):
            name = "notes"
            settings_model = NotesSettings        # SAASKIT_NOTES__*
            prefix = "/notes"
            tables = (TableSpec("note", "Note", "notes", NoteMixin, user_table=True),)
            errors = (NoteLimitReached,)          # each declares `status`
            audit_actions = ("note_created",)

            def build(self, kit: FeatureHost) -> NotesService:
                return NotesService(kit.models.tables["note"], kit.session_factory)

            def router(self, kit: FeatureHost, service: NotesService) -> APIRouter:
                return build_notes_router(kit, service)
        ```
    """

    name: ClassVar[str]
    """Unique name: ``kit.feature(name)``, the settings section, the Alembic branch."""
    settings_model: ClassVar[type[BaseModel] | None] = None
    """The settings section, read from ``SAASKIT_<NAME>__*`` (see :func:`read_section`),
    unless the instance has a ``settings`` attribute of that model (given in code)."""
    prefix: ClassVar[str | None] = None
    """Where the router is mounted, under ``settings.api_prefix``; ``None``: at the root."""
    tags: ClassVar[Sequence[str]] = ()
    """OpenAPI tags of its routes (default: the name)."""
    tables: ClassVar[Sequence[TableSpec]] = ()
    errors: ClassVar[Sequence[type[SaaSKitError]]] = ()
    """Its exception classes: each declares ``code`` and ``status``."""
    audit_actions: ClassVar[Collection[str]] = ()
    hook_events: ClassVar[Sequence[HookEvent[...]]] = ()
    migrations: ClassVar[Path | None] = None
    """Its Alembic revisions (one branch labelled with :attr:`name`)."""
    lazy: ClassVar[bool] = False
    """Build the service on first use (``kit.feature(...)``) instead of with the kit.
    A lazy feature contributes no tasks (a worker must know them at start)."""

    def enabled(self, settings: SaaSKitSettings) -> bool:
        """Whether the kit builds this feature's service and mounts its router."""
        return True

    def production_warnings(self, settings: SaaSKitSettings) -> list[str]:
        """What ``saaskit check`` warns about in production for this feature (not fatal).

        Each message says what to set. Called only for an enabled feature.
        """
        return []

    def build(self, kit: FeatureHost) -> ServiceT:
        """The feature's service (``kit.feature(...)``)."""
        raise NotImplementedError

    def tasks(self, service: ServiceT) -> Mapping[str, TaskFunction]:
        """Background tasks by name (added to ``kit.tasks``)."""
        return {}

    def router(self, kit: FeatureHost, service: ServiceT | None) -> APIRouter | None:
        """The feature's routes; ``service`` is ``None`` for a disabled feature."""
        return None

    def install(self, kit: FeatureHost, app: FastAPI, router: APIRouter) -> None:
        """Mount ``router`` on ``app`` (``kit.install``); override to add more."""
        prefix = kit.settings.api_prefix + self.prefix if self.prefix is not None else ""
        app.include_router(router, prefix=prefix, tags=list(self.tags or [self.name]))

    def exporters(self, service: ServiceT) -> Sequence[DataExporter]:
        """Its parts of a user's privacy export."""
        return ()

    def erasers(self, service: ServiceT) -> Sequence[DataEraser]:
        """Its parts of a user's erasure."""
        return ()

    async def aclose(self, service: ServiceT) -> None:
        """Release what the service holds (``kit.aclose``, the lifespan's end)."""


CORE_PREFIXES = frozenset({"/auth", "/users"})
"""Where the kit's core routers are mounted: no feature mounts there."""


def _check_section(feature: Feature[Any]) -> None:
    """Refuse a feature whose settings section is one of saaskit's own.

    A feature named like one of saaskit's own settings (``auth``, ``db``, ...) with a
    settings model of its own would read that section's variables, secrets included.
    (The kit's own ``billing`` and ``ai`` read their sections directly.)

    Raises:
        FeatureError: ``feature`` would read one of saaskit's own sections.
    """
    field = SaaSKitSettings.model_fields.get(feature.name)
    if field is None or feature.settings_model is None:
        return
    if field.annotation is not feature.settings_model:
        raise FeatureError(
            f"feature {feature.name!r} is named like saaskit's own {feature.name!r} "
            "settings; choose another name"
        )


class FeatureRegistry:
    """The kit's features, checked once and built in order."""

    def __init__(self, features: Sequence[Feature[Any]]) -> None:
        from saaskit.errors import declared_status  # FastAPI: only once a kit is built

        self.features: dict[str, Feature[Any]] = {}
        actions: dict[str, str] = {}
        events: dict[str, str] = {}
        prefixes: dict[str, str] = {}
        for feature in features:
            name = getattr(feature, "name", None)
            if not isinstance(name, str) or not name.isidentifier():
                raise FeatureError(f"{type(feature).__qualname__} declares no valid `name`")
            if name in self.features:
                raise FeatureError(f"two features are named {name!r}")
            _check_section(feature)
            if feature.prefix is not None:
                if feature.prefix in prefixes or feature.prefix in CORE_PREFIXES:
                    owner = prefixes.get(feature.prefix)
                    used = f"feature {owner!r}" if owner else "the kit's core"
                    raise FeatureError(
                        f"feature {name!r} would mount at {feature.prefix!r}, "
                        f"already used by {used}"
                    )
                prefixes[feature.prefix] = name
            self.features[name] = feature
            missing = [
                cls.__qualname__
                for cls in feature.errors
                if cls.code != ErrorCode.ERROR and declared_status(cls) is None
            ]
            if missing:
                raise FeatureError(
                    f"feature {name!r}: {', '.join(missing)} declare(s) no HTTP status; "
                    "set `status = ...` on the class"
                )
            for action in feature.audit_actions:
                if actions.setdefault(str(action), name) != name:
                    raise FeatureError(
                        f"audit action {action!r} of feature {name!r} is already "
                        f"declared by {actions[str(action)]!r}"
                    )
            for event in feature.hook_events:
                if events.setdefault(event.name, name) != name:
                    raise FeatureError(
                        f"hook event {event.name!r} of feature {name!r} is already "
                        f"declared by {events[event.name]!r}"
                    )
        self.audit_actions: frozenset[str] = frozenset(actions)
        self._services: dict[str, Any] = {}
        self._routers: dict[str, APIRouter | None] = {}
        self._settings: dict[str, BaseModel] = {}

    def __iter__(self) -> Iterator[Feature[Any]]:
        return iter(self.features.values())

    def __contains__(self, name: object) -> bool:
        return name in self.features

    def named(self, name: str) -> Feature[Any]:
        """The feature called ``name`` (``KeyError`` naming the known ones)."""
        try:
            return self.features[name]
        except KeyError:
            known = ", ".join(self.features) or "none"
            raise KeyError(f"no feature {name!r} (features: {known})") from None

    def settings_of(self, settings: SaaSKitSettings, name: str) -> BaseModel:
        """The settings section of feature ``name`` (read once)."""
        if name not in self._settings:
            feature = self.named(name)
            model = feature.settings_model
            if model is None:
                raise KeyError(f"feature {name!r} declares no settings")
            given = getattr(feature, "settings", None)  # passed in code: MyFeature(settings=...)
            self._settings[name] = (
                given if isinstance(given, model) else read_section(settings, name, model)
            )
        return self._settings[name]

    def sections(self) -> dict[str, type[BaseModel]]:
        """Every feature's settings model, by name (to know its variables)."""
        return {
            feature.name: feature.settings_model
            for feature in self
            if feature.settings_model is not None
        }

    def declare(self, hooks: Hooks[Any]) -> None:
        """Declare every feature's hook events on ``hooks``."""
        for feature in self:
            for event in feature.hook_events:
                hooks.declare(event)

    def enabled(self, settings: SaaSKitSettings, name: str) -> bool:
        """Whether feature ``name`` is part of this kit and enabled by ``settings``."""
        return name in self.features and self.features[name].enabled(settings)

    def build(self, kit: FeatureHost, tasks: dict[str, TaskFunction]) -> None:
        """Build every enabled, eager feature's service (in order) and its tasks."""
        for feature in self:
            if feature.enabled(kit.settings) and not feature.lazy:
                service = self.service(kit, feature.name)
                tasks.update(feature.tasks(service))

    def service(self, kit: FeatureHost, name: str) -> Any:
        """Feature ``name``'s service, built on first use."""
        if name not in self._services:
            feature = self.named(name)
            if not feature.enabled(kit.settings):
                raise RuntimeError(f"the {name!r} feature is not enabled by the settings")
            self._services[name] = feature.build(kit)
        return self._services[name]

    def built(self, name: str) -> Any | None:
        """Feature ``name``'s service if it was built, else ``None``."""
        return self._services.get(name)

    def router(self, kit: FeatureHost, name: str) -> APIRouter | None:
        """Feature ``name``'s router (built once; for a disabled feature too)."""
        if name not in self._routers:
            feature = self.named(name)
            enabled = feature.enabled(kit.settings)
            service = self.service(kit, name) if enabled and not feature.lazy else None
            self._routers[name] = feature.router(kit, service)
        return self._routers[name]

    def install(self, kit: FeatureHost, app: FastAPI) -> None:
        """Mount every enabled feature's router, in order."""
        for feature in self:
            if feature.enabled(kit.settings):
                router = self.router(kit, feature.name)
                if router is not None:
                    feature.install(kit, app, router)

    def exporters(self) -> list[DataExporter]:
        """The privacy exporters of every built feature."""
        return [
            exporter
            for feature in self
            if feature.name in self._services
            for exporter in feature.exporters(self._services[feature.name])
        ]

    def erasers(self) -> list[DataEraser]:
        """The privacy erasers of every built feature."""
        return [
            eraser
            for feature in self
            if feature.name in self._services
            for eraser in feature.erasers(self._services[feature.name])
        ]

    async def aclose(self) -> None:
        """Close every built service, last built first."""
        for name in reversed(list(self._services)):
            await self.features[name].aclose(self._services[name])

    def migration_locations(self) -> list[Path]:
        """The features' Alembic revision folders."""
        return [feature.migrations for feature in self if feature.migrations is not None]
