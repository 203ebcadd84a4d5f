#!/bin/sh
# postremove (deb postrm / rpm %postun): forget the unit; on deb purge or rpm
# erase also delete the pipy user and group.
# deb: $1 = remove | purge | upgrade | disappear | abort-* ...; rpm: $1 = 0 (erase) | 1 (upgrade).
set -e

case "$1" in
  remove | purge | 0)
    if [ -d /run/systemd/system ]; then
      systemctl daemon-reload >/dev/null 2>&1 || true
    fi
    ;;
esac

case "$1" in
  purge | 0)
    if getent passwd pipy >/dev/null 2>&1; then
      userdel pipy >/dev/null 2>&1 || deluser --system pipy >/dev/null 2>&1 || true
    fi
    if getent group pipy >/dev/null 2>&1; then
      groupdel pipy >/dev/null 2>&1 || delgroup --system pipy >/dev/null 2>&1 || true
    fi
    ;;
esac

exit 0
