/*
 * creds.c - dropping privileges in the program's process, in minijail's
 * order, each step needing what the previous ones still hold:
 *   1. bounding set: PR_CAPBSET_DROP needs CAP_SETPCAP, so it goes first;
 *      pid 1 does it (creds_drop_bounding_set) before it starts the program,
 *      which inherits the empty set: the 41 calls are made while the jail
 *      is prepared ahead of its job, not on the request's path.  Dropping
 *      it takes nothing pid 1 or the program still needs: the steps below
 *      use effective capabilities, and the bounding set limits only what
 *      execve and capset can add;
 *   2. securebits: lock "no root magic" so that no later uid change or exec
 *      can hand capabilities back (also needs CAP_SETPCAP);
 *   3. gid then uid: setresgid needs CAP_SETGID, which setresuid may clear;
 *   4. every capability set emptied (permitted, effective, inheritable,
 *      ambient): our uid 1000 maps to nobody special, so the kernel's
 *      "uid 0 -> non-zero clears caps" rule does not do it for us;
 *   5. no_new_privs: no setuid binary or file capability can raise us again,
 *      and an unprivileged seccomp load is allowed;
 * seccomp comes after all of them, because its filter blocks nothing these
 * steps use but must be the last thing before execve (init.c).
 */
#include "jail/jail_private.h"

#include <errno.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <unistd.h>

int creds_drop_bounding_set(struct jail_error *e)
{
	for (cap_value_t c = 0; c <= CAP_LAST_CAP || cap_valid(c); c++) {
		if (prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0) < 0 && errno != EINVAL)
			return util_fail(e, "drop bounding set", errno, "capability %d", (int)c);
	}
	return 0;
}

static int creds_securebits(struct jail_error *e)
{
	unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
	                     SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
	                     SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
	                     SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
	if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0)
		return util_fail(e, "set securebits", errno, NULL);
	return 0;
}

static int creds_ids(struct jail_error *e)
{
	if (setresgid(JAIL_INSIDE_GID, JAIL_INSIDE_GID, JAIL_INSIDE_GID) < 0)
		return util_fail(e, "setresgid", errno, NULL);
	if (setresuid(JAIL_INSIDE_UID, JAIL_INSIDE_UID, JAIL_INSIDE_UID) < 0)
		return util_fail(e, "setresuid", errno, NULL);
	return 0;
}

static int creds_caps(cap_t empty, struct jail_error *e)
{
	/* One call, where libcap's cap_reset_ambient() probes each capability. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return util_fail(e, "clear ambient capabilities", errno, NULL);
	if (cap_set_proc(empty) < 0)
		return util_fail(e, "clear capabilities", errno, NULL);
	return 0;
}

static int creds_no_new_privs(struct jail_error *e)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return util_fail(e, "set no_new_privs", errno, NULL);
	return 0;
}

int creds_drop(cap_t empty, struct jail_error *e)
{
	if (creds_securebits(e) < 0 ||
	    creds_ids(e) < 0 || creds_caps(empty, e) < 0)
		return -1;
	return creds_no_new_privs(e);
}

int creds_drop_caps(cap_t empty, struct jail_error *e)
{
	if (creds_drop_bounding_set(e) < 0 || creds_securebits(e) < 0 || creds_caps(empty, e) < 0)
		return -1;
	return creds_no_new_privs(e);
}
