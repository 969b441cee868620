#!/usr/bin/env bash
# Create the session tables exactly as `sessiondrill up` creates them on the
# embedded node (src/dynamo.rs, ensure_session_table): PK/SK strings,
# on-demand billing, TTL on `expires_at`. Idempotent.
#
# Tables: SESSIONDRILL_TABLES (space-separated), default "sessions".
set -euo pipefail

for table in ${SESSIONDRILL_TABLES:-sessions}; do
  if awslocal dynamodb describe-table --table-name "$table" >/dev/null 2>&1; then
    echo "sessiondrill: table $table exists"
  else
    awslocal dynamodb create-table \
      --table-name "$table" \
      --attribute-definitions AttributeName=PK,AttributeType=S AttributeName=SK,AttributeType=S \
      --key-schema AttributeName=PK,KeyType=HASH AttributeName=SK,KeyType=RANGE \
      --billing-mode PAY_PER_REQUEST >/dev/null
    awslocal dynamodb wait table-exists --table-name "$table"
    echo "sessiondrill: created table $table"
  fi
  awslocal dynamodb update-time-to-live \
    --table-name "$table" \
    --time-to-live-specification Enabled=true,AttributeName=expires_at >/dev/null 2>&1 || true
done
