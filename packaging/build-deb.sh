#!/usr/bin/env bash
# Build the nvr-console .deb with Briefcase and our own template, then install it in a scratch root
# (or with dpkg -i when CI=true and root) and smoke-test the installed copy:
# `nvr-console --version` and a headless run stopped by SIGTERM, which must exit 0; where Xvfb is
# installed, also the desktop console for a few seconds.
#
#   packaging/build-deb.sh            # the .deb lands in dist/
#
# Environment (not NVR_*: nvr-console rejects unknown NVR_ variables as misspelt settings):
# BUILD_DEB_OUT (where to put the .deb, default <repo>/dist), BUILD_DEB_KEEP=1 (keep the scratch
# folder), BRIEFCASE_VENV (reused between runs, default /tmp/nvr-briefcase-venv),
# BUILD_DEB_INSTALL=extract|dpkg (default: dpkg when CI=true and root, else extract).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${BUILD_DEB_OUT:-$REPO/dist}
BRIEFCASE_VENV=${BRIEFCASE_VENV:-/tmp/nvr-briefcase-venv}
BRIEFCASE_SPEC=${BRIEFCASE_SPEC:-briefcase>=0.4,<0.5}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nvr-deb.XXXXXX")
INSTALLED_WITH_DPKG=0
START=$SECONDS

say() { printf '[build-deb %4ds] %s\n' "$((SECONDS - START))" "$*"; }
die() { printf 'build-deb: error: %s\n' "$*" >&2; exit 1; }

cleanup() {
    if [[ $INSTALLED_WITH_DPKG == 1 ]]; then
        dpkg --purge nvr-console >/dev/null 2>&1 || true
    fi
    if [[ ${BUILD_DEB_KEEP:-0} == 1 ]]; then
        say "kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

[[ -x /usr/bin/python3 ]] || die "/usr/bin/python3 is missing: Briefcase must run under the system Python (apt-get install python3)"

# --- 1. System packages: the ones Briefcase checks with dpkg -s (ours from pyproject.toml plus its
# own build baseline). Installed here only where that is safe (root in CI); otherwise named.
mapfile -t WANTED < <(cd "$REPO" && /usr/bin/python3 - <<'PY'
import tomllib
app = tomllib.load(open("pyproject.toml", "rb"))["tool"]["briefcase"]["app"]["nvr-console"]
debian = app["linux"]["system"]["debian"]
for name in ["python3-dev", "python3-venv", "build-essential", "dpkg-dev",
             *debian.get("system_requires", []), *debian.get("system_runtime_requires", [])]:
    print(name)
PY
)
MISSING=()
for pkg in "${WANTED[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || MISSING+=("$pkg")
done
if ((${#MISSING[@]})); then
    if [[ ${CI:-} == true && $(id -u) == 0 ]]; then
        say "installing system packages: ${MISSING[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${MISSING[@]}" >/dev/null
    else
        die "missing system packages; run: sudo apt-get install ${MISSING[*]}"
    fi
fi

# --- 2. Briefcase in a venv made from the system Python (Linux system packages are built for,
# and checked against, /usr/bin/python3). Reused between runs.
if [[ ! -x $BRIEFCASE_VENV/bin/briefcase ]] || ! "$BRIEFCASE_VENV/bin/python" -c 'import sys; sys.exit(sys.version != __import__("subprocess").check_output(["/usr/bin/python3", "-c", "import sys; print(sys.version)"], text=True).strip())'; then
    say "creating $BRIEFCASE_VENV"
    rm -rf "$BRIEFCASE_VENV"
    /usr/bin/python3 -m venv "$BRIEFCASE_VENV"
    "$BRIEFCASE_VENV/bin/pip" install -q --disable-pip-version-check "$BRIEFCASE_SPEC" >"$WORK/pip.log" 2>&1 \
        || { cat "$WORK/pip.log" >&2; die "cannot install $BRIEFCASE_SPEC"; }
fi
BRIEFCASE=$BRIEFCASE_VENV/bin/briefcase
say "$("$BRIEFCASE" --version 2>&1 | tail -n1)"

# --- 3. A clean copy of the project: exactly the files git knows (tracked and not ignored), so
# Briefcase's build/, .briefcase/ and dist-info never land in the work tree and stray caches never
# land in the package.
SRC=$WORK/src
mkdir -p "$SRC"
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard) | (cd "$REPO" && /usr/bin/python3 -c '
import os, shutil, sys
dest = sys.argv[1]
for name in sys.stdin.buffer.read().split(b"\0"):
    if name and os.path.isfile(name):  # a tracked file deleted in the work tree is skipped
        target = os.path.join(dest.encode(), name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(name, target)
' "$SRC")

# --- 4. create / build / package. --no-input: never prompt (CI has no stdin).
# dpkg-deb's default (xz -6, one thread) takes 3 minutes for our ~300 MB tree; xz -1 on every core
# takes ~40 s for a package ~15% larger. Both are overridable.
export DPKG_DEB_COMPRESSOR_TYPE=${DPKG_DEB_COMPRESSOR_TYPE:-xz}
export DPKG_DEB_COMPRESSOR_LEVEL=${DPKG_DEB_COMPRESSOR_LEVEL:-1}
export DPKG_DEB_THREADS_MAX=${DPKG_DEB_THREADS_MAX:-$(nproc)}
cd "$SRC"
say "briefcase create"
"$BRIEFCASE" create linux system --no-input >"$WORK/create.log" 2>&1 || { tail -n 40 "$WORK/create.log" >&2; die "briefcase create failed (log above)"; }
say "briefcase build"
"$BRIEFCASE" build linux system --no-input >"$WORK/build.log" 2>&1 || { tail -n 40 "$WORK/build.log" >&2; die "briefcase build failed (log above)"; }
say "briefcase package"
"$BRIEFCASE" package linux system --no-input --adhoc-sign >"$WORK/package.log" 2>&1 || { tail -n 40 "$WORK/package.log" >&2; die "briefcase package failed (log above)"; }
shopt -s nullglob
debs=("$SRC"/dist/nvr-console_*.deb)
((${#debs[@]} == 1)) || die "expected one .deb in $SRC/dist, found ${#debs[@]}"
mkdir -p "$OUT"
DEB=$OUT/$(basename "${debs[0]}")
cp "${debs[0]}" "$DEB"
say "built $DEB ($(du -h "$DEB" | cut -f1))"

# --- 5. What the package promises: FFmpeg and Python from Debian, launcher, man page, icon.
DEPENDS=$(dpkg-deb -f "$DEB" Depends)
say "Depends: $DEPENDS"
for dep in ffmpeg python3 libxcb-cursor0; do
    grep -Eq "(^|, )$dep(,| |$)" <<<"$DEPENDS" || die "the package does not depend on $dep"
done
CONTENTS=$(dpkg-deb -c "$DEB")
for path in ./usr/bin/nvr-console ./usr/share/man/man1/nvr-console.1.gz \
    ./usr/share/icons/hicolor/256x256/apps/nvr-console.png ./usr/share/doc/nvr-console/changelog.gz \
    ./usr/lib/nvr-console/app/nvr_console/__main__.py; do
    grep -q " $path\$" <<<"$CONTENTS" || die "the package lacks $path"
done
grep -q '/discovery_cache/documents/drive.v3.json$' <<<"$CONTENTS" || die "the Drive v3 discovery document was cleaned up"
for unwanted in '/\.keep$' '/imageio_ffmpeg/binaries/ffmpeg-' '/documents/drive.v2.json$'; do
    ! grep -Eq "$unwanted" <<<"$CONTENTS" || die "the package contains $unwanted (see cleanup_paths)"
done

# --- 6. Install: dpkg -i in CI as root (the real thing, removed again on exit), else dpkg -x into
# a scratch root (the launcher finds its files relative to itself, so it runs from there).
MODE=${BUILD_DEB_INSTALL:-}
if [[ -z $MODE ]]; then
    if [[ ${CI:-} == true && $(id -u) == 0 ]]; then MODE=dpkg; else MODE=extract; fi
fi
if [[ $MODE == dpkg ]]; then
    say "dpkg -i $(basename "$DEB")"
    INSTALLED_WITH_DPKG=1
    dpkg -i "$DEB" >"$WORK/dpkg.log" 2>&1 || { cat "$WORK/dpkg.log" >&2; die "dpkg -i failed"; }
    NVR=/usr/bin/nvr-console
else
    say "dpkg -x into $WORK/root"
    dpkg -x "$DEB" "$WORK/root"
    NVR=$WORK/root/usr/bin/nvr-console
fi

# --- 7. Smoke test from the installed copy, in a bare environment (no venv, no PYTHONPATH, no
# NVR_* settings leaking in) with a scratch HOME and config.
HOME_DIR=$WORK/home
mkdir -p "$HOME_DIR"
cat >"$WORK/config.toml" <<TOML
[database]
url = "sqlite:///$WORK/state/nvr-console.sqlite3"
[recording]
dir = "$WORK/recordings"
[upload]
destination = "none"
[log]
dir = "$WORK/log"
TOML
run_bare() { env -i PATH=/usr/bin:/bin HOME="$HOME_DIR" LANG=C.UTF-8 "$@"; }

VERSION_OUT=$(run_bare "$NVR" --version)
say "nvr-console --version: $VERSION_OUT"
EXPECTED=$(cd "$REPO" && /usr/bin/python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
[[ $VERSION_OUT == "nvr-console $EXPECTED" ]] || die "expected 'nvr-console $EXPECTED'"

say "headless smoke run (SIGTERM once ready)"
# Not through run_bare: $! must be the app itself (env execs the launcher, which execs Python),
# or SIGTERM would hit a subshell and leave the app running.
env -i PATH=/usr/bin:/bin HOME="$HOME_DIR" LANG=C.UTF-8 "$NVR" --no-gui --config "$WORK/config.toml" \
    >"$WORK/smoke.log" 2>&1 &
PID=$!
for _ in $(seq 1 120); do  # up to 60 s: the first start creates the database
    grep -q ' ready$' "$WORK/smoke.log" && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.5
done
grep -q ' ready$' "$WORK/smoke.log" || { cat "$WORK/smoke.log" >&2; kill -KILL "$PID" 2>/dev/null || true; die "the headless run never became ready"; }
sleep 2  # a few seconds of running, not only starting
kill -TERM "$PID"
set +e
wait "$PID"
RC=$?
set -e
sed 's/^/    /' "$WORK/smoke.log"
((RC == 0)) || die "the headless run exited $RC after SIGTERM (expected 0)"
say "headless run exited 0 after SIGTERM"

# The desktop console on a real X server (Xvfb): proves the Depends cover what Qt's xcb platform
# plugin loads. Skipped where Xvfb is not installed (apt-get install xvfb xauth).
if command -v xvfb-run >/dev/null 2>&1; then
    say "desktop console under Xvfb for 5 s"
    # shellcheck disable=SC2016  # expanded by the inner sh
    if ! timeout 60 env -i PATH=/usr/bin:/bin HOME="$HOME_DIR" LANG=C.UTF-8 xvfb-run -a sh -c '
        "$1" --config "$2" &
        pid=$!
        sleep 5
        kill -0 "$pid" 2>/dev/null || { wait "$pid"; echo "the console exited ($?) within 5 s" >&2; exit 1; }
        kill -TERM "$pid"
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "the desktop console was still running 10 s after SIGTERM; killed it" >&2
            kill -KILL "$pid"
            exit 1
        fi
        wait "$pid" || { rc=$?; echo "the desktop console exited $rc after SIGTERM (expected 0)" >&2; exit 1; }' sh "$NVR" "$WORK/config.toml" >"$WORK/gui.log" 2>&1; then
        cat "$WORK/gui.log" >&2
        die "the desktop console did not start, or did not stop cleanly on SIGTERM, under Xvfb"
    fi
    say "desktop console ran under Xvfb and exited 0 on SIGTERM"
else
    say "no xvfb-run: desktop console not started"
fi

# The live wall's decoder (PyAV, FFmpeg's libraries in its wheel) plays a tile from the installed files: the
# launcher's own sys.path (app/, then app_packages/), a decode thread, frames scaled for the tile.
grep -q '/app_packages/av/__init__.py$' <<<"$CONTENTS" || die "the package lacks the live wall's decoder (PyAV)"
say "live tile from the installed package"
LIB=$(dirname "$(dirname "$NVR")")/lib/nvr-console
LIVE_OUT=$(run_bare /usr/bin/python3 -I -B -c '
import sys, time
lib = sys.argv[1]
sys.path[0:0] = [lib + "/app", lib + "/app_packages"]
from PySide6.QtCore import QCoreApplication
from nvr_console.core.live.tile_decoder import TileDecoder
import av
app = QCoreApplication([])
tile = TileDecoder(1, "lavfi:testsrc2=size=640x360:rate=25", size=(320, 180))
tile.start()
deadline, frame = time.monotonic() + 30, None
while frame is None and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.05)
    frame = tile.take_frame()
tile.stop()
tile.wait(5)
if frame is None:
    sys.exit("no frame within 30 s")
print(f"{frame.width}x{frame.height} frame after {tile.frames_decoded} decoded; PyAV {av.__version__} from {av.__file__}")
' "$LIB" 2>&1) || { echo "$LIVE_OUT" >&2; die "the installed package could not play a live tile"; }
say "live tile: $LIVE_OUT"

# The package's FFmpeg is Debian's: the dependency must actually provide a working binary.
run_bare ffmpeg -hide_banner -version | head -n1 | sed 's/^/    /'

say "OK: $DEB"
