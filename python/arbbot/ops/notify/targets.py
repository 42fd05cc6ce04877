"""Webhook targets: which payload shape a URL gets, the payload itself, and a loggable label.

Shapes:
  slack    `{"text": "*title*\\ntext"}`            — host hooks.slack.com (or slack-gov)
  discord  `{"content": "**title**\\ntext", "allowed_mentions": {"parse": []}}`
                                                    — discord.com / discordapp.com, path /api/webhooks/
  json     the `arbbot.notification/1` object     — anything else
A `slack+`, `discord+` or `json+` prefix forces the shape and is removed before sending
(`slack+https://chat.example/hook`, `discord+http://127.0.0.1:9000/x`).

A webhook URL is a secret (its path is the credential): it is never logged, never put in a
payload; logs name a target by its index and shape (`webhook#1(slack)`).
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from arbbot.ops.notify.notification import Notification

SHAPES = ("slack", "discord", "json")
SLACK_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")
DISCORD_HOSTS = ("discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com")
SLACK_MAX_CHARS = 3000          # one Slack section's text limit
DISCORD_MAX_CHARS = 2000        # Discord's content limit


@dataclass(frozen=True)
class Target:
    index: int                  # position in notify_webhooks (what logs show)
    url: str                    # the URL actually POSTed to (secret)
    shape: str                  # slack | discord | json

    @property
    def label(self) -> str:
        return f"webhook#{self.index}({self.shape})"

    def __repr__(self) -> str:  # never print the URL, even by accident
        return f"Target({self.label})"


def detect_shape(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in SLACK_HOSTS:
        return "slack"
    if host in DISCORD_HOSTS and parts.path.startswith("/api/webhooks/"):
        return "discord"
    return "json"


def parse_target(index: int, raw: str) -> Target:
    """`raw`: a webhook URL, optionally prefixed `slack+` / `discord+` / `json+`. ValueError if the
    URL is not http(s) (the message never contains the URL)."""
    raw = raw.strip()
    shape, sep, rest = raw.partition("+")
    if sep and shape.lower() in SHAPES and "://" in rest:
        url, shape = rest, shape.lower()
    else:
        url, shape = raw, detect_shape(raw)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"notify_webhooks[{index}] is not an http(s) URL")
    import httpx            # (here: loading the configuration without webhooks does not import it)
    try:                    # what the sender will POST to: a URL httpx refuses is refused here, at load
        parts.port          # ValueError past 65535
        httpx.Request("POST", url)
    except Exception:       # noqa: BLE001 - httpx.InvalidURL, idna errors, ...: their text may show the URL
        raise ValueError(f"notify_webhooks[{index}] is not a valid URL (port, host name or characters)") from None
    return Target(index, url, shape)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_escape(text: str) -> str:
    """Text for Slack: its control characters escaped (`&` `<` `>`), so text from a venue or an
    operator cannot form a mention (`<!channel>`) or a disguised link (`<https://…|label>`)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(target: Target, n: Notification) -> dict:
    """The JSON body for `target` (the caller redacts `n` first)."""
    if target.shape == "slack":
        return {"text": _clip(f"*{slack_escape(n.title)}*\n{slack_escape(n.text)}", SLACK_MAX_CHARS)}
    if target.shape == "discord":
        return {"content": _clip(f"**{n.title}**\n{n.text}", DISCORD_MAX_CHARS), "allowed_mentions": {"parse": []}}
    return n.to_json()
