"""The delivery notice: when a lecture is delivered (every camera's file verified at its destination), e-mail its
organizer (the event's ORGANIZER mailto, with `lectures.notify_organizer`) and the `lectures.notice_to` addresses
the title, the link and its completeness, through the e-mail alert channel's server (email.*), and post it to the
alert webhook (`lectures.notice_webhook`, webhook.*). Sent once a channel took it (a channel that refused it while
another took it is logged, not tried again: the other's readers must not get it twice).

At most once per lecture version, even with several nodes: the notice is claimed on the lecture row
(lecture_store.claim_notice, a conditional update) before it is sent; a refused or unreachable server is tried
again (backoff, `ATTEMPTS` in all); `lectures redo` bumps the version, so a redone lecture is announced again.
Blocking (database, SMTP): the lecture worker thread.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, tzinfo
from email.utils import getaddresses

from nvr_console.core.config import Settings
from nvr_console.core.db.models import LectureFileState, LectureState
from nvr_console.core.db.session import Database
from nvr_console.core.lectures import lecture_store
from nvr_console.core.lectures.lecture_store import FileInfo, LectureInfo
from nvr_console.core.monitoring.channels import ChannelError, EmailChannel, Mail, WebhookChannel
from nvr_console.core.text.masking import mask_secrets

log = logging.getLogger(__name__)

ATTEMPTS = 5
RETRY_S = 120.0  # the first retry; doubled each time
# A lecture delivered longer ago than this is not announced (turning the option on does not mail the past).
OWED_FOR = timedelta(days=1)


def wanted(settings: Settings) -> bool:
    lectures = settings.lectures
    return lectures.notify_organizer or bool(lectures.notice_to) or lectures.notice_webhook


def organizer_address(organizer: str) -> str | None:
    """The e-mail address in the stored organizer ('Dr. Noether <noether@uni.example>', or the bare address);
    None when the event named no address (only a name, or another kind of URI)."""
    for _name, addr in getaddresses([organizer]):
        addr = addr.strip()
        if addr.count("@") == 1 and all(part for part in addr.split("@")) and " " not in addr:
            return addr
    return None


def recipients(settings: Settings, lec: LectureInfo) -> tuple[str, ...]:
    out: list[str] = []
    if settings.lectures.notify_organizer:
        addr = organizer_address(lec.organizer)
        if addr is not None:
            out.append(addr)
    out += [a for a in settings.lectures.notice_to if a.lower() not in {o.lower() for o in out}]
    return tuple(out)


def compose(lec: LectureInfo, files: list[FileInfo], to: tuple[str, ...], zone: tzinfo | None) -> Mail:
    def local(d: datetime) -> datetime:
        return d.astimezone(zone) if zone is not None else d.astimezone()

    a, b = local(lec.start), local(lec.end)
    complete = lec.state == LectureState.DELIVERED.value
    share = f"{(lec.coverage or 0.0) * 100:.1f} %"
    what = "complete" if complete else f"INCOMPLETE: {share} recorded"
    lines = [f"The recording of \"{lec.title}\" ({lec.room}, {a:%Y-%m-%d %H:%M}-{b:%H:%M}) is delivered, {what}.",
             ""]
    if lec.web_link:
        lines += [f"Folder: {lec.web_link}", ""]
    for f in files:
        if f.state == LectureFileState.DONE.value:
            lines.append(f"- {f.camera}: {f.name} ({(f.coverage or 0.0) * 100:.1f} %)"
                         + (f"\n  {f.web_link}" if f.web_link and f.web_link != lec.web_link else ""))
        else:
            lines.append(f"- {f.camera}: nothing of the lecture was recorded")
    lines += ["", f"Coverage: {share} of the lecture's time (the lowest of its cameras)."]
    if lec.notes:
        lines += ["Gaps (not in the files):", *(f"  {n}" for n in lec.notes.splitlines())]
    lines += ["", "Sent by nvr-console when the lecture's files were verified at their destination; "
              "you receive it because the event names you as its organizer."]
    subject = f"Lecture delivered{'' if complete else ' (incomplete)'}: {lec.title}, {a:%Y-%m-%d %H:%M}"
    return Mail(to, subject, "\n".join(lines), headers=(("X-NVR-Lecture", f"{lec.id} v{lec.version}"),))


def webhook_body(lec: LectureInfo, files: list[FileInfo]) -> tuple[dict[str, object], str]:
    """The notice for the webhook: a JSON body (kind "lecture_delivered") and its one line for chat formats."""
    complete = lec.state == LectureState.DELIVERED.value
    share = f"{(lec.coverage or 0.0) * 100:.1f} %"
    text = (f"Lecture delivered{'' if complete else f' (INCOMPLETE: {share} recorded)'}: {lec.title} ({lec.room}, "
            f"{lec.start.astimezone():%Y-%m-%d %H:%M}){': ' + lec.web_link if lec.web_link else ''}")
    body: dict[str, object] = {
        "version": 1, "kind": "lecture_delivered",
        "lecture": {"id": lec.id, "version": lec.version, "title": lec.title, "room": lec.room,
                    "start": lec.start.isoformat(), "end": lec.end.isoformat(), "complete": complete,
                    "coverage": lec.coverage, "folder": lec.web_link or None, "gaps": lec.notes or None},
        "files": [{"camera": f.camera, "name": f.name, "coverage": f.coverage, "link": f.web_link or None}
                  for f in files if f.state == LectureFileState.DONE.value],
    }
    return body, text


class Notifier:
    """Sends the notices owed. One per node, in the lecture worker; `channel` is the e-mail channel (tests pass
    one; by default built from email.*)."""

    def __init__(self, settings: Settings, db: Database, node: str, channel: EmailChannel | None = None) -> None:
        self.settings = settings
        self.db = db
        self.node = node
        self._channel = channel
        self._warned = False
        self.sent = 0

    def _email(self) -> EmailChannel | None:
        lectures = self.settings.lectures
        if not (lectures.notify_organizer or lectures.notice_to):
            return None
        if self._channel is None and self.settings.email.host:
            self._channel = EmailChannel(self.settings.email)
        return self._channel

    def _webhook(self) -> WebhookChannel | None:
        if not self.settings.lectures.notice_webhook or not self.settings.webhook.url:
            return None
        return WebhookChannel(self.settings.webhook)

    def run_once(self, now: datetime) -> int:
        """Send every notice owed (lectures delivered since `OWED_FOR` before `now`); returns how many were sent."""
        if not wanted(self.settings):
            return 0
        email, webhook = self._email(), self._webhook()
        if email is None and webhook is None:
            if not self._warned:
                self._warned = True
                log.warning("lectures.notify_organizer/notice_to/notice_webhook are set but neither email.host nor "
                            "webhook.url is: no delivery notice is sent; set email.host (and email.sender) to the "
                            "SMTP server to use, or webhook.url")
            return 0
        sent = 0
        for lec in lecture_store.notices_owed(self.db, now - OWED_FOR, ATTEMPTS):
            to = recipients(self.settings, lec) if email is not None else ()
            if not lecture_store.claim_notice(self.db, lec, ATTEMPTS):
                continue  # another node has it (or it was redone meanwhile)
            if not to and webhook is None:  # recorded as settled, so that it is not looked at again
                lecture_store.notice_failed(self.db, lec, "not sent: the event names no organizer e-mail address "
                                            "and lectures.notice_to is empty", None)
                continue
            if self._send(lec, email if to else None, to, webhook):
                sent += 1
                self.sent += 1
        return sent

    def _send(self, lec: LectureInfo, email: EmailChannel | None, to: tuple[str, ...],
              webhook: WebhookChannel | None) -> bool:
        """Send one claimed notice through each channel; settled once one took it, else owed again later."""
        files = lecture_store.files_of(self.db, lec.id)
        took, failed = [], []
        if email is not None:
            try:
                email.send_mail(compose(lec, files, to, self.settings.recording.zone()))
                took.append(", ".join(to))
            except ChannelError as exc:
                failed.append(mask_secrets(str(exc)))
        if webhook is not None:
            try:
                webhook.send_notice(*webhook_body(lec, files))
                took.append(webhook.name)
            except ChannelError as exc:
                failed.append(mask_secrets(str(exc)))
        if not took:
            why = "; ".join(failed)
            attempts = lecture_store.notice_status(self.db, lec.id)[2]
            retry = RETRY_S * 2 ** (attempts - 1) if attempts < ATTEMPTS else None
            log.warning("lecture %d (%s): delivery notice%s not sent: %s; %s", lec.id, lec.title,
                        f" to {', '.join(to)}" if to else "", why,
                        "giving up" if retry is None else f"trying again in {retry:g} s")
            lecture_store.notice_failed(self.db, lec, why, retry)
            return False
        lecture_store.notice_sent(self.db, lec)
        log.info("lecture %d (%s): delivery notice sent to %s%s", lec.id, lec.title, " and ".join(took),
                 f" (not through {'; '.join(failed)})" if failed else "")
        return True
