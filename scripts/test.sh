#!/usr/bin/env bash
# The whole test suite, from a fresh machine: Dovecot from Debian's packages, the project
# and its test dependencies in .venv, then pytest. The tests start their own private
# Dovecot on free loopback ports and the embedded IMAP server in-process.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "== installing Debian's dovecot-imapd (the IMAP server the tests run against)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null
    else
        echo "Dovecot is missing: sudo apt-get install dovecot-imapd, then run this again." >&2
        exit 1
    fi
fi

if [ ! -x .venv/bin/python ]; then
    echo "== creating .venv"
    python3 -m venv .venv
fi
echo "== installing mailflow and its test dependencies"
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

echo "== running the tests"
exec .venv/bin/python -m pytest "$@"
