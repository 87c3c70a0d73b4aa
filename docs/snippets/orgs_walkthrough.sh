#!/usr/bin/env bash
# The organizations walk-through of docs/orgs.md, against `saaskit demo` with billing on:
#   SAASKIT_BILLING__ENABLED=true SAASKIT_BILLING__SECRET_KEY=sk_test_...
#   SAASKIT_BILLING__WEBHOOK_SECRET=whsec_... SAASKIT_ORGS__SYNC_SEAT_QUANTITY=true
#   SAASKIT_BILLING__PLANS='{"team": {"price": "team_seat"}}'   (a per-seat Stripe price)
# tests/docs/test_orgs_walkthrough.py runs its steps one by one against a live demo and a fake
# Stripe, doing what a person does between them (open the email, pay in Stripe's page).
# --8<-- [start:walkthrough]
BASE=http://127.0.0.1:8000/api/v1
JSON=(-H 'Content-Type: application/json')
field() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }

# 1. Alice signs up and logs in
curl -s -o /dev/null -X POST "$BASE/auth/register" "${JSON[@]}" \
  -d '{"email": "alice@example.com", "password": "correct horse battery"}'
ALICE="Authorization: Bearer $(curl -s -X POST "$BASE/auth/login" "${JSON[@]}" \
  -d '{"email": "alice@example.com", "password": "correct horse battery"}' | field '["access_token"]')"

# 2. Create an organization: Alice is its owner
ORG=$(curl -s -X POST "$BASE/orgs" -H "$ALICE" "${JSON[@]}" -d '{"name": "Acme"}' | field '["id"]')
curl -s -w '\n' "$BASE/orgs/$ORG" -H "$ALICE"           # {"id":1,"name":"Acme","role":"owner",...}

# 3. Invite Bob: he gets an email whose link carries the invitation's token
curl -s -w '\n' -X POST "$BASE/orgs/$ORG/invitations" -H "$ALICE" "${JSON[@]}" \
  -d '{"email": "bob@example.com", "role": "member"}'  # {"id":1,"email":"bob@example.com",...}

# 4. Bob accepts. He has no account yet, so he registers with the token from the link
#    (`saaskit demo` prints emails in its terminal). Someone signed in with the invited,
#    verified address posts {"token": ...} to $BASE/orgs/invitations/accept instead.
curl -s -w '\n' -X POST "$BASE/orgs/invitations/register" "${JSON[@]}" \
  -d "{\"token\": \"$TOKEN\", \"password\": \"another good password\"}"  # {"role":"member",...}

# 5. Checkout for the organization, one seat per member (2); Alice pays on the page at `url`
curl -s -w '\n' -X POST "$BASE/billing/create-checkout-session?owner=organization:$ORG" \
  -H "$ALICE" "${JSON[@]}" -d '{"plan": "team", "quantity": 2}'  # {"id":"cs_...","url":...}

# 6. Once Stripe's webhook arrived: the organization's plan, its subscription with 2 seats
curl -s -w '\n' "$BASE/billing/subscription?owner=organization:$ORG" -H "$ALICE"
#    {"plan":"team","entitled":true,...,"subscription":{...,"quantity":2,...}}

# 7. Remove Bob: his next request to the organization gets 404
BOB_ID=$(curl -s "$BASE/orgs/$ORG/members" -H "$ALICE" \
  | field '["items"][1]["user_id"]')
curl -s -o /dev/null -w '%{http_code}\n' -X DELETE "$BASE/orgs/$ORG/members/$BOB_ID" -H "$ALICE"

# 8. The quantity drops: a job sets it to the member count on Stripe (never an increment),
#    and the webhook that follows updates the local subscription
curl -s -w '\n' "$BASE/billing/subscription?owner=organization:$ORG" -H "$ALICE"
#    {"plan":"team",...,"subscription":{...,"quantity":1,...}}

# 9. Every change is in the organization's audit trail
curl -s -w '\n' "$BASE/orgs/$ORG/audit" -H "$ALICE"
# --8<-- [end:walkthrough]
