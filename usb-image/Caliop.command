#!/bin/sh
# Caliop Key launcher for macOS: double-click it in the Finder (Terminal opens).
# It runs the stick's own caliop with --stick pointing at this folder:
# caliop-macos-arm64 on Apple silicon, caliop-macos-x64 on Intel Macs (and, through
# Rosetta 2, on Apple silicon when the arm64 one cannot start, e.g. macOS before 13).
# Nothing is copied to this computer.
STICK=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd -P) || exit 1
# The Bun runtime of the arm64 executable reads these from the environment (a Node
# executable ignores NODE_OPTIONS): nothing from the environment runs inside caliop.
unset BUN_OPTIONS BUN_INSPECT BUN_INSPECT_CONNECT_TO BUN_INSPECT_PRELOAD BUN_BE_BUN NODE_OPTIONS
EXE="$STICK/caliop-macos-x64"
# Apple silicon, even when this shell itself runs translated by Rosetta 2 (then
# `uname -m` says x86_64, but hw.optional.arm64 and sysctl.proc_translated say 1).
# A thin arm64 executable runs natively even when started from a translated shell.
if [ "$(uname -m)" = arm64 ] || [ "$(sysctl -n hw.optional.arm64 2>/dev/null)" = 1 ] || [ "$(sysctl -n sysctl.proc_translated 2>/dev/null)" = 1 ]; then
  if [ -f "$STICK/caliop-macos-arm64" ] && "$STICK/caliop-macos-arm64" --version >/dev/null 2>&1; then
    EXE="$STICK/caliop-macos-arm64"
  fi
fi
"$EXE" --stick "$STICK" "$@"
STATUS=$?
if [ $# -eq 0 ] && [ $STATUS -ne 0 ]; then
  printf '\nAppuyez sur Entree pour fermer / Press Enter to close.'
  read -r _
fi
exit $STATUS
