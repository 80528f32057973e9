#!/bin/sh
# Entry point of the ferrochain container image (POSIX sh: busybox on Alpine, dash, bash).
#
#   (no arguments) or --flags ...     ferrochain node --flags ...   (settings from FERROCHAIN_* variables)
#   node|wallet|chain|devnet ...      ferrochain <command> ...
#   --help | --version                ferrochain --help | --version
#   healthcheck                       exit 0 when the node's API answers on the port of FERROCHAIN_LISTEN
#   anything else                     run as given (e.g. `sh`)
#
# For a node it also:
#   - listens on 0.0.0.0:5000 and keeps its data in /data unless FERROCHAIN_LISTEN / FERROCHAIN_DATA_DIR say
#     otherwise (the image sets both);
#   - sets FERROCHAIN_PUBLIC_URL to http://<hostname>:<port> when unset, so peers on the same container network
#     can reach it by name;
#   - reads FERROCHAIN_API_TOKEN, FERROCHAIN_WALLET_PASSWORD and FERROCHAIN_DATABASE from the file named by
#     the same variable with _FILE appended (Docker and Compose secrets), never both;
#   - checks that the data directory is writable and says what to do when it is not.
set -eu

bin="${FERROCHAIN_BIN:-ferrochain}"

die() {
    echo "entrypoint: $*" >&2
    exit 1
}

listen_port() {
    listen="${FERROCHAIN_LISTEN:-0.0.0.0:5000}"
    echo "${listen##*:}"
}

# VAR_FILE -> VAR for secrets.
from_file() {
    var="$1"
    eval "file=\${${var}_FILE:-}"
    [ -n "$file" ] || return 0
    eval "value=\${${var}:-}"
    [ -z "$value" ] || die "both $var and ${var}_FILE are set: keep one"
    [ -r "$file" ] || die "${var}_FILE=$file is not a readable file"
    value="$(cat "$file")"
    export "$var=$value"
    unset "${var}_FILE"
}

case "${1:-}" in
    healthcheck)
        url="http://127.0.0.1:$(listen_port)/api/v1/status"
        if command -v wget >/dev/null 2>&1; then
            exec wget -q -O /dev/null -T 5 "$url"
        fi
        exec curl -fsS -o /dev/null --max-time 5 "$url"
        ;;
    --help | -h | --version | -V | node | wallet | chain | devnet | help) ;;
    "" | -*) set -- node "$@" ;;
    *) exec "$@" ;;
esac

if [ "$1" = node ]; then
    export FERROCHAIN_LISTEN="${FERROCHAIN_LISTEN:-0.0.0.0:5000}"
    export FERROCHAIN_DATA_DIR="${FERROCHAIN_DATA_DIR:-/data}"
    if [ -z "${FERROCHAIN_PUBLIC_URL:-}" ]; then
        export FERROCHAIN_PUBLIC_URL="http://$(hostname):$(listen_port)"
    fi
    for var in FERROCHAIN_API_TOKEN FERROCHAIN_WALLET_PASSWORD FERROCHAIN_DATABASE; do
        from_file "$var"
    done
    mkdir -p "$FERROCHAIN_DATA_DIR" 2>/dev/null && [ -w "$FERROCHAIN_DATA_DIR" ] ||
        die "the data directory $FERROCHAIN_DATA_DIR is not writable by user $(id -u): mount a volume there (-v ferrochain-data:/data) or chown it to uid $(id -u)"
fi

exec "$bin" "$@"
