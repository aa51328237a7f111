#!/bin/bash
# tests/v2vm/guest.sh - pid 1 of the v2vm guest (started by tests/v2vm/init;
# see tests/v2vm/run.sh).  The host's tree is read-only here; the results
# share ($v2vm_results) holds env (from the host) and receives guest.log,
# junit.xml and verdict.  Always powers the VM off at the end.
set -u
R=${v2vm_results:?}
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1
poweroff_now() { sync; echo o > /proc/sysrq-trigger; sleep 30; }
trap poweroff_now EXIT
# shellcheck source=/dev/null
. "$R/env"
exec >>"$R/guest.log" 2>&1
log() { printf '=== guest %s: %s\n' "$(date +%H:%M:%S)" "$*" | tee /dev/console; }
verdict() { echo "$*" >> "$R/verdict"; }

log "kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"
hostname v2vm
ip link set lo up
[ -e /proc/sys/kernel/unprivileged_userns_clone ] && echo 1 > /proc/sys/kernel/unprivileged_userns_clone
grep cgroup /proc/mounts
ctrls=$(cat /sys/fs/cgroup/cgroup.controllers)
log "cgroup2 root controllers: $ctrls"
grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts && ! grep -q ' cgroup ' /proc/mounts ||
	{ verdict "not a pure cgroup v2 guest"; verdict "v2vm summary: FAILED"; exit 1; }
# as systemd does on a Debian 12 host: every controller it manages
echo "+cpuset +cpu +io +memory +pids" > /sys/fs/cgroup/cgroup.subtree_control ||
	{ verdict "cannot enable +cpuset +cpu +io +memory +pids"; verdict "v2vm summary: FAILED"; exit 1; }

# The test runner lives in a delegated directory D, as the responders do
# under systemd (Delegate=yes): the jail moves D's processes into
# D/supervisor and makes its per-run leaves D/jail-<pid>-<n>.
D=/sys/fs/cgroup/sandbox-test
mkdir -p "$D"
log "running tests/jail/test_jail.py in $D (SANDBOX_LEAK_RUNS=$LEAK_RUNS${PYTEST_EXTRA:+, $PYTEST_EXTRA})"
t0=$SECONDS
(
	echo "$BASHPID" > "$D/cgroup.procs" || exit 99
	cd "$REPO" || exit 99
	# shellcheck disable=SC2086
	exec env SANDBOX_RUN="$BUILD/src/cli/sandbox-run" SANDBOX_JAIL_LOOP="$BUILD/tests/jail/jail_loop" \
		SANDBOX_TEST_ROOTFS="$ROOTFS" SANDBOX_MUST_WORK=1 SANDBOX_TEST_CGROUP="$D" \
		SANDBOX_TEST_EXPECT_V2=1 SANDBOX_LEAK_RUNS="$LEAK_RUNS" \
		/usr/bin/python3 -m pytest -p no:cacheprovider -v -rs --durations=20 \
		--junitxml="$R/junit.xml" $PYTEST_EXTRA tests/jail/test_jail.py
)
rc=$?
log "pytest rc=$rc after $((SECONDS - t0)) s"

# Nothing of the runs may be left: only D/supervisor under D.
sleep 1
left=$(find "$D" -mindepth 1 -maxdepth 1 -type d ! -name supervisor -printf '%f ')
log "D after the tests: subdirs $(find "$D" -mindepth 1 -maxdepth 1 -type d -printf "%f "); leftover: ${left:-none}; cgroup.stat: $(tr '\n' ' ' < "$D/cgroup.stat")"

/usr/bin/python3 - "$R/junit.xml" "$rc" "$left" "$(uname -r)" "$ctrls" >> "$R/verdict" <<'EOF'
import sys
import xml.etree.ElementTree as ET
path, rc, left, kernel, ctrls = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4], sys.argv[5]
# Skips allowed on a pure v2 guest: tests of the other modes.
allowed = {"test_unprivileged_with_delegated_v1_cgroup"}
res = {"passed": [], "failed": [], "skipped": []}
try:
    for tc in ET.parse(path).getroot().iter("testcase"):
        name = tc.get("name")
        if tc.find("failure") is not None or tc.find("error") is not None:
            res["failed"].append(name)
        elif tc.find("skipped") is not None:
            res["skipped"].append(name)
        else:
            res["passed"].append(name)
except (OSError, ET.ParseError) as e:
    print("no junit.xml:", e)
bad_skips = [n for n in res["skipped"] if n.split("[")[0] not in allowed]
print(f"kernel {kernel}, pure cgroup v2, root controllers: {ctrls}")
print(f"tests: {len(res['passed'])} passed, {len(res['failed'])} failed, {len(res['skipped'])} skipped")
print("passed:", " ".join(res["passed"]))
for k in ("failed", "skipped"):
    if res[k]:
        print(f"{k}:", " ".join(res[k]))
if bad_skips:
    print("skipped where v2 must work:", " ".join(bad_skips))
if left:
    print("leftover cgroups:", " ".join(left))
ok = rc == 0 and res["passed"] and not res["failed"] and not bad_skips and not left
print("v2vm summary:", "PASSED" if ok else "FAILED")
EOF
tee /dev/console < "$R/verdict" >/dev/null
