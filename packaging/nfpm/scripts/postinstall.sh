#!/bin/sh
# postinstall (deb postinst / rpm %post): make systemd see the (new) unit.
# The service is not enabled or started: `systemctl enable --now pipy`.
# deb: $1 = configure (upgrade: $2 = old version) | abort-*; rpm: $1 = 1 | 2 (upgrade).
set -e

upgrade=false
case "$1" in
  configure) [ -n "$2" ] && upgrade=true ;;
  abort-*) exit 0 ;;
  *) [ "$1" -ge 2 ] 2>/dev/null && upgrade=true ;;
esac

# Only when systemd is the running init (not in containers or chroots).
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
  if $upgrade && systemctl is-active --quiet pipy.service 2>/dev/null; then
    echo "pipy: the running service still uses the old binary. Switch without downtime:"
    echo "  systemctl kill --kill-whom=main -s SIGUSR2 pipy   (needs --spawn)"
    echo "or restart it: systemctl restart pipy"
  fi
fi

exit 0
