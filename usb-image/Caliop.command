#!/bin/sh
# Caliop Key launcher for macOS: double-click it in the Finder (Terminal opens).
# It runs the stick's own caliop with --stick pointing at this folder. The
# executable is for Intel Macs; on Apple Silicon macOS runs it with Rosetta 2.
# Nothing is copied to this computer.
STICK=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd -P) || exit 1
"$STICK/caliop-macos-x64" --stick "$STICK" "$@"
STATUS=$?
if [ $# -eq 0 ] && [ $STATUS -ne 0 ]; then
  printf '\nAppuyez sur Entree pour fermer / Press Enter to close.'
  read -r _
fi
exit $STATUS
