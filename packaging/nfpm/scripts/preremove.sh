#!/bin/sh
# preremove (deb prerm / rpm %preun): on removal (not upgrade) stop and
# disable the service. deb: $1 = remove | upgrade | deconfigure | failed-upgrade;
# rpm: $1 = 0 (erase) | 1 (upgrade).
set -e

case "$1" in
  remove | 0) ;;
  *) exit 0 ;;
esac

if [ -d /run/systemd/system ]; then
  systemctl --no-reload disable pipy.service >/dev/null 2>&1 || true
  systemctl stop pipy.service >/dev/null 2>&1 || true
fi

exit 0
