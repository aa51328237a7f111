# Exit of a forked warm interpreter (src/jail/zygote.c), after warm.py when
# the program returned, raised SystemExit with an int or None, or an
# uncaught exception (after sys.excepthook): _c is the exit status.  (A
# SystemExit with another value, and KeyboardInterrupt, leave by CPython's
# own finalization.)  A fork's finalization writes to objects it
# inherited from the zygote, and each page so written is copied: ~5 ms of
# CPU per run here, more than the rest of a print(1) (docs/PERFORMANCE.md).
# What a program can observe of CPython 3.11's Py_FinalizeEx is done here,
# in its order, and the rest (tearing down the interpreter's own state) is
# skipped by _exit: non-daemon threads joined; atexit handlers; sys.stdout
# and sys.stderr flushed (one that fails leaves the rest to CPython, by
# SystemExit(_c), which reports it, exit status 120); a collection; then finalize_modules: the
# special names of sys and builtins reset, the program's modules taken out
# of sys.modules, the builtins restored, a collection (finalizers of the
# program's objects run, its files are flushed and closed), the dicts of
# the modules still alive cleared newest first as _PyModule_Clear does;
# the streams flushed again; _exit(_c).  The modules of the zygote's own
# start-up (_B0: those of any cold start) stay in sys.modules, uncleared:
# a program's objects are not theirs, and tearing them down is what copies
# most pages (so a finalizer that imports one of them at exit finds it,
# where a cold exit's import fails).
_o,_a,_g,_w,_d,_t=_X;_m=sys.modules;_s=(sys.__stdout__,sys.__stderr__)
if 'threading' in _m:_m['threading']._shutdown()
_a()
try:
	for _x in sys.stdout,sys.stderr:
		if _x is not None and not _x.closed:_x.flush()
	_x=1
except BaseException:_x=0
if _x:
	del _x,g,c
	_g()
	_d['_']=None
	for _n in ('path','argv','ps1','ps2','last_type','last_value','last_traceback','path_hooks',
	           'path_importer_cache','meta_path','__interactivehook__'):setattr(sys,_n,None)
	sys.stdin,sys.stdout,sys.stderr=sys.__stdin__,sys.__stdout__,sys.__stderr__
	_l=[]
	for _n,_x in list(_m.items()):
		if _n not in _B0 or _n=='__main__':
			if isinstance(_x,_t):_l.append(_w(_x))
			del _m[_n]
	_d.clear();_d.update(_BC);del _n,_x,_d,_m
	_g()
	for _r in reversed(_l):
		_x=_r()
		if _x is None:continue
		_d=_x.__dict__
		for _n in [n for n in _d if n[:1]=='_' and n!='__builtins__']:_d[_n]=None
		for _n in [n for n in _d if n!='__builtins__']:_d[_n]=None
		del _x,_d
	_g()
	try:
		for _x in _s:
			if not _x.closed:_x.flush()
	except BaseException:_o(120)
	_o(_c)
raise SystemExit(_c)
