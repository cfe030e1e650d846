# Sourced by scripts/test and scripts/run: install the Debian packages nvr-console needs, if missing.
# Usage: ensure_debian_packages PKG...   (as root it installs; otherwise it says what to run)

ensure_debian_packages() {
    command -v dpkg-query >/dev/null 2>&1 || { echo "note: not Debian/Ubuntu; install by hand: $*" >&2; return 0; }
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: missing system packages: ${missing[*]}" >&2
        echo "       install them with: sudo apt-get install -y ${missing[*]}" >&2
        return 1
    fi
    echo "==> installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine is often busy with unattended upgrades: wait for apt's lock rather than fail at once.
    local wait=${NVR_APT_LOCK_WAIT:-600} holder
    holder=$(dpkg_lock_holder)
    if [ -n "$holder" ]; then
        echo "==> waiting up to ${wait} s for the package manager's lock, held by ${holder} (set NVR_APT_LOCK_WAIT to change)"
    fi
    if ! apt-get -o DPkg::Lock::Timeout="$wait" update -qq \
        || ! apt-get -o DPkg::Lock::Timeout="$wait" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
        holder=$(dpkg_lock_holder)
        local why=""
        [ -n "$holder" ] && why=" (the lock of the package manager is still held by ${holder} after ${wait} s)"
        echo "error: could not install the system packages ${missing[*]}${why}" >&2
        echo "       run again once it is done, or install them with: apt-get install -y ${missing[*]}" >&2
        return 1
    fi
}

# Who holds dpkg's lock ("process 1234 (unattended-upgr)"), or nothing when it is free. dpkg and apt take an
# fcntl lock on the file; taking it (and letting go at once) is how to ask. NVR_DPKG_LOCK: another lock file.
dpkg_lock_holder() {
    local lock=${NVR_DPKG_LOCK:-/var/lib/dpkg/lock-frontend}
    [ -e "$lock" ] || return 0
    python3 - "$lock" <<'PY' 2>/dev/null || true
import fcntl, struct, sys
with open(sys.argv[1], "r+b") as f:
    # F_GETLK: the first lock that would block a write lock on the whole file, with its owner's pid.
    got = fcntl.fcntl(f, fcntl.F_GETLK, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0))
    kind, _, _, _, pid = struct.unpack("hhqqi", got)
    if kind != fcntl.F_UNLCK:
        try:
            name = open(f"/proc/{pid}/comm").read().strip()
        except OSError:
            name = "?"
        print(f"process {pid} ({name})")
PY
}

# What the product needs to run (FFmpeg; Qt's X11/EGL libraries for the desktop console).
RUNTIME_PACKAGES=(ffmpeg libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
    libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-randr0
    libxcb-shape0 libxcb-xinerama0 libxcb-xkb1)
# What the tests add: MariaDB (started by the tests themselves), the GStreamer RTSP server peer,
# an X server for the screenshot test, venv support for the system Python (Briefcase), promtool
# (from prometheus: 19 MB, about 8 s to install) for packaging/monitoring's alert rules, and
# systemd-analyze (from systemd: about 5 MB with libsystemd-shared) to check the service unit (verify,
# security score; nothing is started). On a host running systemd, Debian enables the prometheus service
# it installs: `systemctl disable --now prometheus` if unwanted.
TEST_PACKAGES=(mariadb-server gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base
    gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
    gstreamer1.0-tools xvfb xauth python3-venv python3-dev gcc prometheus systemd)

# A Python 3.11+ to build the virtual environment from.
find_python() {
    for py in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [ -n "$py" ] && command -v "$py" >/dev/null 2>&1 || continue
        if "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$py"; return 0
        fi
    done
    echo "error: nvr-console needs Python 3.11 or newer (apt-get install python3)" >&2
    return 1
}
