from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="DemoIndex")


@_attrs_define
class DemoIndex:
    """Where to go from the demo's front page.

    Attributes:
        api (str): Prefix of every saaskit endpoint.
        docs (str): Interactive API documentation (Swagger UI).
        health (str): Liveness probe.
        name (str): What this app is.
    """

    api: str
    docs: str
    health: str
    name: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        api = self.api

        docs = self.docs

        health = self.health

        name = self.name

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "api": api,
                "docs": docs,
                "health": health,
                "name": name,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        api = d.pop("api")

        docs = d.pop("docs")

        health = d.pop("health")

        name = d.pop("name")

        demo_index = cls(
            api=api,
            docs=docs,
            health=health,
            name=name,
        )

        demo_index.additional_properties = d
        return demo_index

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
