"""Token estimates for reservations, made before the provider has counted anything.

They err on the generous side (one token per three bytes of UTF-8, where real
tokenizers average about four for English) so that a reservation covers the prompt:
a quota can then be passed only by the gap between estimate and count of one request.
Only text is counted; images and audio in content parts are not.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

# Chat formats wrap each message in a few tokens (role, separators) and prime the reply.
PER_MESSAGE_TOKENS = 4
PER_REQUEST_TOKENS = 3


def estimate_text_tokens(text: str) -> int:
    """A generous estimate of the tokens in ``text``."""
    return math.ceil(len(text.encode("utf-8")) / 3)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, Iterable):  # content parts: [{"type": "text", "text": ...}]
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""


def estimate_prompt_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """A generous estimate of the prompt tokens of chat ``messages`` (SDK dicts work)."""
    return PER_REQUEST_TOKENS + sum(
        PER_MESSAGE_TOKENS + estimate_text_tokens(_text(message.get("content")))
        for message in messages
    )
