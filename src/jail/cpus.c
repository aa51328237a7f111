/*
 * cpus.c - a responder's home CPU, and the whole set back for programs.
 *
 * A warm run is a chain of short steps across processes: the responder
 * hands the job to the interpreter, pid 1 reports, the responder reaps,
 * clears, clones the next pid 1, the zygote forks the next interpreter.
 * With as many busy responders as CPUs, the scheduler often wakes the
 * next process of one chain on the CPU another chain is using, while the
 * waker's CPU goes idle right after, and the wakee waits there (new-idle
 * balancing gives up on a CPU whose average idle time is short:
 * kernel/sched/fair.c, sched_balance_newidle).  Measured on 2 vCPUs with
 * 2 clients: 17% of the CPU time idle and 0.88-0.99x the rate of bare
 * interpreter launches; with each responder on a CPU of its own, 4% idle
 * and 1.07-1.18x (docs/PERFORMANCE.md, "Home CPUs").  nginx's
 * worker_cpu_affinity does the same for its workers.
 *
 * Only the service's own processes stay there: a program (cold, or a
 * warm interpreter at its handover) gets the set the responder was
 * allowed before, so a program with threads uses every CPU as before.
 */
#include "jail/jail_private.h"

#include <errno.h>
#include <sched.h>

int jail_pin_home_cpu(struct jail *j, unsigned n, int *cpu, struct jail_error *err)
{
	struct jail_error dummy;
	struct jail_error *e = err ? err : &dummy;
	cpu_set_t all, one;
	if (j->cpus_saved)
		all = j->program_cpus;
	else if (sched_getaffinity(0, sizeof all, &all) < 0)
		return util_fail(e, "home CPU", errno, "sched_getaffinity");
	int count = CPU_COUNT(&all);
	if (count < 1)
		return util_fail(e, "home CPU", EINVAL, "no CPU allowed");
	unsigned k = n % (unsigned)count;
	int home = -1;
	for (int c = 0; c < CPU_SETSIZE && home < 0; c++)
		if (CPU_ISSET(c, &all) && k-- == 0)
			home = c;
	CPU_ZERO(&one);
	CPU_SET(home, &one);
	if (sched_setaffinity(0, sizeof one, &one) < 0)
		return util_fail(e, "home CPU", errno, "sched_setaffinity %d", home);
	j->program_cpus = all;
	j->cpus_saved = true;
	if (cpu)
		*cpu = home;
	return 0;
}

int cpu_restore(const struct jail *j, pid_t pid, struct jail_error *e)
{
	if (!j->cpus_saved)
		return 0;
	if (sched_setaffinity(pid, sizeof j->program_cpus, &j->program_cpus) < 0)
		return util_fail(e, "restore CPU affinity", errno, NULL);
	return 0;
}
