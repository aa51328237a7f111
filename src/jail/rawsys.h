/*
 * rawsys.h - system calls without libc.
 *
 * The jail's pid 1 is a clone(CLONE_VM) child of the caller: it shares the
 * caller's memory, including glibc's thread-local state (errno, malloc's
 * tcache), because the kernel does not give it a TLS block of its own.  That
 * is what makes a jail cheap here (a new address space costs ~0.6 ms on our
 * VMs, see docs/PERFORMANCE.md), and it is safe only while the two never run
 * libc code at the same time.  The handshake (init.c) keeps them strictly
 * alternating, and in the two places where both run at once (the caller
 * writing the id maps, pid 1 reaping) the running side uses only these
 * wrappers: they return -errno and touch no memory but their arguments.
 */
#ifndef SANDBOX_JAIL_RAWSYS_H
#define SANDBOX_JAIL_RAWSYS_H

#include <sys/syscall.h>

#if defined(__x86_64__)
static inline long raw_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;
	__asm__ volatile("syscall"
	                 : "=a"(ret)
	                 : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
	                 : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
static inline long raw_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a1;
	register long x1 __asm__("x1") = a2;
	register long x2 __asm__("x2") = a3;
	register long x3 __asm__("x3") = a4;
	register long x4 __asm__("x4") = a5;
	register long x5 __asm__("x5") = a6;
	__asm__ volatile("svc 0"
	                 : "+r"(x0)
	                 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
	                 : "memory");
	return x0;
}
#else
#error "rawsys.h: add the system call convention of this architecture"
#endif

#define raw_syscall3(n, a, b, c) raw_syscall6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define raw_syscall4(n, a, b, c, d) raw_syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

static inline long raw_read(int fd, void *buf, unsigned long n)
{
	return raw_syscall3(SYS_read, fd, buf, n);
}
static inline long raw_write(int fd, const void *buf, unsigned long n)
{
	return raw_syscall3(SYS_write, fd, buf, n);
}
static inline long raw_close(int fd)
{
	return raw_syscall3(SYS_close, fd, 0, 0);
}
static inline long raw_openat(int dfd, const char *path, int flags)
{
	return raw_syscall4(SYS_openat, dfd, path, flags, 0);
}
static inline __attribute__((noreturn)) void raw_exit(int code)
{
	for (;;)
		raw_syscall3(SYS_exit_group, code, 0, 0);
}

#endif
