#!/usr/bin/env bash
# Checks Schemas/openapi.json against a running `handover serve`:
#   1. the document is valid OpenAPI 3.1 (openapi-spec-validator);
#   2. the server serves the same document at /openapi.json, and refuses a request without a token as documented;
#   3. schemathesis sends generated requests (valid and invalid) with the operator token, then with the tenant
#      token, and fails on any 5xx and on any status, content type, header or body the document does not describe.
# Usage: scripts/check-openapi.sh BASE_URL OPERATOR_TOKEN TENANT_TOKEN
# Exits non-zero on any failure and prints a one-line summary last.
# The server counts failed authentications per peer (schemathesis sends some on purpose): start it with a high
# limit. Tuning: CHECK_OPENAPI_EXAMPLES (per operation, default 25), CHECK_OPENAPI_SEED (default 20261130),
# CHECK_OPENAPI_CHECKS (comma-separated schemathesis checks, replacing the default list).
set -euo pipefail

if (($# != 3)); then
    echo "usage: $0 BASE_URL OPERATOR_TOKEN TENANT_TOKEN" >&2
    exit 64
fi
base=${1%/}
operator_token=$2
tenant_token=$3
cd "$(dirname "$0")/.."
root=$PWD
spec=Schemas/openapi.json
examples=${CHECK_OPENAPI_EXAMPLES:-25}
seed=${CHECK_OPENAPI_SEED:-20261130}
started=$SECONDS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
    echo "check-openapi: FAIL: $*"
    exit 1
}

# 1. The document itself.
if python3 -c "import openapi_spec_validator" >/dev/null 2>&1; then
    python3 -m openapi_spec_validator "$spec" >"$work/validator.log" 2>&1 || {
        cat "$work/validator.log" >&2
        fail "$spec is not a valid OpenAPI document"
    }
elif command -v openapi-spec-validator >/dev/null 2>&1; then
    openapi-spec-validator "$spec" >"$work/validator.log" 2>&1 || {
        cat "$work/validator.log" >&2
        fail "$spec is not a valid OpenAPI document"
    }
else
    fail "openapi-spec-validator is not installed (python3 -m pip install openapi-spec-validator schemathesis)"
fi

# 2. The served document, and a request without a token.
python3 - "$base" "$spec" <<'PY' || fail "the server does not answer as documented (see above)"
import json, sys, urllib.request, urllib.error

base, spec = sys.argv[1], sys.argv[2]
with open(spec, encoding="utf-8") as f:
    document = json.load(f)
with urllib.request.urlopen(base + "/openapi.json", timeout=10) as response:
    served = json.load(response)
if served != document:
    sys.exit(f"GET /openapi.json is not {spec}")
try:
    urllib.request.urlopen(base + "/v1/requests", timeout=10)
    sys.exit("GET /v1/requests without a token was not refused")
except urllib.error.HTTPError as error:
    body = json.loads(error.read())
    if error.code != 401 or error.headers.get("Content-Type") != "application/problem+json":
        sys.exit(f"GET /v1/requests without a token: {error.code} {error.headers.get('Content-Type')}, not a 401 problem")
    if not (error.headers.get("WWW-Authenticate") or "").startswith("Bearer "):
        sys.exit("GET /v1/requests without a token: no WWW-Authenticate: Bearer")
    if body.get("status") != 401 or not all(isinstance(body.get(k), str) for k in ("type", "title", "detail")):
        sys.exit(f"GET /v1/requests without a token: not RFC 9457 problem details: {body}")
PY

# 3. schemathesis, whichever major version is installed (3.x or 4.x).
if command -v schemathesis >/dev/null 2>&1; then
    st=(schemathesis)
elif python3 -c "import schemathesis" >/dev/null 2>&1; then
    st=(python3 -m schemathesis.cli)
else
    fail "schemathesis is not installed (python3 -m pip install openapi-spec-validator schemathesis)"
fi
version=$(python3 -c "import importlib.metadata as m; print(m.version('schemathesis'))" 2>/dev/null || echo unknown)
help=$("${st[@]}" run --help 2>&1) || fail "cannot run schemathesis: $help"
has() { grep -q -e "$1" <<<"$help"; }

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance
checks+=,response_schema_conformance
# A documented-as-protected operation that answers 2xx without a token (schemathesis 4 probes each once).
has ignored_auth && checks+=,ignored_auth
checks=${CHECK_OPENAPI_CHECKS:-$checks}

common=(--checks "$checks")
if [[ $version == 4.* ]] || { [[ $version != 3.* ]] && has "--url URL"; }; then
    # schemathesis 4
    common+=(--url "$base" --max-examples "$examples" --seed "$seed" --request-timeout 30 --no-color)
    has "--generation-database" && common+=(--generation-database none)
    has "--suppress-health-check" && common+=(--suppress-health-check all)
    report() { echo --report junit --report-junit-path "$1"; }
else
    # schemathesis 3: OpenAPI 3.1 is experimental there; timeouts in milliseconds
    common+=(--base-url "$base" --hypothesis-max-examples "$examples" --hypothesis-seed "$seed")
    common+=(--request-timeout 30000 --hypothesis-database none --hypothesis-suppress-health-check all)
    has "openapi-3.1" && common+=(--experimental openapi-3.1)
    has "--stateful" && common+=(--stateful links)
    has "--no-color" && common+=(--no-color)
    # schemathesis 3 parses the empty body of a HEAD error as JSON and fails: the GETs cover those routes.
    has "--exclude-method" && common+=(--exclude-method HEAD)
    report() { echo --junit-xml "$1"; }
fi

# run NAME TOKEN: one schemathesis run with TOKEN, its JUnit report in $work/NAME.xml. It runs in a directory of
# its own, so that no schemathesis.toml is picked up and no cache (.schemathesis, .hypothesis) is left behind or
# replayed from an earlier run.
run() {
    local junit="$work/$1.xml"
    mkdir -p "$work/$1"
    echo "== schemathesis $version, $1 token: ${st[*]} run $spec ${common[*]} -H 'Authorization: Bearer ***' $(report "$junit")" >&2
    (cd "$work/$1" && "${st[@]}" run "$root/$spec" "${common[@]}" -H "Authorization: Bearer $2" $(report "$junit")) >&2
}

operator_status=0
tenant_status=0
run operator "$operator_token" || operator_status=$?
run tenant "$tenant_token" || tenant_status=$?

summary=$(python3 - "$work/operator.xml" "$work/tenant.xml" <<'PY'
import sys, xml.etree.ElementTree as ET

parts = []
for path in sys.argv[1:]:
    name = path.rsplit("/", 1)[-1][:-4]
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        parts.append(f"{name} token: no report")
        continue
    cases = root.iter("testcase")
    total = failed = 0
    for case in cases:
        total += 1
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
    parts.append(f"{name} token: {total} tests, {failed} failing")
print("; ".join(parts))
PY
)
elapsed=$((SECONDS - started))
if ((operator_status != 0 || tenant_status != 0)); then
    echo "check-openapi: FAIL: schemathesis $version against $base ($summary; ${elapsed}s)"
    exit 1
fi
echo "check-openapi: OK: $spec is valid OpenAPI and schemathesis $version found no failure against $base ($summary; ${elapsed}s)"
