"""Build the REAL google-api-python-client Drive v3 service against a test Drive server.

    from tests.support.drive_client_factory import drive_client
    service = drive_client(drive.root_url)        # anonymous, fresh httplib2 (one per thread)

It is the product's ``build_drive_service`` with no credentials: the static discovery document with
``rootUrl`` patched, plus ``googleapiclient.http.build_http()``.
"""

from __future__ import annotations

import googleapiclient.discovery

from nvr_console.core.upload.drive_service import build_drive_service


def drive_client(root_url: str, *, timeout: float | None = None) -> googleapiclient.discovery.Resource:
    """A Drive v3 Resource that sends every request (uploads too) to ``root_url``."""
    return build_drive_service(root_url, None, timeout=timeout)
