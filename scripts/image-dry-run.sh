#!/usr/bin/env bash
# Docker cannot run on this machine (no engine), so this runs the Dockerfile's steps the way the
# image would, in a temp dir: the build stage's `npm ci` (prepare builds dist/), the runtime stage's
# `npm ci --omit=dev --ignore-scripts` on a fresh copy of the package files, dist/ and bin/ copied
# over, then the image's CMD and HEALTHCHECK, taken from the Dockerfile as written (only the port
# differs: 0, any free one), and SIGTERM, which must exit 0. `npm run image:dry-run`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -KILL "$SERVER_PID"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
DOCKERFILE="$ROOT/Dockerfile"
# A JSON-form instruction (`CMD [...]`, `HEALTHCHECK ... CMD [...]`) as a bash array.
json_argv() { node -e 'for (const a of JSON.parse(process.argv[1])) process.stdout.write(a + "\0")' "$1"; }
# The runtime stage's `RUN [--mount=...] npm ci ...` as written, without the build-time mount option.
runtime_run() { awk '/^FROM .* AS runtime/{r=1} r && /^RUN (--mount=[^ ]+ )?npm ci/{sub(/^RUN (--mount=[^ ]+ )?/,""); print}' "$DOCKERFILE"; }
# The runtime stage's `ENV` as written (continuation lines joined): one NAME=value a line (no value holds a space).
runtime_env() { awk '/^FROM .* AS runtime/{r=1} r' "$DOCKERFILE" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | sed -n 's/^ENV //p' | tr -s ' ' '\n'; }

# The build argument README's `docker build` passes (the build context has no .git): /version names it.
BUILD_COMMIT="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || true)"
echo "== build stage: COPY package files, tsconfig, scripts, src; ARG BUILD_COMMIT=${BUILD_COMMIT:-(none)}; RUN npm ci (prepare: esbuild -> dist/)"
mkdir -p "$WORK/src"
cp "$ROOT/package.json" "$ROOT/package-lock.json" "$ROOT/tsconfig.json" "$WORK/src/"
cp -R "$ROOT/scripts" "$WORK/src/scripts"
cp -R "$ROOT/src" "$WORK/src/src"
(cd "$WORK/src" && BUILD_COMMIT="$BUILD_COMMIT" npm ci --no-audit --no-fund >"$WORK/build.log" 2>&1) || { cat "$WORK/build.log"; exit 1; }
test -f "$WORK/src/dist/cli.js"

echo "== runtime stage: $(runtime_run)"
mkdir -p "$WORK/app" "$WORK/runtime"
cp "$ROOT/package.json" "$ROOT/package-lock.json" "$WORK/app/"
(cd "$WORK/app" && NODE_ENV=production bash -euo pipefail -c "$(runtime_run)" >"$WORK/runtime.log" 2>&1) || { cat "$WORK/runtime.log"; exit 1; }
cp -R "$WORK/src/dist" "$WORK/app/dist"
cp -R "$ROOT/bin" "$WORK/app/bin"
for dev in typescript vitest @biomejs/biome @graphql-codegen/cli tsx; do
  if [ -e "$WORK/app/node_modules/$dev" ]; then echo "dev dependency $dev in the runtime stage" >&2; exit 1; fi
done
echo "   $(du -sh "$WORK/app/node_modules" | cut -f1) of production node_modules, no dev dependency"
grep -c EBADENGINE "$WORK/runtime.log" | sed 's/^/   EBADENGINE lines: /' || true

CMD_JSON="$(sed -n 's/^CMD \(\[.*\]\)$/\1/p' "$DOCKERFILE")"
mapfile -d '' CMD < <(json_argv "$CMD_JSON")
echo "== CMD ${CMD[*]} --port 0"
cd "$WORK/app"
mapfile -t IMAGE_ENV < <(runtime_env)
echo "   ENV ${IMAGE_ENV[*]} (the runtime dir: a temp dir here)"
env "${IMAGE_ENV[@]}" CONTROL_PLANE_RUNTIME_DIR="$WORK/runtime" \
  "${CMD[@]}" --port 0 >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
PORT=""
for _ in $(seq 1 100); do
  PORT="$(sed -n 's/.*"url":"http:\/\/[^:]*:\([0-9]*\)\/graphql".*/\1/p' "$WORK/server.log" | head -1)"
  [ -n "$PORT" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
  sleep 0.1
done
[ -n "$PORT" ] || { echo "the server never said where it listens" >&2; cat "$WORK/server.log"; exit 1; }
echo "   listening on port $PORT; every log line is JSON: $(node -e 'const fs=require("fs");for(const l of fs.readFileSync(process.argv[1],"utf8").trim().split("\n"))JSON.parse(l);console.log("yes")' "$WORK/server.log")"

HEALTH_JSON="$(sed -n 's/^  CMD \(\[.*\]\)$/\1/p' "$DOCKERFILE")"
mapfile -d '' HEALTH < <(json_argv "$HEALTH_JSON")
echo "== HEALTHCHECK ${HEALTH[*]} (as written; CONTROL_PLANE_PORT=$PORT names the port, as -e would in the image)"
env "${IMAGE_ENV[@]}" CONTROL_PLANE_PORT="$PORT" "${HEALTH[@]}" && echo "   healthy (exit 0)"
VERSION_JSON="$(node -e "fetch('http://127.0.0.1:$PORT/version').then(r=>r.text()).then(console.log)")"
echo "   stratctl --version: $(node bin/stratctl.js --version); /version: $VERSION_JSON"
SERVED_COMMIT="$(node -e 'console.log(JSON.parse(process.argv[1]).commit ?? "")' "$VERSION_JSON")"
[ "$SERVED_COMMIT" = "$BUILD_COMMIT" ] || { echo "/version says commit '$SERVED_COMMIT', the build argument was '$BUILD_COMMIT'" >&2; exit 1; }

echo "== STOPSIGNAL SIGTERM"
kill -TERM "$SERVER_PID"
set +e
wait "$SERVER_PID"
CODE=$?
set -e
SERVER_PID=""
echo "   exit code $CODE"
[ "$CODE" -eq 0 ] || { cat "$WORK/server.log"; exit 1; }
ls "$WORK/runtime" | tr '\n' ' ' | sed 's/^/   runtime dir: /'; echo
echo "image dry run: ok"
