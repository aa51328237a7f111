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
		SANDBOX_TEST_EXPECT_V2=1 SANDBOX_LEAK_RUNS="$LEAK_RUNS" SANDBOX_TEST_NO_TIMING=1 \
		/usr/bin/python3 -m pytest -p no:cacheprovider -v -rs --durations=20 \
		--junitxml="$R/junit.xml" $PYTEST_EXTRA tests/jail/test_jail.py
)
rc=$?
log "pytest rc=$rc after $((SECONDS - t0)) s"

# Nothing of the runs may be left: only D/supervisor under D.
sleep 1
left=$(find "$D" -mindepth 1 -maxdepth 1 -type d ! -name supervisor -printf '%f ')
log "D after the tests: subdirs $(find "$D" -mindepth 1 -maxdepth 1 -type d -printf "%f "); leftover: ${left:-none}; cgroup.stat: $(tr '\n' ' ' < "$D/cgroup.stat")"

# The same suite in the service's own mode (scripts/test.sh stage
# jail-service): every run as the service user (its uid from the host's
# /etc/passwd when the host made it, else an unused one: the guest's / is
# read-only), from the "pool" leaf of a directory delegated to it by
# svc_cgroup_delegate itself, with --cgroup D --require-cgroup.  The leak
# test runs at most 100 times here (it took 105 of this run's 234 s at 500).
svc_user=sandbox
id -u "$svc_user" >/dev/null 2>&1 || svc_user=4243
log "running tests/jail/test_jail.py as the service user ($svc_user), delegated /sys/fs/cgroup/sandbox-svc"
t1=$SECONDS
(
	cd "$REPO" || exit 99
	# shellcheck source=../../scripts/lib/service-common.sh
	. scripts/lib/service-common.sh
	SANDBOX_USER=$svc_user SANDBOX_CGROUP=sandbox-svc
	svc_defaults
	svc_cgroup_delegate || exit 98
	# shellcheck disable=SC2086
	exec env SANDBOX_RUN="$BUILD/src/cli/sandbox-run" SANDBOX_JAIL_LOOP="$BUILD/tests/jail/jail_loop" \
		SANDBOX_TEST_ROOTFS="$ROOTFS" SANDBOX_MUST_WORK=1 SANDBOX_TEST_CGROUP="$SANDBOX_CGROUP_ARG" \
		SANDBOX_TEST_SERVICE_USER="$svc_user" SANDBOX_TEST_EXPECT_V2=1 SANDBOX_TEST_NO_TIMING=1 \
		SANDBOX_LEAK_RUNS="$((LEAK_RUNS < 100 ? LEAK_RUNS : 100))" \
		/usr/bin/python3 -m pytest -p no:cacheprovider -v -rs --durations=10 \
		--junitxml="$R/junit-svc.xml" $PYTEST_EXTRA tests/jail/test_jail.py
)
rc_svc=$?
log "pytest (service mode) rc=$rc_svc after $((SECONDS - t1)) s"
sleep 1
S=/sys/fs/cgroup/sandbox-svc
left_svc=$(find "$S" -mindepth 1 -maxdepth 1 -type d ! -name supervisor ! -name pool -printf '%f ')
log "$S after the tests: subdirs $(find "$S" -mindepth 1 -maxdepth 1 -type d -printf "%f "); leftover: ${left_svc:-none}"

/usr/bin/python3 - "$(uname -r)" "$ctrls" "$R/junit.xml" "$rc" "$left" "$R/junit-svc.xml" "$rc_svc" "$left_svc" \
	>> "$R/verdict" <<'EOF'
import sys
import xml.etree.ElementTree as ET
kernel, ctrls = sys.argv[1], sys.argv[2]
# Skips allowed on a pure v2 guest: tests of the other modes (v1; the
# service-mode check in root mode), and in service mode the tests that
# make their own cgroups as host root (each says why: service_skip).
v1_only = {"test_unprivileged_with_delegated_v1_cgroup", "test_partial_v1_delegation_refused"}
# Wall-clock bounds of about a second (timing_bound() in test_jail.py):
# meaningless under software emulation; they run on the host in every CI run.
v1_only |= {"test_output_truncated_and_tool_memory_bounded", "test_flood_cannot_delay_the_deadline",
            "test_flood_cannot_delay_the_cancel", "test_cancel_fd_hangup_stops_the_job"}
runs = [("root", sys.argv[3], int(sys.argv[4]), sys.argv[5].split(), v1_only | {"test_service_mode_is_in_effect"}),
        ("service", sys.argv[6], int(sys.argv[7]), sys.argv[8].split(), v1_only | {
            "test_cgroup_v2_path_on_hybrid_host", "test_v2_caller_in_root_cgroup_moves_nobody",
            "test_v2_relative_cgroup_name_is_under_the_root", "test_v2_controllers_matched_as_words"})]
print(f"kernel {kernel}, pure cgroup v2, root controllers: {ctrls}")
ok = True
for mode, path, rc, left, allowed in runs:
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
        print(f"{mode}: no junit xml:", e)
    bad_skips = [n for n in res["skipped"] if n.split("[")[0] not in allowed]
    print(f"{mode} mode: {len(res['passed'])} passed, {len(res['failed'])} failed, {len(res['skipped'])} skipped")
    print(f"{mode} passed:", " ".join(res["passed"]))
    for k in ("failed", "skipped"):
        if res[k]:
            print(f"{mode} {k}:", " ".join(res[k]))
    if bad_skips:
        print(f"{mode}: skipped where v2 must work:", " ".join(bad_skips))
    if left:
        print(f"{mode}: leftover cgroups:", " ".join(left))
    ok = ok and rc == 0 and bool(res["passed"]) and not res["failed"] and not bad_skips and not left
print("v2vm summary:", "PASSED" if ok else "FAILED")
EOF
tee /dev/console < "$R/verdict" >/dev/null
