#!/bin/sh
# Caliop Key launcher for Linux: runs the stick's own caliop with --stick pointing
# at this folder. Run it with:  sh /path/to/CALIOP/caliop.sh
# A FAT stick is often mounted without execute permission (showexec): then the
# executable is started through the system's dynamic loader, which needs none.
# Nothing is copied to this computer.
STICK=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd -P) || exit 1
case "$(uname -m)" in
  x86_64 | amd64) EXE="$STICK/caliop-linux-x64"; LOADER=/lib64/ld-linux-x86-64.so.2 ;;
  aarch64 | arm64) EXE="$STICK/caliop-linux-arm64"; LOADER=/lib/ld-linux-aarch64.so.1 ;;
  *) echo "caliop: error: this computer's processor ($(uname -m)) is not supported" >&2; exit 1 ;;
esac
if [ -x "$EXE" ]; then
  exec "$EXE" --stick "$STICK" "$@"
fi
exec "$LOADER" "$EXE" --stick "$STICK" "$@"
