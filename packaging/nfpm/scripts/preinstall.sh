#!/bin/sh
# preinstall (deb preinst / rpm %pre): create the pipy system group and user.
# deb: $1 = install | upgrade | abort-upgrade; rpm: $1 = 1 (install) | 2 (upgrade).
set -e

nologin=/bin/false
for s in /usr/sbin/nologin /sbin/nologin; do
  if [ -x "$s" ]; then nologin=$s; break; fi
done

if ! getent group pipy >/dev/null 2>&1; then
  if command -v groupadd >/dev/null 2>&1; then
    groupadd --system pipy
  elif command -v addgroup >/dev/null 2>&1; then
    addgroup --system pipy
  else
    echo "pipy: cannot create group pipy (no groupadd or addgroup)" >&2
    exit 1
  fi
fi

if ! getent passwd pipy >/dev/null 2>&1; then
  if command -v useradd >/dev/null 2>&1; then
    useradd --system --gid pipy --home-dir /etc/pipy --no-create-home \
      --shell "$nologin" --comment pipy pipy
  elif command -v adduser >/dev/null 2>&1; then
    adduser --system --ingroup pipy --home /etc/pipy --no-create-home \
      --shell "$nologin" --gecos pipy pipy
  else
    echo "pipy: cannot create user pipy (no useradd or adduser)" >&2
    exit 1
  fi
fi

exit 0
