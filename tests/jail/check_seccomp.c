/*
 * check_seccomp.c - unit tests of the seccomp policy's fail-closed paths
 * (Check; no root, no jail): a name libseccomp cannot resolve stops
 * sc_compile, and with it jail_new (ctx.c fails when sc_compile does);
 * every name resolves, or is declared absent, on each supported
 * architecture; and the compiled filter, loaded into a forked test process,
 * answers ENOSYS above the reviewed last call, EAFNOSUPPORT for families
 * off the list, and still kills x32.  The jail-level proofs (the same
 * calls from inside a real jail) are in test_jail.py's seccomp section.
 */
#include <check.h>
#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jail/jail_private.h"

/* sc_compile_extra with one extra name: must fail, naming it. */
static void expect_refused(const char *name)
{
	const char *extra[] = { name, NULL };
	struct sc_filter sc;
	struct jail_error e;
	memset(&e, 0, sizeof e);
	ck_assert_int_eq(sc_compile_extra(&sc, extra, &e), -1);
	ck_assert_str_eq(e.step, "seccomp policy");
	ck_assert_int_eq(e.err, EINVAL);
	ck_assert_msg(strstr(e.detail, name), "detail '%s' does not name %s", e.detail, name);
	ck_assert_ptr_null(sc.insns);
}

START_TEST(test_policy_compiles)
{
	struct sc_filter sc;
	struct jail_error e;
	ck_assert_msg(sc_compile(&sc, &e) == 0, "%s: %s", e.step, e.detail);
	ck_assert_uint_gt(sc.len, 6);
	ck_assert_uint_le(sc.len, BPF_MAXINSNS);
	sc_free(&sc);
}
END_TEST

START_TEST(test_unknown_name_fails_closed)
{
	expect_refused("no_such_syscall");
	/* Known to libseccomp, absent on x86_64 and aarch64 (a pseudo number),
	 * and not declared absent: refused too, not skipped. */
	expect_refused("socketcall");
	/* Unknown to libseccomp 2.5.4; once a newer one knows it, it is above
	 * the reviewed last call: refused either way. */
	expect_refused("listmount");
}
END_TEST

START_TEST(test_tables_resolve_on_supported_archs)
{
	struct jail_error e;
	ck_assert_msg(sc_check_tables(SCMP_ARCH_X86_64, &e) == 0, "x86_64: %s", e.detail);
	ck_assert_msg(sc_check_tables(SCMP_ARCH_AARCH64, &e) == 0, "aarch64: %s", e.detail);
	ck_assert_int_eq(sc_check_tables(SCMP_ARCH_RISCV64, &e), -1);   /* not supported */
}
END_TEST

/* LeakSanitizer's exit-time check stops the world with ptrace, which the
 * loaded policy refuses (EPERM), and then aborts the test process: a
 * process that loaded the policy skips that check (sanitizer builds call
 * this hook; others never do). */
static int policy_loaded;
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return policy_loaded;
}

/* Loads the policy into this (forked) test process. */
static void load_policy(void)
{
	policy_loaded = 1;
	struct sc_filter sc;
	struct jail_error e;
	ck_assert_msg(sc_compile(&sc, &e) == 0, "%s: %s", e.step, e.detail);
	ck_assert_int_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	ck_assert_int_eq(sc_load(&sc), 0);
	sc_free(&sc);
}

static int errno_of(long rc)
{
	return rc < 0 ? errno : 0;
}

START_TEST(test_loaded_numbers)
{
	load_policy();
	static const long newer[] = { 457, 458, 467, 500, 1000, 0x3fffffffL };
	for (size_t i = 0; i < sizeof newer / sizeof newer[0]; i++)
		ck_assert_msg(errno_of(syscall(newer[i], 0, 0, 0, 0, 0, 0)) == ENOSYS, "nr %ld", newer[i]);
	ck_assert_int_eq(errno_of(syscall(451, -1, NULL, NULL, 0)), EBADF);  /* cachestat: allowed */
	ck_assert_int_gt(syscall(SYS_getppid), 0);
	ck_assert_int_eq(errno_of(syscall(SYS_mount, NULL, NULL, NULL, 0, NULL)), EPERM);
}
END_TEST

START_TEST(test_loaded_socket_families)
{
	load_policy();
	static const long refused[] = { AF_UNSPEC, AF_NETLINK, AF_PACKET, AF_ALG, AF_VSOCK, 255, -1,
	                                AF_INET | (1L << 32) };
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		ck_assert_msg(errno_of(syscall(SYS_socket, refused[i], SOCK_DGRAM, 0)) == EAFNOSUPPORT,
		              "family %ld", refused[i]);
	int sv[2];
	ck_assert_int_eq(errno_of(syscall(SYS_socketpair, AF_NETLINK, SOCK_RAW, 0, sv)), EAFNOSUPPORT);
	ck_assert_int_ge(socket(AF_UNIX, SOCK_STREAM, 0), 0);
	ck_assert_int_ge(socket(AF_INET, SOCK_DGRAM, 0), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}
END_TEST

#if defined(__x86_64__)
/* x32 numbers pass the ENOSYS prefix untouched: libseccomp's program
 * kills them, as it did without the prefix. */
START_TEST(test_loaded_x32_killed)
{
	load_policy();
	syscall(0x40000000L | SYS_getpid);
}
END_TEST
#endif

static Suite *seccomp_suite(void)
{
	Suite *s = suite_create("seccomp");
	TCase *tc = tcase_create("policy");
	tcase_add_test(tc, test_policy_compiles);
	tcase_add_test(tc, test_unknown_name_fails_closed);
	tcase_add_test(tc, test_tables_resolve_on_supported_archs);
	tcase_add_test(tc, test_loaded_numbers);
	tcase_add_test(tc, test_loaded_socket_families);
#if defined(__x86_64__)
	tcase_add_test_raise_signal(tc, test_loaded_x32_killed, SIGSYS);
#endif
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(seccomp_suite());
	srunner_set_fork_status(sr, CK_FORK);   /* the loads must stay in their own process */
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
