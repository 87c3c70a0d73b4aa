"""Every error code has an HTTP status: nothing is answered 400 by accident."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import saaskit
from saaskit.errors import declared_status, status_for
from saaskit.exceptions import ErrorCode, SaaSKitError

# Modules that need an optional extra or start processes when imported.
_SKIP = ("saaskit.auth._hashworker", "saaskit.cli", "saaskit.testing", "saaskit.migrations")


def _all_error_classes() -> list[type[SaaSKitError]]:
    for module in pkgutil.walk_packages(saaskit.__path__, "saaskit."):
        if not module.name.startswith(_SKIP):
            importlib.import_module(module.name)
    found: list[type[SaaSKitError]] = []
    stack: list[type[SaaSKitError]] = [SaaSKitError]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return [cls for cls in found if cls.__module__.startswith("saaskit.")]


def test_every_error_class_of_the_kit_with_a_code_declares_its_status() -> None:
    missing = [
        cls.__qualname__
        for cls in _all_error_classes()
        if cls.code != ErrorCode.ERROR and declared_status(cls) is None
    ]
    assert missing == []


def test_a_class_can_declare_its_own_status_without_editing_the_kit() -> None:
    class Teapot(SaaSKitError):
        code = ErrorCode.PERMISSION_DENIED
        status = 418

    class Kettle(Teapot):
        pass

    assert status_for(Teapot()) == 418
    assert status_for(Kettle()) == 418


def test_an_error_with_a_code_but_no_status_is_400_with_a_deprecation_warning() -> None:
    class Forgotten(SaaSKitError):
        code = ErrorCode.PERMISSION_DENIED

    with pytest.warns(DeprecationWarning, match="Forgotten declares no HTTP status"):
        assert status_for(Forgotten()) == 400


def test_the_generic_error_code_is_400_without_a_warning(recwarn: pytest.WarningsRecorder) -> None:
    assert status_for(SaaSKitError("something")) == 400
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_every_error_class_a_feature_registers_declares_its_status() -> None:
    from saaskit.kit import default_features
    from tests.features.sample.wiring import SampleFeature

    features = [*default_features(), SampleFeature()]
    missing = [
        f"{feature.name}: {cls.__qualname__}"
        for feature in features
        for cls in feature.errors
        if declared_status(cls) is None
    ]
    assert missing == []
    assert all(feature.errors for feature in features if feature.name in {"billing", "ai"})
