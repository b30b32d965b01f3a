#!/bin/sh
# Sandbox image recipe: a Debian 12 developer workstation.
# Usage: recipe.sh ROOTFS MIRROR
# Run by `fumehood image build` as root; the image is rebuilt only when this file changes.
set -eu
root=$1
mirror=$2
user=alex
uid=1000

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

# A plausible developer account with the usual dot-folders.
chroot "$root" useradd --create-home --uid "$uid" --shell /bin/bash --comment "Alex Morgan" "$user"
home="$root/home/$user"
for d in .config .cache .local/bin .local/share .npm .ssh .aws .docker .kube \
	.config/google-chrome/Default .config/discord/Local\ Storage/leveldb projects; do
	mkdir -p "$home/$d"
done
cat > "$home/.bashrc" <<'RC'
# ~/.bashrc
case $- in *i*) ;; *) return;; esac
HISTCONTROL=ignoreboth
export PATH="$HOME/.local/bin:$PATH"
alias ll='ls -alF'
RC
cat > "$home/.profile" <<'RC'
# ~/.profile
[ -n "$BASH_VERSION" ] && [ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"
RC
chroot "$root" chown -R "$uid:$uid" "/home/$user"
echo "alex-xps13" > "$root/etc/hostname"
: > "$root/etc/resolv.conf"
