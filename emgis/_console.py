"""What a command prints: its lines in the run's language, warnings on stderr, log lines, and
every control character from input escaped before it reaches a terminal."""

from __future__ import annotations

import logging
import re
import sys
from typing import TYPE_CHECKING, Any

from emgis._progress import Progress
from emgis.texts import Msg, Texts, say, texts

if TYPE_CHECKING:

    from emgis._progress import Progress

log = logging.getLogger("emgis")

#: Characters that must not reach a terminal raw: C0 controls but the line break and tab, DEL,
#: C1 controls (ESC sequences set a terminal's title and colours) and the bidirectional
#: overrides that can make a name read as something else.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def shown(text: str) -> str:
    """Text for the console, every control character from input escaped as ``\\xNN``
    (``\\uNNNN``)."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", text)


class Console:
    """What the command prints: summaries (silenced by ``-q``), warnings and errors
    (always, on stderr), in the language of ``--lang`` (the catalogue's ``cli`` texts)."""

    def __init__(self, *, quiet: bool = False, lang: str = "en") -> None:

        self.quiet = quiet
        self.t = texts(lang)

    def fmt(self, key: str, **values: Any) -> str:
        """A catalogue text with its fields filled."""
        return self.t.fmt(key, **values)

    def say(self, text: str = "") -> None:
        """A line of the command's normal output."""
        if not self.quiet:
            print(shown(say(text, self.t)), flush=True)

    def step(self, text: str) -> None:
        """A step of a long job, as it starts."""
        self.say(f"  {text} ...")

    def warn(self, text: str) -> None:
        """A line that must be seen even with ``-q``."""
        print(shown(say(text, self.t)), file=sys.stderr, flush=True)

    def progress(self) -> Progress:
        """Steps as lines, bars with counts and ETA on a terminal; nothing with ``-q``."""

        if self.quiet:
            return Progress()
        return Progress(self.step, bars=sys.stderr.isatty(), done=self.t["cli.done"])


#: Problems listed by commands other than ``validate`` (which lists every one).
LIST_LIMIT = 30


class _LogFormatter(logging.Formatter):
    """Log lines in the language of ``--lang``: ``LEVEL: message``, a :class:`Msg` said in
    that language (the level words from the catalogue)."""

    def __init__(self, t: Texts) -> None:
        super().__init__()
        self.t = t

    def format(self, record: logging.LogRecord) -> str:
        args = record.args
        if isinstance(args, tuple):
            args = tuple(say(a, self.t) if isinstance(a, Msg) else a for a in args)
        msg = say(record.msg, self.t) if isinstance(record.msg, Msg) else str(record.msg)
        text = msg % args if args else msg
        level = self.t.get("msg", "log_" + record.levelname.lower(), record.levelname)
        out: str = self.t.fmt("msg.log_line", level=level, message=shown(text))
        if record.exc_info:
            out += "\n" + self.formatException(record.exc_info)
        return out
