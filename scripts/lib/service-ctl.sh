#!/bin/bash
# service-ctl.sh - start/stop sandbox-fcgi (pool + own nginx) from an
# already built tree and prepared RootFS. Used by scripts/quickstart.sh and
# tests/integration. Settings: SANDBOX_* variables (lib/service-common.sh).
#
#   service-ctl.sh start | stop | start-pool | stop-pool | start-nginx |
#                  stop-nginx | status | wait-health [SECONDS]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/service-common.sh"
svc_defaults

[ "$(id -u)" = 0 ] || svc_die "run as root (creates the service user, cgroups, nginx)"

case "${1:-}" in
start)
	svc_ensure_user || svc_die "cannot create user $SANDBOX_USER"
	# Before anything starts: can the pool's user and nginx's workers reach
	# what they will use (a checkout under a 0700 /root cannot be)?
	svc_check_pool_access || svc_die "cannot start the responder pool (see above)"
	svc_prepare_state || svc_die "cannot make $SANDBOX_STATE_DIR"
	svc_check_nginx_access || svc_die "cannot start nginx (see above)"
	svc_cgroup_delegate || svc_die "cannot delegate cgroup $SANDBOX_CGROUP"
	svc_start_pool || svc_die "cannot start the responder pool"
	svc_start_nginx || svc_die "cannot start nginx"
	svc_wait_health "${2:-30}" || svc_die "$(svc_url)/api/sandbox/health did not answer 200"
	svc_log "up: $(svc_url)/api/sandbox/ (pool of $SANDBOX_POOL)" ;;
stop)
	svc_stop_nginx
	svc_stop_pool
	svc_cgroup_undelegate ;;
start-pool)
	svc_ensure_user || svc_die "cannot create user $SANDBOX_USER"
	svc_check_pool_access || svc_die "cannot start the responder pool (see above)"
	svc_cgroup_delegate || svc_die "cannot delegate cgroup $SANDBOX_CGROUP"
	svc_start_pool || svc_die "cannot start the responder pool" ;;
stop-pool) svc_stop_pool ;;
start-nginx)
	svc_prepare_state || svc_die "cannot make $SANDBOX_STATE_DIR"
	svc_check_nginx_access || svc_die "cannot start nginx (see above)"
	svc_start_nginx || svc_die "cannot start nginx" ;;
stop-nginx) svc_stop_nginx ;;
wait-health) svc_wait_health "${2:-30}" || svc_die "not healthy" ;;
status)
	echo "pool: $(svc_pool_size) responders (want $SANDBOX_POOL)"
	svc_pidfile_alive "$SANDBOX_NGINX_PREFIX/run/nginx.pid" && echo "nginx: running" || echo "nginx: stopped" ;;
*)
	echo "usage: $0 start|stop|start-pool|stop-pool|start-nginx|stop-nginx|status|wait-health" >&2
	exit 2 ;;
esac
