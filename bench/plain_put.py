"""The upload baseline: what a bare client does to put one file on the Drive test server, with nothing of ours.

Hash the file, open a resumable session, then ONE plain PUT of the whole file (http.client, 1 MiB blocks);
Drive's MD5 must match.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024


@dataclass(frozen=True)
class Put:
    file_id: str
    size: int
    hash_s: float  # hashing the file (the same work ours does besides sending)
    send_s: float  # the session and the PUT


def plain_put(root: str, path: Path, timeout_s: float = 300) -> Put:
    """Upload `path` to the Drive test server at `root`; raise AssertionError if Drive's MD5 differs."""
    size = path.stat().st_size
    parts = urllib.parse.urlsplit(root)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout_s, blocksize=MIB)
    t0 = time.perf_counter()
    h = hashlib.md5()
    with open(path, "rb") as fh:
        while b := fh.read(MIB):
            h.update(b)
    t_hash = time.perf_counter()
    conn.request("POST", "/upload/drive/v3/files?uploadType=resumable&fields=id,md5Checksum,size",
                 body=json.dumps({"name": path.name}).encode(),
                 headers={"Content-Type": "application/json", "X-Upload-Content-Length": str(size)})
    resp = conn.getresponse()
    resp.read()
    loc = urllib.parse.urlsplit(resp.headers["Location"])
    with open(path, "rb") as fh:
        conn.request("PUT", f"{loc.path}?{loc.query}", body=fh,
                     headers={"Content-Length": str(size), "Content-Range": f"bytes 0-{size - 1}/{size}"})
        body = json.loads(conn.getresponse().read())
    conn.close()
    assert body["md5Checksum"] == h.hexdigest(), body
    return Put(body["id"], size, t_hash - t0, time.perf_counter() - t_hash)
