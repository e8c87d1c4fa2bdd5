# packaging/local.mk - installing the mount(8) helpers, shipping the packaging
# files (Debian, RPM, autofs, systemd) in the dist tarball, and the packaging
# tests: `make check` runs install/uninstall into a DESTDIR (fast);
# `make check-packaging` builds, installs and removes the Debian package, runs
# rpmbuild, verifies the systemd units and drives autofs (scripts/check runs
# it after make check, through scripts/check.d/packaging.sh).
#
# How mount(8) reaches sftpfs (util-linux 2.38, checked on Debian 12): for an
# fstab type T it runs the helper /sbin/mount.T, searching only /sbin,
# /sbin/fs.d and /sbin/fs (not $PATH, not /usr/local/sbin), as
#   /sbin/mount.T SOURCE MOUNTPOINT -o OPTIONS
# with OPTIONS keeping _netdev, nofail, user (which adds noexec,nosuid,nodev)
# and dropping noauto and x-* options. So:
#   type "fuse.sftpfs" -> /sbin/mount.fuse.sftpfs (without it, mount falls back
#                         to mount.fuse3, which runs "sftpfs" from PATH)
#   type "sftpfs"      -> /sbin/mount.sftpfs (no fallback: mount.fuse3 under
#                         that name could not tell the subtype)
# As sshfs does, both helpers are symlinks to the sftpfs binary, which takes
# exactly that argument form and accepts and ignores the fstab-only options.
#
# Where: mounthelperdir if given (make install mounthelperdir=DIR); else /sbin
# for the prefixes /usr and /usr/local, because mount(8) looks nowhere else
# (like cifs-utils and nfs-utils); else $(sbindir) (a private prefix, such as
# make distcheck's). The Debian and RPM packages set /usr/sbin (usr-merged).

MOUNT_HELPERS = mount.sftpfs mount.fuse.sftpfs
mounthelperdir =
SFTPFS_INSTALLED = $(DESTDIR)$(bindir)/sftpfs$(EXEEXT)
mount_helper_dir = d='$(mounthelperdir)'; \
	if test -z "$$d"; then case '$(prefix)' in /usr|/usr/local) d=/sbin;; *) d='$(sbindir)';; esac; fi

install-exec-hook: install-mount-helpers
uninstall-hook: uninstall-mount-helpers

# The daemon is a program of this build when fuse/sftpfs is in bin_PROGRAMS;
# then its helpers are required. A tree without it says so and installs none.
install-mount-helpers:
	@$(mount_helper_dir); \
	case ' $(bin_PROGRAMS) ' in \
	*' fuse/sftpfs$(EXEEXT) '*) ;; \
	*) echo "WARNING: fuse/sftpfs is not part of this build: mount helpers ($(MOUNT_HELPERS)) NOT installed" >&2; exit 0;; \
	esac; \
	test -f '$(SFTPFS_INSTALLED)' || { echo "install-mount-helpers: $(SFTPFS_INSTALLED) missing" >&2; exit 1; }; \
	$(MKDIR_P) "$(DESTDIR)$$d" || exit 1; \
	for h in $(MOUNT_HELPERS); do \
		rm -f "$(DESTDIR)$$d/$$h" && \
		ln -sr '$(SFTPFS_INSTALLED)' "$(DESTDIR)$$d/$$h" || exit 1; \
		echo "  LN       $$d/$$h -> `readlink "$(DESTDIR)$$d/$$h"`"; \
	done

# Removes exactly the helpers: only symlinks with our names.
uninstall-mount-helpers:
	@$(mount_helper_dir); \
	for h in $(MOUNT_HELPERS); do \
		if test -L "$(DESTDIR)$$d/$$h"; then rm -f "$(DESTDIR)$$d/$$h" && echo "  RM       $$d/$$h"; fi; \
	done

PACKAGING_FILES = \
	packaging/debian/control packaging/debian/rules packaging/debian/changelog \
	packaging/debian/copyright packaging/debian/source/format \
	packaging/debian/sftpfs.links packaging/debian/sftpfs.docs \
	packaging/debian/sftpfs.examples packaging/debian/sftpfs.lintian-overrides \
	packaging/rpm/sftpfs.spec \
	packaging/autofs/auto.sftpfs packaging/autofs/auto.master.d-sftpfs.autofs \
	packaging/autofs/README \
	packaging/systemd/mnt-example.mount packaging/systemd/mnt-example.automount \
	packaging/systemd/fstab.example packaging/systemd/README \
	packaging/check-packaging.sh packaging/tests/install-uninstall.sh \
	scripts/package
EXTRA_DIST += $(PACKAGING_FILES)

# make install DESTDIR=... then make uninstall leaves nothing (TAP).
TESTS += packaging/tests/install-uninstall.sh

# The long packaging checks (root, dpkg -i on this machine, a private sshd).
check-packaging: all
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	PACKAGE_VERSION='$(PACKAGE_VERSION)' MAKE='$(MAKE)' \
	$(SHELL) $(abs_top_srcdir)/packaging/check-packaging.sh

.PHONY: install-mount-helpers uninstall-mount-helpers check-packaging
