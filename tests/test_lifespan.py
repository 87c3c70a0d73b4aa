"""The kit's lifespan: gc.freeze at startup (configurable), resources closed at exit."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from tests.helpers import KitFactory


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


async def test_startup_freezes_the_objects_built_so_far(make_kit: KitFactory) -> None:
    kit = await make_kit()
    async with kit.lifespan():
        assert gc.get_freeze_count() > 0


async def test_gc_freeze_can_be_switched_off(make_kit: KitFactory) -> None:
    kit = await make_kit(http={"gc_freeze": False})
    async with kit.lifespan():
        assert gc.get_freeze_count() == 0
