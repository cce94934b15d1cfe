#!/usr/bin/env bash
# ensure-tools.sh installs the Debian packages named on the command line
# whose commands are missing, so that lint and tests find them:
#
#   hack/ensure-tools.sh shellcheck nftables
#   hack/ensure-tools.sh 'node>=20.19' 'npm>=7' chromium fonts-liberation2:/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf
#
# An argument is a package, or PACKAGE:COMMAND when the package's command
# has another name (nftables provides nft, which is known here), or
# PACKAGE:/ABSOLUTE/PATH for a package known by a file or folder it installs
# (a Python library, a font):
#
#   hack/ensure-tools.sh python3-pil:/usr/lib/python3/dist-packages/PIL
#
# A package whose command (or path) is there is left alone; the others are
# installed with apt-get, after one `apt-get update`, which needs root.
# Nothing is installed when everything is there.
#
# An argument COMMAND>=VERSION is a command this script never installs, such
# as Node.js, whose Debian package is older than the project needs: it must
# be on PATH and say a version (COMMAND --version) of at least VERSION, or the
# script fails and says so before installing anything.
set -euo pipefail

prog=${0##*/}

die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 1
}

# command_of prints the command a package provides.
command_of() {
	case $1 in
	*:*) printf '%s\n' "${1#*:}" ;;
	nftables) printf 'nft\n' ;;
	*) printf '%s\n' "$1" ;;
	esac
}

# require fails unless COMMAND --version says at least VERSION.
require() {
	local cmd=$1 want=$2 have
	command -v "$cmd" >/dev/null 2>&1 ||
		die "$cmd is missing: install $cmd $want or newer (it is not installed from Debian's packages here)"
	have=$("$cmd" --version 2>/dev/null | grep -oE '[0-9]+(\.[0-9]+)+' | head -n 1) || true
	[ -n "$have" ] || die "$cmd --version printed no version; need $want or newer"
	if [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n 1)" != "$want" ]; then
		die "$cmd is $have; need $want or newer"
	fi
}

[ $# -gt 0 ] || die "usage: $prog PACKAGE[:COMMAND|:/PATH]... COMMAND>=VERSION..."

missing=()
for arg in "$@"; do
	case $arg in
	*'>='*)
		require "${arg%%>=*}" "${arg#*>=}"
		continue
		;;
	esac
	pkg=${arg%%:*}
	cmd=$(command_of "$arg")
	case $cmd in
	/*) [ -e "$cmd" ] && continue ;;
	# Root's sbin folders hold some of them (nft) and may be off PATH.
	*) PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1 && continue ;;
	esac
	missing+=("$pkg")
done
[ ${#missing[@]} -gt 0 ] || exit 0

command -v apt-get >/dev/null 2>&1 ||
	die "missing ${missing[*]}, and there is no apt-get to install them with; install them with your system's package manager"
if [ "$(id -u)" -ne 0 ]; then
	die "missing ${missing[*]}; installing them needs root: sudo $0 $*"
fi
printf '%s: installing %s\n' "$prog" "${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || die "apt-get update failed; check the network and /etc/apt/sources.list"
apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
	die "apt-get install ${missing[*]} failed"
