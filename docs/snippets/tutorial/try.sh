#!/usr/bin/env bash
# The tutorial's requests (docs/tutorial.md), against `saaskit run` in the new project.
# tests/docs/test_tutorial.py runs this file against a live server of the tutorial's app.
set -euo pipefail
# --8<-- [start:hello]
BASE=http://127.0.0.1:8000/api/v1

# Register, with the project's own column (company): 201 and the user
curl -s -w '\n' -X POST "$BASE/auth/register" -H 'Content-Type: application/json' \
  -d '{"email": "ada@example.com", "password": "correct horse battery", "company": "Engines"}'

# Log in and keep the access token
ACCESS=$(curl -s -X POST "$BASE/auth/login" -H 'Content-Type: application/json' \
  -d '{"email": "ada@example.com", "password": "correct horse battery"}' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

# The generated protected route: 200 with the token, 401 not_authenticated without
curl -s -w '\n' "$BASE/hello" -H "Authorization: Bearer $ACCESS"
curl -s -w '\n' "$BASE/hello"
# --8<-- [end:hello]

# --8<-- [start:company]
# 403 permission_denied: Ada has not verified her email yet
curl -s -w '\n' "$BASE/company" -H "Authorization: Bearer $ACCESS"
# --8<-- [end:company]

# --8<-- [start:monthly]
# 402 subscription_required: Ada is on the free plan; "plans" says what to buy
curl -s -w '\n' "$BASE/reports/monthly" -H "Authorization: Bearer $ACCESS"
# --8<-- [end:monthly]
