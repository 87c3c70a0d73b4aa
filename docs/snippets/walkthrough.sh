#!/usr/bin/env bash
# The curl walk-through shown in the README and on docs/index.md.
# tests/docs/test_walkthrough.py runs this file against a live server.
set -euo pipefail
# --8<-- [start:walkthrough]
BASE=http://127.0.0.1:8000/api/v1

# 1. Register: 201 and the new user (never the password hash)
curl -s -w '\n' -X POST "$BASE/auth/register" -H 'Content-Type: application/json' \
  -d '{"email": "alice@example.com", "password": "correct horse battery", "full_name": "Alice"}'

# 2. Log in: 200 and a token pair; keep both tokens in shell variables
TOKENS=$(curl -s -X POST "$BASE/auth/login" -H 'Content-Type: application/json' \
  -d '{"email": "alice@example.com", "password": "correct horse battery"}')
ACCESS=$(echo "$TOKENS" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
REFRESH=$(echo "$TOKENS" | python3 -c 'import json, sys; print(json.load(sys.stdin)["refresh_token"])')

# 3. Who am I: 200 and the user
curl -s -w '\n' "$BASE/users/me" -H "Authorization: Bearer $ACCESS"

# 4. Refresh: 200 and a new pair; the refresh token just sent is now spent
curl -s -w '\n' -X POST "$BASE/auth/refresh" -H 'Content-Type: application/json' \
  -d "{\"refresh_token\": \"$REFRESH\"}"

# 5. Sending the spent refresh token again counts as theft: 401 and the session ends
curl -s -w '\n' -X POST "$BASE/auth/refresh" -H 'Content-Type: application/json' \
  -d "{\"refresh_token\": \"$REFRESH\"}"

# 6. Every token of that session stopped working at once: 401
curl -s -w '\n' "$BASE/users/me" -H "Authorization: Bearer $ACCESS"
# --8<-- [end:walkthrough]
