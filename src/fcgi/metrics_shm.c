/*
 * metrics_shm.c - the metrics file every responder of the pool maps
 * MAP_SHARED (format: metrics.h), and this responder's slot in it.
 */
#include "fcgi/metrics_shm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static struct met_store *shm_current;

struct met_store *met_shm_store(void)
{
	return shm_current;
}

/* Under flock: a file of another size or version is re-initialised (the
 * pool was upgraded; its counters restart from 0). */
static int shm_prepare(int fd, char *msg, size_t msglen)
{
	struct met_store *m;
	struct stat st;
	int rc = 0;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(msg, msglen, "not a regular file");
		return -1;
	}
	if (st.st_size != (off_t)sizeof *m && (ftruncate(fd, 0) < 0 ||
	                                       ftruncate(fd, (off_t)sizeof *m) < 0)) {
		snprintf(msg, msglen, "ftruncate: %s", strerror(errno));
		return -1;
	}
	m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		snprintf(msg, msglen, "mmap: %s", strerror(errno));
		return -1;
	}
	if (!met_store_valid(m)) {
		memset(m, 0, sizeof *m);
		met_store_init(m);
		rc = msync(m, sizeof *m, MS_SYNC);
	}
	munmap(m, sizeof *m);
	return rc;
}

/* A killed responder stays a zombie until multiwatch reaps it, and
 * kill(pid, 0) still finds a zombie: read its state too, so that its busy
 * flag stops counting the moment it is dead. */
static bool met_pid_zombie(pid_t pid)
{
	char path[64], buf[256];
	FILE *f;
	char *paren;
	bool zombie = false;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(buf, sizeof buf, f)) {
		paren = strrchr(buf, ')');
		zombie = paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
	}
	fclose(f);
	return zombie;
}

bool met_pid_alive(pid_t pid)
{
	return (kill(pid, 0) == 0 || errno == EPERM) && !met_pid_zombie(pid);
}

/* A free slot or a dead responder's (its busy flag goes with it). */
static int shm_claim_slot(struct met_store *m)
{
	pid_t self = getpid();

	for (int i = 0; i < MET_SLOTS; i++) {
		int pid = atomic_load(&m->slots[i].pid);

		if (pid == self || pid == 0 || !met_pid_alive(pid)) {
			atomic_store(&m->slots[i].busy, 0);
			atomic_store(&m->slots[i].pid, (int)self);
			return i;
		}
	}
	return -1;
}

static struct met_store *shm_private(struct met_shm *s)
{
	struct met_store *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE,
	                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	met_store_init(m);
	s->store = shm_current = m;
	s->shared = false;
	s->slot = shm_claim_slot(m);
	return m;
}

int met_shm_open(struct met_shm *s, const char *path, char *msg, size_t msglen)
{
	struct met_store *m = MAP_FAILED;
	int fd;

	memset(s, 0, sizeof *s);
	s->slot = -1;
	if (msglen > 0)
		msg[0] = '\0';
	/* O_NOFOLLOW: the directory is the service's own, but a link planted
	 * there must not make us truncate another file. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(msg, msglen, "open '%s': %s", path, strerror(errno));
		return shm_private(s) ? -1 : -2;
	}
	/* The lock serialises start-up checks and slot claims of responders
	 * starting at once; the counters themselves need none. */
	if (flock(fd, LOCK_EX) < 0 || shm_prepare(fd, msg, msglen) < 0 ||
	    (m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		if (msg[0] == '\0')
			snprintf(msg, msglen, "'%s': %s", path, strerror(errno));
		flock(fd, LOCK_UN);
		close(fd);
		return shm_private(s) ? -1 : -2;
	}
	/* The jail's processes never need the figures: a forked one (the
	 * jail's JAIL_CLONE_FORK mode) gets no copy of the mapping. The
	 * CLONE_VM children share the responder's memory until execve drops
	 * it, and are non-dumpable meanwhile (src/jail/init.c). */
	madvise(m, sizeof *m, MADV_DONTFORK);
	s->store = shm_current = m;
	s->shared = true;
	s->slot = shm_claim_slot(m);
	/* Unlock explicitly: the mapping holds the open file description,
	 * and a flock lock lives as long as that, not as long as the fd. */
	flock(fd, LOCK_UN);
	close(fd);
	if (s->slot < 0)
		snprintf(msg, msglen, "no free responder slot in '%s' (%d)", path, MET_SLOTS);
	return 0;
}

void met_shm_busy(struct met_shm *s, bool busy)
{
	if (s->store && s->slot >= 0)
		atomic_store(&s->store->slots[s->slot].busy, busy ? 1 : 0);
}

bool met_shm_other_idle(const struct met_shm *s)
{
	if (!s->store || !s->shared || s->slot < 0)
		return false;
	for (int i = 0; i < MET_SLOTS; i++) {
		int pid = atomic_load(&s->store->slots[i].pid);

		if (i != s->slot && pid != 0 && !atomic_load(&s->store->slots[i].busy) &&
		    met_pid_alive(pid))
			return true;
	}
	return false;
}
