#!/usr/bin/env bash
# Provide the base image every target Dockerfile builds FROM (BASE_IMAGE, default debian:trixie-slim), with no
# container registry needed.
#
#   .ci/base-image.sh [TAG]
#
# 1. The tag is already in the daemon's image store → done (idempotent).
# 2. `docker pull TAG` works (a registry is reachable) → done.
# 3. Otherwise build it: `debootstrap --variant=minbase trixie` from the apt mirror this host already uses, slimmed the
#    way Debian's official -slim images are (no docs, man pages or locales; apt keeps no caches), then
#    `tar | docker import` under TAG. About 25-60 s and ~80 MB.
#
# Environment: RTBENCH_DEBIAN_MIRROR / RTBENCH_DEBIAN_SECURITY_MIRROR override the mirrors found in /etc/apt;
# RTBENCH_SUITE (default trixie). `rtbench images` runs this same script (embedded in the binary) for step 3.
set -euo pipefail

TAG="${1:-${BASE_IMAGE:-debian:trixie-slim}}"
SUITE="${RTBENCH_SUITE:-trixie}"
SKIP_LOOKUP="${RTBENCH_BASE_SKIP_LOOKUP:-0}"

say() { echo "base-image: $*"; }
die() {
    echo "base-image: $*" >&2
    exit 1
}

command -v docker >/dev/null 2>&1 || die "docker not found: install docker.io (apt-get install docker.io)"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
    die "docker daemon not reachable at ${DOCKER_HOST:-unix:///var/run/docker.sock} (start one: .ci/dockerd.sh start)"

if [ "$SKIP_LOOKUP" != 1 ]; then
    if docker image inspect "$TAG" >/dev/null 2>&1; then
        say "$TAG present, reusing it"
        exit 0
    fi
    say "trying docker pull $TAG"
    if timeout 120 docker pull -q "$TAG" >/dev/null 2>&1; then
        say "$TAG pulled"
        exit 0
    fi
    say "no registry reachable, building $TAG with debootstrap"
fi

[ "$(id -u)" = 0 ] || die "debootstrap needs root (run as root, or pull $TAG on a machine with a registry)"
if ! command -v debootstrap >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "debootstrap not found: install debootstrap"
    say "installing debootstrap with apt-get"
    # A fresh machine may have no package lists yet.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null 2>&1 || {
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
    } || die "debootstrap not found and apt-get could not install it"
fi

# The first Debian mirror configured on this host (deb822 .sources or one-line .list) is the one known to be reachable.
find_mirror() {
    local want="$1" # "debian" or "debian-security"
    local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list)
    local url
    for f in "${files[@]}"; do
        [ -f "$f" ] || continue
        # URIs: lines (deb822) and `deb [opts] URL suite ...` lines; keep URLs whose path ends in /$want.
        url="$(sed -n -E -e 's/^[[:space:]]*URIs:[[:space:]]*//p' \
            -e 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p' "$f" |
            tr ' ' '\n' | grep -E "^https?://.*/${want}/?\$" | head -n 1 || true)"
        if [ -n "$url" ]; then
            echo "${url%/}"
            return 0
        fi
    done
    return 1
}

MIRROR="${RTBENCH_DEBIAN_MIRROR:-$(find_mirror debian || true)}"
[ -n "$MIRROR" ] || die "no Debian mirror in /etc/apt/sources.list*; set RTBENCH_DEBIAN_MIRROR to one (a URL ending in /debian)"
SECURITY="${RTBENCH_DEBIAN_SECURITY_MIRROR:-$(find_mirror debian-security || echo "${MIRROR%/debian}/debian-security")}"

WORK="$(mktemp -d /var/tmp/rtbench-base.XXXXXX)"
cleanup() { rm -rf --one-file-system "$WORK"; }
trap cleanup EXIT
ROOT="$WORK/rootfs"

INCLUDE=""
case "$MIRROR" in
https://*) INCLUDE="--include=ca-certificates" ;; # apt inside the image must verify the mirror
esac

say "debootstrap --variant=minbase $SUITE from $MIRROR"
start=$(date +%s)
# shellcheck disable=SC2086
debootstrap --variant=minbase $INCLUDE "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
    tail -n 20 "$WORK/debootstrap.log" >&2
    die "debootstrap failed (log above)"
}
say "debootstrap done in $(($(date +%s) - start)) s, slimming"

# Reachable sources for apt inside the image (the same mirrors the host uses).
rm -f "$ROOT/etc/apt/sources.list"
cat >"$ROOT/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

# What Debian's official -slim images configure (debuerreotype): no docs, man pages or translations, no apt caches.
cat >"$ROOT/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
cat >"$ROOT/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' >"$ROOT/etc/apt/apt.conf.d/docker-no-languages"
echo 'APT::AutoRemove::SuggestsImportant "false";' >"$ROOT/etc/apt/apt.conf.d/docker-autoremove-suggests"
echo 'APT::Install-Recommends "false";' >"$ROOT/etc/apt/apt.conf.d/docker-no-recommends"
find "$ROOT/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$ROOT/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$ROOT"/usr/share/{man,groff,info,lintian,linda}/* "$ROOT"/var/cache/apt/* "$ROOT"/var/lib/apt/lists/* \
    "$ROOT"/var/log/*.log "$ROOT"/var/log/apt/* "$ROOT"/tmp/* "$ROOT"/var/tmp/*
find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
# The host's identity must not leak into the image.
: >"$ROOT/etc/hostname"
: >"$ROOT/etc/resolv.conf"
rm -f "$ROOT/etc/machine-id" "$ROOT/var/lib/dbus/machine-id"

say "importing as $TAG"
tar --numeric-owner --xattrs -C "$ROOT" -c . |
    docker import \
        --change 'CMD ["bash"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change "LABEL org.rtbench.base=debootstrap org.rtbench.suite=$SUITE" \
        - "$TAG" >/dev/null
size="$(docker image inspect --format '{{.Size}}' "$TAG")"
say "$TAG ready ($((size / 1000000)) MB, $(($(date +%s) - start)) s)"
