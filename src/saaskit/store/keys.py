"""The store key scheme: every key that one request reads together shares a hash tag.

Redis Cluster puts a key in the slot of its *hash tag*, the part between the first ``{``
and the next ``}``. A multi-key command (``MGET``, ``DEL a b``, a ``MULTI`` block, a Lua
script) works on a cluster only when all its keys are in one slot. saaskit's hot path
reads the session and the cached user in one ``MGET``, and later features add the
user's organization memberships and API keys to that read, so all of a user's keys carry
the tag ``{u:<user id>}``:

==============================  =========================================
``{u:<uid>}:sess:<sid>``        a login session (JSON)
``{u:<uid>}:sess:<sid>:rt``     hash of its current refresh token
``{u:<uid>}:sess:<sid>:prev``   hash of the token it replaced (reuse grace)
``{u:<uid>}:sessions``          the user's session ids (a set)
``{u:<uid>}:user``              the cached user row (JSON)
==============================  =========================================

Keys that are never read with others (rate-limit counters, usage counters, one-time
token claims) need no tag. See the "Store keys" section of the deployment docs.
"""

from __future__ import annotations

import re

_TAG = re.compile(r"\{([^}]*)\}")


def user_tag(user_id: int) -> str:
    """The hash tag of every key that belongs to one user: ``{u:<id>}``."""
    return f"{{u:{user_id}}}"


def hash_tag(key: str) -> str:
    """The part of ``key`` that Redis Cluster hashes (the whole key without a tag)."""
    match = _TAG.search(key)
    return match.group(1) if match and match.group(1) else key
