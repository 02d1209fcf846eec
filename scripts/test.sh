#!/usr/bin/env bash
# The whole test suite, from a fresh machine: Dovecot and PostgreSQL from Debian's
# packages, the project and its test dependencies in .venv, then pytest twice — on
# SQLite, then on PostgreSQL. The tests start their own private Dovecot and PostgreSQL
# on free loopback ports, the embedded IMAP server and aiosmtpd.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "== installing Debian's ${missing[*]} (the servers the tests run against)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "Missing: sudo apt-get install ${missing[*]}, then run this again." >&2
        exit 1
    fi
fi

if [ ! -x .venv/bin/python ]; then
    echo "== creating .venv"
    python3 -m venv .venv
fi
echo "== installing mailflow and its test dependencies"
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[demo,test]'

echo "== the tests on SQLite"
.venv/bin/python -m pytest "$@"
echo "== the tests on PostgreSQL"
MAILFLOW_TEST_DB=postgresql .venv/bin/python -m pytest "$@"
