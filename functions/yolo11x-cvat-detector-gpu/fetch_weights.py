"""Downloads a file at image build time and checks its SHA-256.

    python3 fetch_weights.py --url URL --sha256 HEX --out PATH

The function's image bakes YOLO11x's weights in (at run time its only
egress is DNS), so the build downloads them, and a build must get exactly
the file that was reviewed: the expected SHA-256 is pinned beside the URL
(the Dockerfile's YOLO11X_SHA256; function.yaml repeats it for nuctl). An
empty or malformed digest fails the build with the command that computes
one, and so does a mismatch; nothing is written to PATH unless the digest
matches. Standard library only: the build stage has nothing else.
"""

import argparse
import hashlib
import os
import re
import sys
import tempfile
import urllib.request

CHUNK = 1 << 20


class FetchError(Exception):
    pass


def fetch(url: str, sha256: str, out: str, timeout: float = 300) -> None:
    want = sha256.strip().lower()
    if not want:
        raise FetchError(
            "no SHA-256 given for " + url + ". Pin the digest of the reviewed file once: "
            "curl -fsSL " + url + " | sha256sum, then set it as the Dockerfile's "
            "YOLO11X_SHA256 default (and in function.yaml's fetch_weights.py directive)"
        )
    if not re.fullmatch(r"[0-9a-f]{64}", want):
        raise FetchError(f"the SHA-256 {sha256!r} is not 64 hex digits")
    directory = os.path.dirname(os.path.abspath(out))
    os.makedirs(directory, exist_ok=True)
    digest = hashlib.sha256()
    fd, partial = tempfile.mkstemp(dir=directory, prefix=".fetch-")
    try:
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=timeout) as response:
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                digest.update(chunk)
                f.write(chunk)
        got = digest.hexdigest()
        if got != want:
            raise FetchError(f"{url} has SHA-256 {got}, want {want}")
        os.chmod(partial, 0o644)
        os.replace(partial, out)
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--sha256", required=True, help="expected digest, 64 hex digits")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        fetch(args.url, args.sha256, args.out)
    except (FetchError, OSError) as err:
        print(f"fetch_weights: {err}", file=sys.stderr)
        return 1
    print(f"fetch_weights: {args.out} matches {args.sha256.strip().lower()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
