"""Typed async hooks: host code that runs after saaskit events.

    @kit.hooks.on_after_register
    async def welcome(user: User, client: ClientInfo) -> None:
        ...

A hook that raises is logged and does not undo or fail the action it follows.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, Literal, ParamSpec, overload

from saaskit.types import ClientInfo, PaymentFailure, SubscriptionState, UserT

logger = logging.getLogger("saaskit.hooks")

UserHook = Callable[[UserT, ClientInfo], Awaitable[None]]
TokenHook = Callable[[UserT, str, ClientInfo], Awaitable[None]]
UpdateHook = Callable[[UserT, dict[str, Any], ClientInfo], Awaitable[None]]
SubscriptionHook = Callable[[UserT, SubscriptionState], Awaitable[None]]
PaymentFailedHook = Callable[[UserT, PaymentFailure], Awaitable[None]]

# The events, by the arguments their hooks take: ``emit_event`` and ``listen`` are
# overloaded on these names, so mypy checks what a caller passes for each event.
UserEvent = Literal[
    "after_register", "after_login", "after_verify", "after_reset_password", "after_delete"
]
TokenEvent = Literal["after_forgot_password"]
UpdateEvent = Literal["after_update"]
SubscriptionEvent = Literal["subscription_changed", "trial_will_end", "subscription_canceled"]
PaymentFailedEvent = Literal["payment_failed", "payment_action_required"]

P = ParamSpec("P")


class HookEvent(Generic[P]):
    """A hook event a feature declares (``Feature.hook_events``), typed by its arguments.

    Example:
        ```python
        NOTE_CREATED: HookEvent[[Note, ClientInfo]] = HookEvent("note_created")

        @kit.hooks.on(NOTE_CREATED)          # host code
        async def notify(note: Note, client: ClientInfo) -> None: ...

        await hooks.fire(NOTE_CREATED, note, client)   # the feature's service
        ```
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"HookEvent({self.name!r})"


class Hooks(Generic[UserT]):
    """Registries of callbacks, one per event; each ``on_*`` works as a decorator."""

    def __init__(self) -> None:
        self.after_register: list[UserHook[UserT]] = []
        self.after_login: list[UserHook[UserT]] = []
        self.after_verify: list[UserHook[UserT]] = []
        self.after_forgot_password: list[TokenHook[UserT]] = []
        self.after_reset_password: list[UserHook[UserT]] = []
        self.after_update: list[UpdateHook[UserT]] = []
        self.after_delete: list[UserHook[UserT]] = []
        self.subscription_changed: list[SubscriptionHook[UserT]] = []
        self.trial_will_end: list[SubscriptionHook[UserT]] = []
        self.subscription_canceled: list[SubscriptionHook[UserT]] = []
        self.payment_action_required: list[PaymentFailedHook[UserT]] = []
        self.payment_failed: list[PaymentFailedHook[UserT]] = []
        # saaskit's own listeners (billing's customer task, ...), by event name: kept
        # apart from the host's hooks, so host code that replaces or clears a hook list
        # cannot switch a kit rule off; they run before the host's hooks.
        self._kit: dict[str, list[Callable[..., Awaitable[None]]]] = {}
        # The host's hooks of events features declared (``declare``), by event name.
        self._declared: dict[str, list[Callable[..., Awaitable[None]]]] = {}

    def declare(self, event: HookEvent[Any]) -> None:
        """Make ``event`` (a feature's) known: hooks can then listen to it."""
        if isinstance(getattr(self, event.name, None), list):
            raise ValueError(f"hook event {event.name!r} is one of saaskit's own")
        self._declared.setdefault(event.name, [])

    def on(
        self, event: HookEvent[P]
    ) -> Callable[[Callable[P, Awaitable[None]]], Callable[P, Awaitable[None]]]:
        """Decorator: run the function after a feature's ``event``."""
        if event.name not in self._declared:
            raise ValueError(f"no hook event {event.name!r} (is its feature part of the kit?)")

        def register(fn: Callable[P, Awaitable[None]]) -> Callable[P, Awaitable[None]]:
            self._declared[event.name].append(fn)
            return fn

        return register

    async def fire(self, event: HookEvent[P], *args: P.args, **kwargs: P.kwargs) -> None:
        """Run the kit's listeners, then the host's hooks, of a feature's ``event``."""
        for hook in [*self._kit.get(event.name, []), *self._declared.get(event.name, [])]:
            try:
                await hook(*args, **kwargs)
            except Exception:
                logger.exception("hook %s failed", getattr(hook, "__qualname__", hook))

    @overload
    def listen(self, event: UserEvent, fn: UserHook[UserT]) -> None: ...
    @overload
    def listen(self, event: TokenEvent, fn: TokenHook[UserT]) -> None: ...
    @overload
    def listen(self, event: UpdateEvent, fn: UpdateHook[UserT]) -> None: ...
    @overload
    def listen(self, event: SubscriptionEvent, fn: SubscriptionHook[UserT]) -> None: ...
    @overload
    def listen(self, event: PaymentFailedEvent, fn: PaymentFailedHook[UserT]) -> None: ...
    @overload
    def listen(self, event: HookEvent[P], fn: Callable[P, Awaitable[None]]) -> None: ...
    def listen(self, event: str | HookEvent[Any], fn: Callable[..., Awaitable[None]]) -> None:
        """Register one of saaskit's own listeners for ``event``.

        Args:
            event: the hook event (``"after_register"``, ``"after_delete"``, ...), or a
                feature's declared :class:`HookEvent`.
            fn: gets the same arguments as the host's hooks of ``event``.

        Raises:
            ValueError: there is no hook event ``event``.
        """
        name = event.name if isinstance(event, HookEvent) else event
        if name not in self._declared and not isinstance(getattr(self, name, None), list):
            raise ValueError(f"no hook event {name!r}")
        self._kit.setdefault(name, []).append(fn)

    @overload
    async def emit_event(self, event: UserEvent, user: UserT, client: ClientInfo, /) -> None: ...
    @overload
    async def emit_event(
        self, event: TokenEvent, user: UserT, token: str, client: ClientInfo, /
    ) -> None: ...
    @overload
    async def emit_event(
        self, event: UpdateEvent, user: UserT, changes: dict[str, Any], client: ClientInfo, /
    ) -> None: ...
    @overload
    async def emit_event(
        self, event: SubscriptionEvent, user: UserT, state: SubscriptionState, /
    ) -> None: ...
    @overload
    async def emit_event(
        self, event: PaymentFailedEvent, user: UserT, failure: PaymentFailure, /
    ) -> None: ...
    async def emit_event(self, event: str, *args: Any) -> None:
        """Run the kit's listeners for ``event``, then the host's hooks (``self.<event>``).

        Args:
            event: the hook event; the arguments that follow are checked against it.
            *args: what the event's hooks take (the user first).
        """
        await self.emit(self._kit.get(event, []), *args)
        await self.emit(self._declared.get(event) or getattr(self, event, []), *args)

    def on_after_register(self, fn: UserHook[UserT]) -> UserHook[UserT]:
        """After a user registered (the user, the client)."""
        self.after_register.append(fn)
        return fn

    def on_after_login(self, fn: UserHook[UserT]) -> UserHook[UserT]:
        """After a successful login."""
        self.after_login.append(fn)
        return fn

    def on_after_verify(self, fn: UserHook[UserT]) -> UserHook[UserT]:
        """After a user verified their email address."""
        self.after_verify.append(fn)
        return fn

    def on_after_forgot_password(self, fn: TokenHook[UserT]) -> TokenHook[UserT]:
        """After a reset was requested for an existing user (the user, the token, client)."""
        self.after_forgot_password.append(fn)
        return fn

    def on_after_reset_password(self, fn: UserHook[UserT]) -> UserHook[UserT]:
        """After a password was reset with a token."""
        self.after_reset_password.append(fn)
        return fn

    def on_after_update(self, fn: UpdateHook[UserT]) -> UpdateHook[UserT]:
        """After a user was changed (the user, the changed fields, the client)."""
        self.after_update.append(fn)
        return fn

    def on_after_delete(self, fn: UserHook[UserT]) -> UserHook[UserT]:
        """After a user was deleted (the user as it was)."""
        self.after_delete.append(fn)
        return fn

    def on_subscription_changed(self, fn: SubscriptionHook[UserT]) -> SubscriptionHook[UserT]:
        """After a user's subscription changed in Stripe (the user, its new state).

        Runs once per actual change: duplicate or stale events that change nothing
        do not call it again.
        """
        self.subscription_changed.append(fn)
        return fn

    def on_trial_will_end(self, fn: SubscriptionHook[UserT]) -> SubscriptionHook[UserT]:
        """Three days before a user's trial ends (``customer.subscription.trial_will_end``).

        Called with the user and the subscription as re-read from Stripe (its
        ``trial_end``), once per event: a redelivered event does not call it again.
        """
        self.trial_will_end.append(fn)
        return fn

    def on_subscription_canceled(self, fn: SubscriptionHook[UserT]) -> SubscriptionHook[UserT]:
        """After a user's subscription ended (``customer.subscription.deleted``), once."""
        self.subscription_canceled.append(fn)
        return fn

    def on_payment_action_required(self, fn: PaymentFailedHook[UserT]) -> PaymentFailedHook[UserT]:
        """After a payment needed the customer (3-D Secure: ``invoice.payment_action_required``).

        The invoice's ``hosted_invoice_url`` is where the customer completes it.
        """
        self.payment_action_required.append(fn)
        return fn

    def on_payment_failed(self, fn: PaymentFailedHook[UserT]) -> PaymentFailedHook[UserT]:
        """After an invoice payment of the user failed (``invoice.payment_failed``)."""
        self.payment_failed.append(fn)
        return fn

    async def emit(
        self, hooks: Sequence[Callable[P, Awaitable[None]]], *args: P.args, **kwargs: P.kwargs
    ) -> None:
        """Call each hook in order with the arguments its type takes.

        A failing hook is logged and skipped. Prefer :meth:`emit_event`, which also
        runs the kit's own listeners.
        """
        for hook in hooks:
            try:
                await hook(*args, **kwargs)
            except Exception:
                logger.exception("hook %s failed", getattr(hook, "__qualname__", hook))
