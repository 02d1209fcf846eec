#!/usr/bin/env bash
# The whole test suite, from a fresh machine: Dovecot, PostgreSQL and faketime from
# Debian's packages, the project and its test dependencies in .venv, then pytest: on
# SQLite, on PostgreSQL (the tests that open the database), and the tests that judge dates on SQLite again under a clock in
# 2027 and in 2030 (every time a test relies on is pinned; these runs prove it). The
# tests start their own private Dovecot and PostgreSQL on free loopback ports, the
# embedded IMAP server and aiosmtpd. A failing run does not stop the others; a summary
# at the end names each run's outcome, and the exit status is 1 if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v faketime >/dev/null 2>&1 || missing+=(faketime)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "== installing Debian's ${missing[*]} (the servers the tests run against, the fake clock)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || exit 1
    elif [ "${missing[*]}" != faketime ] || [ "${CI:-}" = true ]; then
        echo "Missing: sudo apt-get install ${missing[*]}, then run this again." >&2
        exit 1
    fi
fi

if [ ! -x .venv/bin/python ]; then
    echo "== creating .venv"
    python3 -m venv .venv || exit 1
fi
echo "== installing mailflow and its test dependencies"
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[demo,test]' || exit 1

summary=()
failed=0
# Each pytest run spreads its tests over two worker processes (pytest-xdist): most tests
# wait on a server, so two at a time use the machine's two cores instead of one. Each
# worker starts its own Dovecot, PostgreSQL and SMTP servers on free loopback ports.
workers=(-n "${MAILFLOW_TEST_WORKERS:-2}")
mkdir -p build

# record NAME CODE SECONDS: one run's outcome and wall time, for the summary.
record() {
    local name=$1 code=$2 took=$3
    if [ "$code" = 0 ]; then
        summary+=("passed  $name ($((took / 60))m$((took % 60))s)")
    else
        summary+=("FAILED  $name ($((took / 60))m$((took % 60))s, pytest exit $code)")
        failed=1
    fi
}

# run NAME COMMAND...: one pytest run in the foreground, its output as it comes.
run() {
    local name=$1 started code
    shift
    echo "== the tests $name"
    started=$(date +%s)
    "$@"
    code=$?
    record "$name" $code $(( $(date +%s) - started ))
}

# start ID NAME COMMAND...: one pytest run in the background, its output kept in
# build/tests-ID.log and printed whole by `finish ID`, which waits for it. Its end time
# is written when it ends, so the summary gives its own length.
declare -A bg_pid bg_started bg_name
start() {
    local id=$1 name=$2 file="build/tests-$1"
    shift 2
    rm -f "$file.ended"
    echo "== the tests $name: started beside the others, output follows when it ends"
    bg_started[$id]=$(date +%s)
    bg_name[$id]=$name
    (
        "$@"
        code=$?
        date +%s >"$file.ended"
        exit $code
    ) >"$file.log" 2>&1 &
    bg_pid[$id]=$!
}
finish() {
    local id=$1 file="build/tests-$1" code
    local name=${bg_name[$id]} began=${bg_started[$id]}
    wait "${bg_pid[$id]}"
    code=$?
    echo "== the tests $name"
    cat "$file.log"
    record "$name" $code $(( $(cat "$file.ended" 2>/dev/null || date +%s) - began ))
}

# faked WHEN COMMAND...: COMMAND with the wall clock starting at WHEN (ISO 8601) and
# running. One offset for every process (pytest, the `mailflow run` it starts, openssl
# writing the test certificates), so their clocks agree; Dovecot and PostgreSQL run on
# the real clock (tests/servers.py). The monotonic clock stays real, so every timeout
# keeps its length. libfaketime 0.9.10 then shifts waits on the monotonic clock by the
# fake offset: FAKETIME_FORCE_MONOTONIC_FIX=0 keeps pthread_cond_timedwait real (else
# Python's GIL wait times out at once, threads hand the GIL over thousands of times a
# second, and the embedded IMAP server and the demo run 5-7 times slower), and
# tests/clock replaces time.sleep, whose clock_nanosleep it breaks.
faked() {
    local when=$1
    shift
    local offset=$(( $(date -d "$when" +%s) - $(date +%s) ))
    PYTHONPATH="$PWD/tests/clock${PYTHONPATH:+:$PYTHONPATH}" FAKETIME_DONT_FAKE_MONOTONIC=1 \
        FAKETIME_FORCE_MONOTONIC_FIX=0 faketime -f "+$offset" "$@"
}

# Under the fake clock: the tests marked `anydate` (tests/conftest.py names them):
# every test that judges a date or a time, with one demo run, about two minutes each on
# two cores. What judges no date (protocol, fault and kill tests, bad mail, instances,
# the wheel) runs in the SQLite and PostgreSQL runs only, which have the whole suite.
# clock_start WHEN: checks that faketime is there and takes effect, then starts the run.
clocks=()
clock_start() {
    local when=$1
    shift
    if ! command -v faketime >/dev/null 2>&1; then
        echo "== the tests under a clock at $when: faketime is missing (apt-get install faketime)" >&2
        if [ "${CI:-}" = true ]; then
            summary+=("FAILED  under a clock at $when: faketime is not installed")
            failed=1
        else
            summary+=("SKIPPED under a clock at $when: faketime is not installed")
        fi
        return
    fi
    local seen
    seen=$(faked "$when" .venv/bin/python -c \
        'import datetime; print(datetime.datetime.now(datetime.timezone.utc).year)')
    if [ "$seen" != "${when:0:4}" ]; then
        echo "faketime did not set the clock: Python sees the year '$seen', not ${when:0:4}" >&2
        summary+=("FAILED  under a clock at $when: faketime did not take effect")
        failed=1
        return
    fi
    start "clock-${when:0:4}" "under a clock at $when (SQLite)" faked "$when" .venv/bin/python -m pytest "${workers[@]}" \
        -m "anydate and not clockfree" "$@"
    clocks+=("clock-${when:0:4}")
}

# The four runs go two at a time: the tests mostly wait on servers, so one run alone
# leaves a third of the two cores idle, and each run has its own servers and database.
# On PostgreSQL: every test that opens the database (tests/conftest.py: a test that asks
# for no database server, or is named in DBFREE, would repeat the SQLite run exactly),
# beside the SQLite run. Then the two runs under a fake clock, side by side.
start postgresql "on PostgreSQL" env MAILFLOW_TEST_DB=postgresql .venv/bin/python -m pytest \
    "${workers[@]}" -m "not dbfree" "$@"
run "on SQLite" .venv/bin/python -m pytest "${workers[@]}" "$@"
clock_start "2027-01-04T09:00:00+08:00" "$@"
clock_start "2030-12-31T23:30:00+08:00" "$@"
finish postgresql
for id in "${clocks[@]}"; do
    finish "$id"
done

echo "== summary"
printf '%s\n' "${summary[@]}"
exit $failed
