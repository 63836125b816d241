#!/usr/bin/env bash
# Lints .github/workflows/*.yml with actionlint (and, when shellcheck is installed, the shell in their
# `run:` steps). Exits non-zero on any finding.
#
#   bash .github/check-workflows.sh
#
# actionlint comes from the Go module proxy: the one on PATH, else .cache/bin/actionlint, installed
# there on first use with `go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12`.
set -euo pipefail
cd "$(dirname "$0")/.."

version=v1.7.12
bin=$(command -v actionlint || true)
if [ -z "$bin" ]; then
    bin="$PWD/.cache/bin/actionlint"
    if ! "$bin" -version 2>/dev/null | grep -qx "$version"; then
        command -v go >/dev/null || {
            echo "check-workflows: actionlint not found and no go to install it (apt-get install golang-go)" >&2
            exit 2
        }
        echo "check-workflows: installing actionlint $version into .cache/bin" >&2
        GOBIN="$PWD/.cache/bin" GOFLAGS=-mod=mod go install "github.com/rhysd/actionlint/cmd/actionlint@$version"
    fi
fi
command -v shellcheck >/dev/null || echo "check-workflows: shellcheck not installed: run: scripts are not linted" >&2

# The check itself must be able to fail: a workflow with an undefined context must be rejected.
broken=$'on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo "${{ github.no_such_field }}"\n'
if printf '%s' "$broken" | "$bin" -no-color - >/dev/null 2>&1; then
    echo "check-workflows: actionlint accepted a broken workflow; not trusting it" >&2
    exit 2
fi

files=(.github/workflows/*.yml)
"$bin" -no-color "${files[@]}"
echo "check-workflows: ${#files[@]} workflow(s) clean (actionlint $("$bin" -version | head -n 1))"
