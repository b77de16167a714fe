#!/usr/bin/env bash
# The seed's workflow ("Understanding Jamf Pro API Roles And Clients", bonus section), with the
# curl commands exactly as the seed writes them. Two changes only:
#   - the host: https://yourserver.jamfcloud.com -> $JAMF_URL (the simulator);
#   - `/usr/bin/plutil -extract KEY raw FILE` (macOS only) -> `json_get KEY FILE` (python3),
#     and /tmp/*.txt -> files in $OUT so parallel runs do not collide.
# Expects: JAMF_URL, OUT (a writable directory). Exits non-zero on the first unexpected answer.
set -euo pipefail
: "${JAMF_URL:?set JAMF_URL}" "${OUT:?set OUT}"

json_get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[2]))[sys.argv[1]])' "$1" "$2"; }
check() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert $2, d" "$1" || { echo "seed-workflow: check failed: $2" >&2; exit 1; }; }

# obtain a Bearer Token using Basic Authentication, write the output to a file
/usr/bin/curl --request POST \
              --url "$JAMF_URL/api/v1/auth/token" \
              --header 'accept: application/json' \
              --user "jamfsw:jamf1234" \
              --output "$OUT/bearer-token.txt"
check "$OUT/bearer-token.txt" "'token' in d and 'expires' in d"

# extract the token from the JSON
token=$(json_get token "$OUT/bearer-token.txt")

# List existing API Roles
/usr/bin/curl --request GET \
              --url "$JAMF_URL/api/v1/api-roles?page=0&page-size=100&sort=id%3Aasc" \
              --header 'accept: application/json' \
              --header "authorization: Bearer $token" \
              --output "$OUT/curl-output.txt"
check "$OUT/curl-output.txt" "d['totalCount'] == 1 and d['results'][0]['id'] == '1'"

# Get a list of all possible privileges
/usr/bin/curl --request GET \
              --url "$JAMF_URL/api/v1/api-role-privileges" \
              --header 'accept: application/json' \
              --header "authorization: Bearer $token" \
              --output "$OUT/api-role-privileges.txt"
check "$OUT/api-role-privileges.txt" "len(d['privileges']) == 522"

# search for privileges associated with Static Computer Groups
/usr/bin/curl --request GET \
              --url "$JAMF_URL/api/v1/api-role-privileges/search?name=Static%20Computer%20Groups&limit=15" \
              --header 'accept: application/json' \
              --header "authorization: Bearer $token" \
              --output "$OUT/api-role-privileges.txt"
check "$OUT/api-role-privileges.txt" "sorted(d['privileges']) == ['Create Static Computer Groups', 'Delete Static Computer Groups', 'Read Static Computer Groups', 'Update Static Computer Groups']"

# Create a new API Role
/usr/bin/curl --request POST \
              --url "$JAMF_URL/api/v1/api-roles" \
              --header 'accept: application/json' \
              --header 'Content-Type: application/json' \
              --header "authorization: Bearer $token" \
              --output "$OUT/curl-output.txt" \
              --data '{
                          "displayName": "Amend Static Groups",
                          "privileges": [
                              "Create Static Computer Groups",
                              "Read Static Computer Groups",
                              "Update Static Computer Groups"
                          ]
                       }'
check "$OUT/curl-output.txt" "d['id'] == '2' and d['displayName'] == 'Amend Static Groups' and sorted(d['privileges']) == ['Create Static Computer Groups', 'Read Static Computer Groups', 'Update Static Computer Groups']"

# List existing API Clients
/usr/bin/curl --request GET \
              --url "$JAMF_URL/api/v1/api-integrations?page=0&page-size=100&sort=id%3Aasc" \
              --header 'accept: application/json' \
              --header "authorization: Bearer $token" \
              --output "$OUT/curl-output.txt"
check "$OUT/curl-output.txt" "d['totalCount'] == 0"

# Create a new API Client
/usr/bin/curl --request POST \
              --url "$JAMF_URL/api/v1/api-integrations" \
              --header 'accept: application/json' \
              --header 'Content-Type: application/json' \
              --header "authorization: Bearer $token" \
              --output "$OUT/curl-output.txt" \
              --data '{
                          "authorizationScopes": [
                              "Amend Static Groups"
                          ],
                          "displayName": "Static Group Amendment Client",
                          "enabled": true,
                          "accessTokenLifetimeSeconds": 300
                       }'
check "$OUT/curl-output.txt" "d['id'] == 1 and d['appType'] == 'NONE' and d['enabled'] is True and d['authorizationScopes'] == ['Amend Static Groups'] and len(d['clientId']) == 36"

# Create client credentials for an API Client
/usr/bin/curl --request POST \
              --url "$JAMF_URL/api/v1/api-integrations/1/client-credentials" \
              --header 'accept: application/json' \
              --header "authorization: Bearer $token" \
              --output "$OUT/curl-output.txt"
check "$OUT/curl-output.txt" "len(d['clientSecret']) == 64 and len(d['clientId']) == 36"
client_id=$(json_get clientId "$OUT/curl-output.txt")
client_secret=$(json_get clientSecret "$OUT/curl-output.txt")

# Using an API Client to generate an access token
/usr/bin/curl --request POST \
              --url "$JAMF_URL/api/oauth/token" \
              --header 'Content-Type: application/x-www-form-urlencoded' \
              --data-urlencode "client_id=$client_id" \
              --data-urlencode 'grant_type=client_credentials' \
              --data-urlencode "client_secret=$client_secret" \
              --output "$OUT/access-token.txt"
check "$OUT/access-token.txt" "d['token_type'] == 'Bearer' and d['scope'] == 'api-role:2' and d['expires_in'] == 299"
access_token=$(json_get access_token "$OUT/access-token.txt")

# the access token can read what its role allows (nothing about API roles: 403)
code=$(/usr/bin/curl --silent --output /dev/null --write-out '%{http_code}' --request GET \
              --url "$JAMF_URL/api/v1/api-roles" \
              --header "authorization: Bearer $access_token")
[ "$code" = 403 ] || { echo "seed-workflow: expected 403 for a client without Read API Roles, got $code" >&2; exit 1; }

# revoke the access token
/usr/bin/curl --request POST \
              --url "$JAMF_URL/api/v1/auth/invalidate-token" \
              --header 'accept: application/json' \
              --header "authorization: Bearer $access_token"
code=$(/usr/bin/curl --silent --output /dev/null --write-out '%{http_code}' --request GET \
              --url "$JAMF_URL/api/v1/api-roles" \
              --header "authorization: Bearer $access_token")
[ "$code" = 401 ] || { echo "seed-workflow: expected 401 after invalidate-token, got $code" >&2; exit 1; }

# Amend or delete: a role in use cannot be deleted (409), the client can, then the role can
code=$(/usr/bin/curl --silent --output /dev/null --write-out '%{http_code}' --request DELETE \
              --url "$JAMF_URL/api/v1/api-roles/2" \
              --header 'accept: application/json' \
              --header "authorization: Bearer $token")
[ "$code" = 409 ] || { echo "seed-workflow: expected 409 deleting a role in use, got $code" >&2; exit 1; }
/usr/bin/curl --request DELETE \
              --url "$JAMF_URL/api/v1/api-integrations/1" \
              --header 'accept: application/json' \
              --header "authorization: Bearer $token"
/usr/bin/curl --request DELETE \
              --url "$JAMF_URL/api/v1/api-roles/2" \
              --header 'accept: application/json' \
              --header "authorization: Bearer $token"
/usr/bin/curl --request GET \
              --url "$JAMF_URL/api/v1/api-roles?page=0&page-size=100&sort=id%3Aasc" \
              --header 'accept: application/json' \
              --header "authorization: Bearer $token" \
              --output "$OUT/curl-output.txt"
check "$OUT/curl-output.txt" "d['totalCount'] == 1"

# revoke the Bearer Token
/usr/bin/curl --request POST \
              --url "$JAMF_URL/api/v1/auth/invalidate-token" \
              --header 'accept: application/json' \
              --header "authorization: Bearer $token"
echo "seed-workflow: ok"
