#!/bin/sh
# Sandbox image recipe: a Debian 12 developer workstation, without its user.
# Usage: recipe.sh ROOTFS MIRROR
# Run by `fumehood image build` as root; the image is rebuilt only when this file
# or init.c changes.
set -eu
root=$1
mirror=$2

debootstrap --variant=minbase \
	--include=nodejs,python3,python3-pip,ca-certificates \
	bookworm "$root" "$mirror"

cp /etc/resolv.conf "$root/etc/resolv.conf"
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	npm python3-setuptools python3-wheel python3-venv python3-requests \
	git curl wget gcc g++ make libc6-dev tar gzip bzip2 xz-utils unzip file less \
	cron openssh-client netcat-openbsd procps iproute2 iputils-ping dnsutils sudo
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log

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
