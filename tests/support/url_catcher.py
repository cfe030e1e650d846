"""Catch the URLs the console asks the desktop to open (QDesktopServices), instead of opening a browser.

    with catch_urls("https", "file") as urls:
        view.open_button.click()
        qtbot.waitUntil(lambda: bool(urls), timeout=3000)
    assert urls[0].toString() == FOLDER
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices


class UrlCatcher(QObject):
    """Receives the URLs QDesktopServices.openUrl() is asked to open for the schemes it handles."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def handle(self, url: QUrl) -> None:
        self.urls.append(url)


@contextmanager
def catch_urls(*schemes: str) -> Iterator[list[QUrl]]:
    """While inside, URLs of `schemes` are collected into the yielded list rather than opened."""
    catcher = UrlCatcher()
    for scheme in schemes:
        # The stubs say bytes; PySide6 6.11 takes only the slot name as str at run time.
        QDesktopServices.setUrlHandler(scheme, catcher, "handle")  # type: ignore[arg-type]
    try:
        yield catcher.urls
    finally:
        for scheme in schemes:
            QDesktopServices.unsetUrlHandler(scheme)
