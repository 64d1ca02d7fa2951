#!/bin/sh
# The build stage of every image: install, generate the contracts, type-check, then keep only what runs in /out.
# Arguments: the packages with native code the image needs (better-sqlite3, @tensorflow/tfjs-node[-gpu]); no other
# install script runs, and the tfjs native package not named is dropped.
set -eu
npm ci --ignore-scripts --no-audit --no-fund
npm rebuild esbuild @bufbuild/buf "$@"
npm run codegen
npx tsc -p tsconfig.json --noEmit
# Production dependencies only, plus the TypeScript loader the command runs through (tsx and its esbuild).
mkdir -p /tmp/loader
cp -a node_modules/tsx node_modules/esbuild node_modules/@esbuild /tmp/loader/
npm prune --omit=dev --ignore-scripts --no-audit --no-fund
cp -a /tmp/loader/. node_modules/
for pkg in @tensorflow/tfjs-node @tensorflow/tfjs-node-gpu; do
  case " $* " in *" $pkg "*) ;; *) rm -rf "node_modules/$pkg" ;; esac
done
mkdir -p /out/deploy/docker
cp -a package.json cli libs services proto node_modules /out/
cp deploy/docker/health.mjs /out/deploy/docker/
