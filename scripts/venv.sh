# Sourced by scripts/run and scripts/test (after system-packages.sh, for find_python): make the virtual
# environment and install nvr-console into it once, and again only when pyproject.toml changes (its hash is
# kept in the venv). Editable install: source changes need no reinstall. pip is quiet unless it fails.
# Usage: ensure_venv VENV [EXTRAS]      e.g. ensure_venv .venv test

_quietly() {  # run "$@" with its output kept back; shown only if it fails
    local log status=0
    log=$(mktemp)
    "$@" >"$log" 2>&1 || status=$?
    [ "$status" -eq 0 ] || cat "$log" >&2
    rm -f "$log"
    return "$status"
}

ensure_venv() {
    local venv=$1 extras=${2:-} spec=. stamp want py
    [ -n "$extras" ] && spec=".[$extras]"
    stamp="$venv/.nvr-console-installed${extras:+-$extras}"
    if [ ! -x "$venv/bin/python" ]; then
        py=$(find_python)
        echo "==> creating $venv with $("$py" --version)"
        "$py" -m venv "$venv"
        _quietly "$venv/bin/python" -m pip install --upgrade pip || { echo "error: cannot upgrade pip in $venv" >&2; return 1; }
    fi
    want="$(sha256sum pyproject.toml | cut -d' ' -f1) $(pwd)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/nvr-console" ]; then
        return 0
    fi
    echo "==> installing nvr-console${extras:+ with its $extras extras} into $venv (again only when pyproject.toml changes)"
    _quietly "$venv/bin/python" -m pip install -q -e "$spec" \
        || { echo "error: installing nvr-console into $venv failed (pip's output above)" >&2; return 1; }
    echo "$want" >"$stamp"
}
