# install.mk - what `make install` deploys besides the programs, and what
# `make dist` ships (docs/OPERATIONS.md, "Installing"). Every path is a GNU
# directory variable or one configure.ac derives from them; the files that
# name paths are filled in by make, not by configure, so that make's own
# directory variables decide them and DESTDIR stages an install (GNU coding
# standards, "Directory Variables"). They are made when the Makefile
# changes: a later `make install prefix=...` installs copies (and
# programs) built for the earlier prefix, as for any compiled-in path.

dist_man_MANS = man/sandbox-fcgi.8 man/sandbox-run.1 man/sandbox-callbacks.8
dist_doc_DATA = README.md docs/API.md docs/MIGRATING.md docs/OPERATIONS.md docs/PERFORMANCE.md docs/SECURITY.md \
	docs/openapi.json
sfexamplesdir = $(docdir)/examples
dist_sfexamples_DATA = nginx/sandbox-fcgi.conf nginx/sandbox-fcgi-tls.conf.example \
	scripts/logrotate/sandbox-fcgi-quickstart

sf_subst = $(SED) \
	-e 's|@sbindir[@]|$(sbindir)|g' -e 's|@bindir[@]|$(bindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' -e 's|@localstatedir[@]|$(localstatedir)|g' \
	-e 's|@rootfsbasedir[@]|$(rootfsbasedir)|g' -e 's|@statedir[@]|$(statedir)|g' -e 's|@fcgisocketdir[@]|$(fcgisocketdir)|g' \
	-e 's|@serviceuser[@]|$(serviceuser)|g' -e 's|@nginxgroup[@]|$(nginxgroup)|g' \
	-e 's|@MULTIWATCH[@]|$(MULTIWATCH)|g'
# $(call sf_gen,SOURCE): SOURCE with configure's values into $@; any @name@
# left over (a variable nobody fills in) fails the build.
sf_gen = $(AM_V_GEN)$(MKDIR_P) $(@D) && $(sf_subst) $(1) > $@.tmp && \
	if grep -n '@[a-zA-Z_]*@' $@.tmp >&2; then rm -f $@.tmp; echo "$@: unfilled @name@" >&2; exit 1; fi && \
	mv -f $@.tmp $@
# $(call sf_expect,TEXT): a sed edit of a copied file must have matched.
sf_expect = grep -qF -- '$(1)' $@.tmp || { echo "$@: expected '$(1)' (did the source change?)" >&2; rm -f $@.tmp; exit 1; }

# systemd: units, the service user (sysusers.d), the RootFS directory
# (tmpfiles.d). Their directories come from --with-*dir or pkg-config systemd.
sf_systemd_units = gen/systemd/sandbox-fcgi.service gen/systemd/sandbox-fcgi.socket \
	gen/systemd/sandbox-fcgi-sweep.service gen/systemd/sandbox-fcgi-sweep.timer \
	gen/systemd/sandbox-callbacks.service
gen/systemd/sandbox-fcgi.service: $(srcdir)/systemd/sandbox-fcgi.service.in Makefile
	$(call sf_gen,$(srcdir)/systemd/sandbox-fcgi.service.in)
gen/systemd/sandbox-fcgi.socket: $(srcdir)/systemd/sandbox-fcgi.socket.in Makefile
	$(call sf_gen,$(srcdir)/systemd/sandbox-fcgi.socket.in)
gen/systemd/sandbox-fcgi-sweep.service: $(srcdir)/systemd/sandbox-fcgi-sweep.service.in Makefile
	$(call sf_gen,$(srcdir)/systemd/sandbox-fcgi-sweep.service.in)
gen/systemd/sandbox-fcgi-sweep.timer: $(srcdir)/systemd/sandbox-fcgi-sweep.timer.in Makefile
	$(call sf_gen,$(srcdir)/systemd/sandbox-fcgi-sweep.timer.in)
gen/systemd/sandbox-callbacks.service: $(srcdir)/systemd/sandbox-callbacks.service.in Makefile
	$(call sf_gen,$(srcdir)/systemd/sandbox-callbacks.service.in)
gen/systemd/sysusers/sandbox-fcgi.conf: $(srcdir)/systemd/sysusers.conf.in Makefile
	$(call sf_gen,$(srcdir)/systemd/sysusers.conf.in)
gen/systemd/tmpfiles/sandbox-fcgi.conf: $(srcdir)/systemd/tmpfiles.conf.in Makefile
	$(call sf_gen,$(srcdir)/systemd/tmpfiles.conf.in)
if HAVE_SYSTEMDSYSTEMUNITDIR
systemdsystemunit_DATA = $(sf_systemd_units)
endif
if HAVE_SYSUSERSDIR
sysusers_DATA = gen/systemd/sysusers/sandbox-fcgi.conf
endif
if HAVE_TMPFILESDIR
tmpfiles_DATA = gen/systemd/tmpfiles/sandbox-fcgi.conf
endif

# nginx snippets (include them yourself: nothing is enabled by installing).
# The copies name the configured socket and their own directory, so that
# they work from wherever nginx includes them.
nginxsnippets_DATA = gen/nginx/sandbox-http.conf
dist_nginxsnippets_DATA = nginx/snippets/sandbox-location.conf nginx/snippets/sandbox-keys.conf
gen/nginx/sandbox-http.conf: $(srcdir)/nginx/snippets/sandbox-http.conf Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && $(SED) \
		-e 's|unix:/run/sandbox-fcgi/fcgi.sock;|unix:$(fcgisocketdir)/fcgi.sock;|' \
		-e 's|include snippets/sandbox-keys.conf;|include $(nginxsnippetsdir)/sandbox-keys.conf;|' \
		$(srcdir)/nginx/snippets/sandbox-http.conf > $@.tmp && \
	$(call sf_expect,unix:$(fcgisocketdir)/fcgi.sock;) && \
	$(call sf_expect,include $(nginxsnippetsdir)/sandbox-keys.conf;) && mv -f $@.tmp $@

# RootFS: the build and verify scripts and the recipes, in the checkout's
# layout under $(pkgdatadir) (the scripts find the recipes as ../rootfs and
# their libraries as lib/), with the configured RootFS base as default.
sfscriptsdir = $(pkgdatadir)/scripts
dist_sfscripts_SCRIPTS = scripts/build-rootfs.sh scripts/verify-rootfs.sh
sfscriptlibdir = $(pkgdatadir)/scripts/lib
dist_sfscriptlib_DATA = scripts/lib/rootfs-build.sh scripts/lib/rootfs-checks.sh \
	scripts/lib/rootfs-publish.sh scripts/lib/rootfs-runtime-checks.sh
nodist_sfscriptlib_DATA = gen/scripts/lib/rootfs-common.sh
gen/scripts/lib/rootfs-common.sh: $(srcdir)/scripts/lib/rootfs-common.sh Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && $(SED) \
		-e 's|^ROOTFS_DEFAULT_BASE=.*|ROOTFS_DEFAULT_BASE=$(rootfsbasedir)|' \
		$(srcdir)/scripts/lib/rootfs-common.sh > $@.tmp && \
	$(call sf_expect,ROOTFS_DEFAULT_BASE=$(rootfsbasedir)) && mv -f $@.tmp $@

# The recipes: every file under rootfs/, so a new one needs no list here.
install-data-local:
	@(cd $(srcdir) && find rootfs -type f | LC_ALL=C sort) | while read -r f; do \
		echo " $(INSTALL_DATA) $$f '$(DESTDIR)$(pkgdatadir)/$$f'"; \
		$(MKDIR_P) "$(DESTDIR)$(pkgdatadir)/$${f%/*}" && \
		$(INSTALL_DATA) "$(srcdir)/$$f" "$(DESTDIR)$(pkgdatadir)/$$f" || exit 1; \
	done
uninstall-local:
	rm -rf "$(DESTDIR)$(pkgdatadir)/rootfs"

CLEANFILES += $(sf_systemd_units) gen/systemd/sysusers/sandbox-fcgi.conf \
	gen/systemd/tmpfiles/sandbox-fcgi.conf gen/nginx/sandbox-http.conf \
	gen/scripts/lib/rootfs-common.sh

# The release tarball: what make check, a quick start (scripts/quickstart.sh)
# and dpkg-buildpackage need. Whole directories where every file belongs;
# single files where the directory also holds build output.
EXTRA_DIST += m4/.keep systemd/README.md systemd/sandbox-fcgi.service.in systemd/sandbox-fcgi.socket.in \
	systemd/sandbox-fcgi-sweep.service.in systemd/sandbox-fcgi-sweep.timer.in \
	systemd/sandbox-callbacks.service.in systemd/sysusers.conf.in systemd/tmpfiles.conf.in \
	nginx rootfs scripts docs debian \
	bench/e2e.sh bench/e2e-ab.sh bench/launch.sh bench/session.sh bench/post.lua bench/async.sh \
	bench/warm.sh bench/warm.py bench/cg-attach.py bench/fork-server.py bench/pool-lib.sh bench/scale.sh \
	tests/valgrind.supp tests/cli tests/deb tests/integration tests/quickstart tests/rootfs tests/v2vm
dist-hook:
	find $(distdir) \( -name __pycache__ -o -name .pytest_cache \) -prune -exec rm -rf {} +
	find $(distdir) -name '*.pyc' -exec rm -f {} +
	cd $(distdir)/debian && rm -rf .debhelper sandbox-fcgi files debhelper-build-stamp *.substvars *.log

# distcheck installs into a scratch prefix: the systemd directories that
# pkg-config gave as absolute paths go below it too (daemon(7)).
AM_DISTCHECK_CONFIGURE_FLAGS = \
	--with-systemdsystemunitdir=$$dc_install_base/$(systemdsystemunitdir) \
	--with-sysusersdir=$$dc_install_base/$(sysusersdir) \
	--with-tmpfilesdir=$$dc_install_base/$(tmpfilesdir)
