"""Showing secrets without revealing them. A webhook URL keeps its scheme and host (who
receives it: hooks.slack.com, the team's own server) and loses its path and query (the
credential: a Slack webhook's path is its token) and any user:password; an email address
keeps its first letter and domain. Both still read as what they are, and how many there
are stays visible."""

from __future__ import annotations

import re

MARK = "…"
# URLs and addresses inside free text (error messages, log lines): a URL up to a space
# or a quote, without the punctuation that follows it in a sentence.
_URL_IN_TEXT = re.compile(r"https?://[^\s'\"<>]*[^\s'\"<>:,.;)]")
_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def redact_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]
    return f"{scheme}://{host}/{MARK}"


def redact_text(text: str) -> str:
    """`text` with every http(s) URL and email address in it redacted."""
    text = _URL_IN_TEXT.sub(lambda found: redact_url(found.group()), text)
    return _EMAIL_IN_TEXT.sub(lambda found: mask_email(found.group()), text)


def mask_email(address: str) -> str:
    local, _, domain = address.strip().rpartition("@")
    return f"{local[:1]}{MARK}@{domain}"


def redact_destination(channel: str, destination: str) -> str:
    """A notification's destination as logs show it: a webhook's URL, or the
    comma-separated recipients of an email."""
    if channel == "webhook":
        return redact_url(destination)
    return ", ".join(mask_email(address) for address in destination.split(","))
