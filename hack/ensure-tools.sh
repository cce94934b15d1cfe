#!/usr/bin/env bash
# ensure-tools.sh installs the Debian packages named on the command line
# whose commands are missing, so that lint and tests find them:
#
#   hack/ensure-tools.sh shellcheck nftables
#
# An argument is a package, or PACKAGE:COMMAND when the package's command
# has another name (nftables provides nft, which is known here), or
# PACKAGE:/ABSOLUTE/PATH for a package that installs no command, such as a
# Python library, checked by a file or folder it installs:
#
#   hack/ensure-tools.sh python3-pil:/usr/lib/python3/dist-packages/PIL
#
# A package whose command is on PATH (or whose path exists) is left alone;
# the others are installed with apt-get, after one `apt-get update`, which
# needs root. Nothing is installed when everything is there.
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

[ $# -gt 0 ] || die "usage: $prog PACKAGE[:COMMAND]..."

missing=()
for arg in "$@"; do
	pkg=${arg%%:*}
	cmd=$(command_of "$arg")
	# A path names a file or folder of the package, not a command.
	if [[ $cmd == /* ]]; then
		[ -e "$cmd" ] && continue
		missing+=("$pkg")
		continue
	fi
	# Root's sbin folders hold some of them (nft) and may be off PATH.
	if PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1; then
		continue
	fi
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
