#!/usr/bin/env bash
# Puts dtsh and dtctl into ./bin (framework-dependent, needs the .NET runtime the SDK brings).
set -euo pipefail
cd "$(dirname "$0")"
for tool in dtsh dtctl; do
  dotnet publish "cli/$tool" -c Release -o bin -nologo -v quiet -p:UseAppHost=true
done
echo "dtsh and dtctl are in $PWD/bin. Add them to your PATH:"
echo "  export PATH=\"$PWD/bin:\$PATH\""
