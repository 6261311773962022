#!/bin/sh
# Builds the query workbench's bundle: `npm ci` installs exactly the packages of package-lock.json,
# then build.mjs (esbuild) writes server/static/workbench/ (or the directory given as argument):
# workbench.js and its chunks, workbench.css, LICENSES (every bundled package's licence) and
# BUILD.json (hashes of the inputs and outputs, checked by tests/test_workbench_bundle.py).
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
node build.mjs "$@"
