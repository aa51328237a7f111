# Warm start of the python runtime (src/api/warm.c, docs/SECURITY.md "Warm
# interpreters"). The RootFS build byte-compiles it to warm-HASH.pyc (HASH:
# the first 16 hex digits of this file's SHA-256), which python3 runs
# directly; a template without it gets this text with -c.
import sys,os
def _r(n):
	b=b''
	while len(b)<n:
		c=os.read(0,n-len(b))
		if not c:os._exit(125)
		b+=c
	return b
def _j():
	h=b''
	while h[-1:]!=b'\n':h+=_r(1)
	p=_r(int(h)).split(b'\0')
	n=int(p[0]);a=p[1:1+n];v=p[2+n:2+n+int(p[1+n])];d=os.fsdecode;e=os.environ
	e.clear()
	for x in v:k,_,x=x.partition(b'=');e[d(k)]=d(x)
	sys.orig_argv[:]=[d(x) for x in a];sys.argv[:]=sys.orig_argv[1:]
_j()
f=os.path.abspath(sys.argv[0]);sys.path[0]=os.path.dirname(f)
m=type(sys)('__main__');g=m.__dict__
g['__loader__']=sys.modules['_frozen_importlib_external'].SourceFileLoader('__main__',f)
g['__annotations__']={};g['__builtins__']=__builtins__;g['__file__']=f;g['__cached__']=None
sys.modules['__main__']=m
del _r,_j,m
try:
	with open(f,'rb') as c:c=c.read()
except OSError as x:
	sys.stderr.write("%s: can't open file %r: [Errno %d] %s\n"%(sys.orig_argv[0],f,x.errno,x.strerror));sys.exit(2)
def _f():
	for c in sys.stderr,sys.stdout:
		try:c.flush()
		except BaseException:pass
# _X: a forked interpreter's (zygote.c): an int exit status goes on to its
# own exit (warm_exit.py, which follows) instead of CPython's finalization.
try:exec(compile(c,f,'exec',dont_inherit=True),g);_c=0
except SystemExit as x:
	_f();_c=x.code
	if '_X' not in globals() or not(_c is None or type(_c) is int and -2**31<=_c<2**31):raise
	_c=_c or 0
except BaseException as x:
	_f()
	c=x.__traceback__.tb_next;x.__traceback__=c;sys.last_type,sys.last_value,sys.last_traceback=type(x),x,c
	sys.excepthook(type(x),x,c)
	if not isinstance(x,KeyboardInterrupt):
		if '_X' not in globals():sys.exit(1)
		_c=1
	else:
		import atexit,signal;atexit._run_exitfuncs();_f()
		signal.signal(2,signal.SIG_DFL);os.kill(os.getpid(),2)
else:_f()
