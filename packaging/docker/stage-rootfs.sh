#!/bin/sh
#
# stage-rootfs.sh SRC BINARY DEST
#
# Lays out the files of the pipy-go image under DEST, which the Dockerfile's
# final stage copies to / in one layer:
#
#   DEST/usr/local/bin/pipy                    BINARY
#   DEST/usr/local/bin/docker-entrypoint.sh    the entrypoint
#   DEST/docker-entrypoint.sh -> usr/local/bin/docker-entrypoint.sh
#                                              (the original image's path)
#   DEST/etc/pipy/test/NNN-name/...            the examples of SRC/test, without
#                                              Go files (the end-to-end tests)
#   DEST/etc/pipy/bin/pipy -> /usr/local/bin/pipy
#                                              so that ../../bin/pipy, as used by
#                                              test/014-exec, resolves
#
# Everything is left owned by the caller (root in the builder), with
# directories 0755, files 0644 and the two programs 0755: the runtime user can
# read but not change them.
#
# The Dockerfile runs this in the builder stage; entrypoint_test.go runs it
# against the repository to check the layout without Docker.
set -eu

if [ "$#" -ne 3 ]; then
	echo "usage: $0 SRC BINARY DEST" >&2
	exit 2
fi
src=$1
bin=$2
dest=$3
here=$(dirname "$0")

[ -d "$src/test" ] || {
	echo "$0: no examples in $src/test" >&2
	exit 1
}
[ -f "$bin" ] || {
	echo "$0: no binary at $bin" >&2
	exit 1
}

mkdir -p "$dest/usr/local/bin" "$dest/etc/pipy/test" "$dest/etc/pipy/bin"
# COPY /rootfs/ / also applies these directories' modes to the image's own.
chmod 0755 "$dest" "$dest/usr" "$dest/usr/local" "$dest/usr/local/bin" "$dest/etc"
cp "$bin" "$dest/usr/local/bin/pipy"
cp "$here/docker-entrypoint.sh" "$dest/usr/local/bin/docker-entrypoint.sh"
ln -sf usr/local/bin/docker-entrypoint.sh "$dest/docker-entrypoint.sh"
ln -sf /usr/local/bin/pipy "$dest/etc/pipy/bin/pipy"

found=0
for d in "$src"/test/[0-9][0-9][0-9]-*/; do
	d=${d%/}
	[ -f "$d/pipy.js" ] || continue
	cp -R "$d" "$dest/etc/pipy/test/"
	found=$((found + 1))
done
[ "$found" -gt 0 ] || {
	echo "$0: no test/NNN-*/pipy.js examples in $src" >&2
	exit 1
}
find "$dest/etc/pipy/test" -name '*.go' -exec rm -f {} +

find "$dest/etc/pipy" -type d -exec chmod 0755 {} +
find "$dest/etc/pipy" -type f -exec chmod 0644 {} +
chmod 0755 "$dest/usr/local/bin/pipy" "$dest/usr/local/bin/docker-entrypoint.sh"

echo "$0: staged $found examples and $(basename "$bin") in $dest"
