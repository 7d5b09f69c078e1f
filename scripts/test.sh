#!/usr/bin/env bash
# The project's test command (README): vet, the full test suite, the race
# detector where it is affordable, the fuzz targets from their corpora for a
# few seconds each, and the benchmarks once in short mode so they cannot rot.
set -euo pipefail
cd "$(dirname "$0")/.."
go vet ./...
go test -count=1 ./...
go test -count=1 -race ./weights/ ./tokenize/ ./rle/ ./hub/ ./parity/
for target in "./weights/ FuzzParse" "./tokenize/ FuzzEncode" "./rle/ FuzzDecode"; do
  set -- $target
  go test -run XXX -fuzz "^$2\$" -fuzztime 5s "$1"
done
go test -run XXX -bench . -benchtime 1x ./cpu/ ./nn/ >/dev/null
echo "all checks passed"
