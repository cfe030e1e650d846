"""Build a Google Drive v3 client (``googleapiclient`` Resource) for a configurable API root.

The API root is normally ``https://www.googleapis.com/``; tests and proxies use another one (our Drive
protocol server on loopback). The discovery document ships inside google-api-python-client, so
building never touches the network.

Runs on whichever thread calls it; the returned Resource holds one httplib2 connection pool, which is
not thread-safe: build one service per upload thread.
"""

from __future__ import annotations

import json
import urllib.parse
from importlib import resources
from typing import TYPE_CHECKING, Any

import google.auth.credentials
import google_auth_httplib2
import googleapiclient.discovery
import googleapiclient.http

if TYPE_CHECKING:  # the stubs' typed Drive v3 resource (google-api-python-client-stubs); no runtime module
    from googleapiclient._apis.drive.v3 import DriveResource

GOOGLE_API_ROOT = "https://www.googleapis.com/"

# Hosts that must never be talked to without credentials.
_GOOGLE_HOST_SUFFIXES = ("googleapis.com", "google.com")


def is_google_api_root(api_root: str) -> bool:
    """True when ``api_root`` points at Google itself (so credentials are required)."""
    host = (urllib.parse.urlsplit(api_root).hostname or "").lower().rstrip(".")
    return any(host == s or host.endswith("." + s) for s in _GOOGLE_HOST_SUFFIXES)


def normalize_api_root(api_root: str) -> str:
    """Check an API root URL setting and return it with exactly one trailing slash."""
    parts = urllib.parse.urlsplit(api_root.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"Drive API root {api_root!r} is not an http(s) URL; set it to {GOOGLE_API_ROOT!r} "
            "or to the URL of a Drive-compatible server such as http://127.0.0.1:8080/"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"Drive API root {api_root!r} must not have a query or fragment")
    path = parts.path.rstrip("/") + "/"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def drive_discovery_document(api_root: str) -> dict[str, Any]:
    """The static Drive v3 discovery document, re-rooted at ``api_root``.

    Media uploads are built as ``rootUrl + "upload/" + servicePath + path``, so patching ``rootUrl``
    (not ``client_options.api_endpoint``, which keeps the upload URL's scheme) moves both metadata
    calls and uploads.
    """
    root = normalize_api_root(api_root)
    text = (
        resources.files("googleapiclient")
        .joinpath("discovery_cache/documents/drive.v3.json")
        .read_text(encoding="utf-8")
    )
    doc: dict[str, Any] = json.loads(text)
    doc["rootUrl"] = root
    doc["baseUrl"] = urllib.parse.urljoin(root, doc["servicePath"])
    # Only used when a client certificate is configured; keep it from escaping to Google.
    doc["mtlsRootUrl"] = root
    return doc


def build_drive_service(
    api_root: str,
    credentials: google.auth.credentials.Credentials | None,
    *,
    timeout: float | None = None,
) -> DriveResource:
    """Build a Drive v3 service talking to ``api_root``.

    ``credentials`` None means anonymous, which only a non-Google server (a test peer or a local
    Drive-compatible service) accepts; it is refused for Google's own hosts. ``timeout`` is the
    socket timeout in seconds for every request (default: the library's 60 s); a stalled chunk
    then raises ``TimeoutError`` instead of hanging an upload thread.
    """
    root = normalize_api_root(api_root)
    if credentials is None and is_google_api_root(root):
        raise ValueError(
            f"Drive API root {root} is Google's: it needs credentials. Sign in to Google Drive in the "
            "settings (or copy an authorized token file) before uploading."
        )
    # build_http() rather than a bare httplib2.Http: it stops httplib2 from treating the resumable
    # upload's "308 Resume Incomplete" as a redirect.
    http = googleapiclient.http.build_http()
    if timeout is not None:
        http.timeout = timeout
    if credentials is not None:
        http = google_auth_httplib2.AuthorizedHttp(credentials, http=http)
    service: DriveResource = googleapiclient.discovery.build_from_document(drive_discovery_document(root), http=http)
    return service
