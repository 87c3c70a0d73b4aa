from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="TotpSetup")


@_attrs_define
class TotpSetup:
    """A new secret: add it to an authenticator app, then confirm with a code.

    Attributes:
        expires_at (datetime.datetime): Confirm before this, or request a new secret.
        otpauth_uri (str): The `otpauth://totp/...` URI (what the QR holds).
        secret (str): Base32, for typing into the app by hand.
        qr_svg (None | str | Unset): The URI as an SVG QR code (with the `qrcode` extra installed).
    """

    expires_at: datetime.datetime
    otpauth_uri: str
    secret: str
    qr_svg: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        expires_at = self.expires_at.isoformat()

        otpauth_uri = self.otpauth_uri

        secret = self.secret

        qr_svg: None | str | Unset
        if isinstance(self.qr_svg, Unset):
            qr_svg = UNSET
        else:
            qr_svg = self.qr_svg

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "expires_at": expires_at,
                "otpauth_uri": otpauth_uri,
                "secret": secret,
            }
        )
        if qr_svg is not UNSET:
            field_dict["qr_svg"] = qr_svg

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        otpauth_uri = d.pop("otpauth_uri")

        secret = d.pop("secret")

        def _parse_qr_svg(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        qr_svg = _parse_qr_svg(d.pop("qr_svg", UNSET))

        totp_setup = cls(
            expires_at=expires_at,
            otpauth_uri=otpauth_uri,
            secret=secret,
            qr_svg=qr_svg,
        )

        totp_setup.additional_properties = d
        return totp_setup

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
