# Fork server of warm python interpreters (src/jail/zygote.c, docs/SECURITY.md
# "Warm interpreters", docs/PERFORMANCE.md "The saturated target").  One per
# responder, started once as `python3 -` with TEXT on stdin: this file and
# then warm.py, the bootstrap every warm interpreter runs.  It runs in its own
# mount namespace whose root is the template's tree (read-only), with every
# capability, its bounding set and "root magic" gone (no_new_privs) and the
# responder's uid, which owns each jail's user namespace: that alone lets it
# join a jail (setns), and nothing else.  It never sees a request's data:
# per interpreter it gets, on fd 3, the namespaces of the jail's pid 1, a
# report pipe, the program's stdio, the run's cgroup.procs and the seccomp
# filter.
#   F, its fork: joins the jail's user, mount, net, ipc and uts namespaces
#      (its children's pid namespace too), moves into the run's cgroups,
#      unshares a cgroup namespace, forks G, waits for it, exits;
#   G, pid 3 of the jail (pid 1 set the counter): sets the counter back
#      to 1, forks C (pid 2, as a cold program), reports its pid, exits:
#      C's parent is then the jail's pid 1, as a cold program's (the kernel
#      reparents an orphan to the reaper of its parent's pid namespace);
#   C: the program's steps of init.c in its order (setsid, stdio, cwd,
#      bounding set, securebits, gid and uid, capabilities, no_new_privs,
#      fds, seccomp last), "ok", then warm.py: it waits for its job.
# Any failed step is reported ("fail STEP ERRNO") and ends that process:
# the responder then discards the jail (fail closed).  Pid 1 applies the
# rlimits (prlimit) when it adopts C.  The modules loaded here are taken
# out of C's sys.modules, so that a program finds those of a cold start.
# warm_exit.py follows warm.py: how C ends.
import sys,os
_Z=set(sys.modules)
import ctypes,_socket
def _zy():
	L=ctypes.CDLL(None,use_errno=True);U=ctypes.c_ulong
	def k(r,s):
		if r<0:raise OSError(ctypes.get_errno(),s)
	def pr(s,*a):k(L.prctl(*[U(x) for x in a+(0,)*(5-len(a))]),s)
	class P(ctypes.Structure):_fields_=[('n',ctypes.c_ushort),('f',ctypes.c_void_p)]
	S=_socket.socket(fileno=3);T=_socket.SCM_RIGHTS
	while True:
		try:m,a,_,_=S.recvmsg(65536,_socket.CMSG_SPACE(64))
		except InterruptedError:continue
		if not m:os._exit(0)
		fd=[int.from_bytes(d[i:i+4],sys.byteorder) for l,t,d in a if t==T for i in range(0,len(d)-3,4)]
		u,g,n,c=m[:32].split(b' ')[:4];u,g,n=int(u),int(g),int(n);w=c.decode();b=m[32:]
		ns=fd[:6];rep=fd[6];io=fd[7:10];cg=fd[10:10+n];s='fork'
		f=os.fork()
		if f:
			for x in fd:os.close(x)
			os.waitpid(f,0);continue
		try:
			for s,x in zip(('user','mnt','net','ipc','uts','pid'),ns):s='setns '+s;k(L.setns(x,0),s)
			s='cgroup attach'
			for x in cg:os.write(x,b'0')
			s='unshare cgroup namespace';k(L.unshare(0x02000000),s)
			s='fork';f=os.fork()
			if f:os.waitpid(f,0);os._exit(0)
			s='ns_last_pid'
			try:x=os.open('/proc/sys/kernel/ns_last_pid',os.O_WRONLY)
			except FileNotFoundError:x=-1
			if x>=0:os.write(x,b'1');os.close(x)
			s='fork';f=os.fork()
			if f:os.write(rep,b'pid %d\n'%f);os._exit(0)
			s='setsid';os.setsid()
			s='program stdio'
			for i in 0,1,2:os.dup2(io[i],i)
			s='chdir';os.chdir(w)
			s='drop bounding set'
			for i in range(64):
				if L.prctl(U(24),U(i),U(0),U(0),U(0))<0 and ctypes.get_errno()!=22:k(-1,s)
			pr('set securebits',28,0xef)
			s='setresgid';os.setresgid(g,g,g)
			s='setresuid';os.setresuid(u,u,u)
			pr('clear ambient capabilities',47,4)
			h=(ctypes.c_uint32*2)(0x20080522,0);d=(ctypes.c_uint32*6)()
			k(L.syscall(U(126),h,d),'clear capabilities')
			pr('set no_new_privs',38,1)
			pr('set dumpable',4,1)
			s='close fds';S.close();os.closerange(3,rep);os.closerange(rep+1,1<<20)
			q=ctypes.create_string_buffer(b,len(b));p=P(len(b)//8,ctypes.addressof(q))
			pr('seccomp load',22,2,ctypes.addressof(p))
			os.write(rep,b'ok\n');os.close(rep);return
		except BaseException as x:
			try:os.write(rep,b'fail %s %d\n'%(s.encode(),getattr(x,'errno',0) or 5))
			finally:os._exit(127)
import builtins,gc,atexit,_weakref
# For warm_exit.py, taken before any program runs (it may replace them):
# _exit, atexit's run, a collection, weakref, the builtins dict and what a
# cold exit restores it to (its entries before site added its own).  The
# zygote's objects frozen: a collection never touches them, so no page of
# theirs is copied for it.
_X=(os._exit,atexit._run_exitfuncs,gc.collect,_weakref.ref,builtins.__dict__,type(sys))
_BC={k:v for k,v in builtins.__dict__.items() if k not in ('exit','quit','copyright','credits','license','help')}
del builtins,atexit,_weakref;gc.freeze()
_zy()
for _k in [_k for _k in sys.modules if _k not in _Z]:del sys.modules[_k]
_B0=_Z
del _Z,_zy,_k,ctypes,_socket,gc
