#!/usr/bin/env bash
# Installs the Debian packages Handover needs, when they are missing.
# As root it runs apt-get; otherwise it prints the exact command and stops.
set -euo pipefail

# chromium and chromium-driver: scripts/browser-test.py drives the tenant web page in headless Chromium.
# age and minisign: the receivers' own tools, which the tests run against what Handover encrypts and signs.
packages=(pkg-config libsqlite3-dev libxml2-dev libarchive-dev zlib1g-dev libdeflate-dev libxml2-utils sqlite3 zstd time python3 curl chromium chromium-driver age minisign)
missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} > 0)); then
    if [[ $(id -u) -eq 0 ]]; then
        echo "Installing: ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "Handover needs these Debian packages: ${missing[*]}" >&2
        echo "Install them with:" >&2
        echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

# The tests check Handover's output with independent tools: Python's jsonschema and yaml.
if ! python3 -c "import jsonschema, yaml" >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]]; then
        # Debian's own Python takes Debian's packages (pip is refused there, PEP 668) ...
        apt-get install -y -qq --no-install-recommends python3-jsonschema python3-yaml >/dev/null
        # ... and a Python of its own (pyenv, a virtualenv) takes pip's.
        python3 -c "import jsonschema, yaml" >/dev/null 2>&1 || python3 -m pip install --quiet jsonschema pyyaml
    else
        echo "The tests need Python's jsonschema and yaml:" >&2
        echo "  sudo apt-get install -y python3-jsonschema python3-yaml" >&2
        exit 1
    fi
fi

# ... and check bundles as their receivers would: frictionless-py (`frictionless validate`) and bagit-python.
if ! python3 -c "import frictionless, bagit" >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] || [[ -n "${VIRTUAL_ENV:-}" ]] || python3 -c "import sys; sys.exit(sys.prefix == '/usr')"; then
        python3 -m pip install --quiet "frictionless>=5,<6" bagit \
            || python3 -m pip install --quiet --break-system-packages "frictionless>=5,<6" bagit
    else
        echo "The tests need frictionless-py 5 and bagit-python:" >&2
        echo "  python3 -m pip install --user 'frictionless>=5,<6' bagit" >&2
        exit 1
    fi
fi

# ... and check the delivery service against its OpenAPI document (scripts/check-openapi.sh): openapi-spec-validator
# and schemathesis.
if ! python3 -c "import openapi_spec_validator, schemathesis" >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] || [[ -n "${VIRTUAL_ENV:-}" ]] || python3 -c "import sys; sys.exit(sys.prefix == '/usr')"; then
        python3 -m pip install --quiet "openapi-spec-validator>=0.7,<1" "schemathesis>=4,<5" \
            || python3 -m pip install --quiet --break-system-packages "openapi-spec-validator>=0.7,<1" "schemathesis>=4,<5"
    else
        echo "The tests need openapi-spec-validator and schemathesis 4:" >&2
        echo "  python3 -m pip install --user 'openapi-spec-validator>=0.7,<1' 'schemathesis>=4,<5'" >&2
        exit 1
    fi
fi

# ... and drive the tenant web page in a real browser (scripts/browser-test.py): Selenium 4 with Debian's chromedriver.
if ! python3 -c "import selenium, sys; sys.exit(int(selenium.__version__.split('.')[0]) < 4)" >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] || [[ -n "${VIRTUAL_ENV:-}" ]] || python3 -c "import sys; sys.exit(sys.prefix == '/usr')"; then
        python3 -m pip install --quiet "selenium>=4,<5" \
            || python3 -m pip install --quiet --break-system-packages "selenium>=4,<5"
    else
        echo "The browser test needs Selenium 4:" >&2
        echo "  python3 -m pip install --user 'selenium>=4,<5'" >&2
        exit 1
    fi
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "Handover needs a Swift 6 toolchain on PATH (swift.org/install); none was found." >&2
    exit 1
fi
