#!/usr/bin/env bash
# `make test`: the whole suite as two lanes at once, the fault rehearsals (tests/faults, marker `fault`) beside
# everything else. Each lane is its own pytest session with its own Redis, database and servers; both mostly wait
# on worker processes, redelivery timeouts and local servers, so on a 2-core machine the two together take little
# longer than the longer one. The other lane's output is printed live; the rehearsals' after it
# (and kept in var/test/faults.log). Exit status: non-zero if either lane failed.
#
#   tests/lanes.sh PYTHON [pytest args...]     # extra args go to both lanes
set -uo pipefail
python=${1:?usage: tests/lanes.sh PYTHON [pytest args...]}
shift
mkdir -p var/test
log=var/test/faults.log
set -m  # the rehearsal lane gets its own process group, so Ctrl-C can be passed on to it (and it can clean up)
"$python" -m pytest -q -m fault "$@" > "$log" 2>&1 &
faults=$!
set +m
trap 'kill -INT -- -"$faults" 2>/dev/null; wait "$faults"; exit 130' INT TERM
echo "tests: the fault rehearsals run alongside (output after this lane's; log $log)"
"$python" -m pytest -q -m "not fault" "$@"
main=$?
wait "$faults"
lane=$?
trap - INT TERM
echo "tests: fault rehearsals (ran alongside):"
cat "$log"
[ "$lane" -eq 5 ] && lane=0  # 5: nothing collected (a run narrowed by its args)
[ "$main" -eq 5 ] && main=0
if [ "$main" -ne 0 ] || [ "$lane" -ne 0 ]; then
  echo "tests: failed (tests $main, fault rehearsals $lane)"
  exit 1
fi
