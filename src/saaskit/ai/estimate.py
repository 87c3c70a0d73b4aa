"""Token counts for reservations, made before the provider has counted anything.

A reservation must cover whatever the provider will charge, so these are upper bounds,
not averages:

- **Text: one token per UTF-8 byte.** Byte-level BPE tokenizers (OpenAI's tiktoken
  encodings ``cl100k_base`` and ``o200k_base``, GPT-2, Llama 3, Qwen) start from one
  token per byte and only ever merge neighbours, so they never produce more tokens than
  the text has bytes. Every text the provider tokenizes counts: the content, the role
  and any other field of a message (a ``name``, tool calls as their JSON).
- **Framing:** :data:`PER_MESSAGE_TOKENS` around each message and
  :data:`PER_REQUEST_TOKENS` to prime the reply (OpenAI's chat format uses 3 and 3;
  Llama 3's 4 and 5, counting its begin-of-text token).
- **Content that is not text** (images, audio, files) has no such bound, so it is
  refused with :class:`ValueError` rather than counted as nothing.

Real text averages three to four bytes a token, so a reservation is three to four times
what the prompt will cost; the difference is given back when the call settles. A
tokenizer would be tighter, but saaskit must work offline and tiktoken downloads its
encodings at run time. A server whose chat template adds text of its own (a default
system prompt) can count more than this bound; the meter logs a warning when a call is
charged more than it reserved (:meth:`saaskit.ai.metering.UsageMeter.commit`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

PER_MESSAGE_TOKENS = 4
"""Framing tokens around each message, besides its role (OpenAI: 3, ChatML and Llama 3: 4)."""

PER_REQUEST_TOKENS = 5
"""Tokens that prime the reply (OpenAI: 3; Llama 3: 4 and its begin-of-text token)."""


def estimate_text_tokens(text: str) -> int:
    """The most tokens ``text`` can be: its UTF-8 bytes."""
    return len(text.encode("utf-8"))


def _content_tokens(content: Any) -> int:
    if isinstance(content, str):
        return estimate_text_tokens(content)
    if isinstance(content, Iterable):  # content parts: [{"type": "text", "text": ...}]
        total = 0
        for part in content:
            kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
            if kind != "text":
                raise ValueError(
                    f"a content part of type {kind!r} has no token bound; estimate it yourself "
                    "(kit.ai.chat takes text only)"
                )
            total += estimate_text_tokens(str(part.get("text", "")))
        return total
    raise ValueError(f"message content of type {type(content).__name__} has no token bound")


def _field_tokens(name: str, value: Any) -> int:
    if value is None:
        return 0
    if name == "content":
        return _content_tokens(value)
    if isinstance(value, str):
        return estimate_text_tokens(value)
    # Tool calls and the like reach the model as JSON; its text bounds them.
    return estimate_text_tokens(json.dumps(value, ensure_ascii=False, default=str))


def estimate_message_tokens(message: Mapping[str, Any]) -> int:
    """The most tokens one chat message can be: its framing and every field's bytes."""
    return PER_MESSAGE_TOKENS + sum(_field_tokens(name, value) for name, value in message.items())


def estimate_prompt_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """The most prompt tokens chat ``messages`` can be (SDK dicts work).

    Raises:
        ValueError: a message holds content that is not text (an image, audio, a file).
    """
    return PER_REQUEST_TOKENS + sum(estimate_message_tokens(m) for m in messages)
