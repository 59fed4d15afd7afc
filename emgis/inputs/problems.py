"""Problems found in a district's input, collected so they can all be reported together."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from emgis.texts import Texts, say, texts

if TYPE_CHECKING:
    from emgis.texts import Texts

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem in the input.

    Attributes
    ----------
    level
        ``"error"`` stops the run (exit code 2); ``"warning"`` does not.
    file
        The file (or ``district.toml``) the problem is in.
    message
        What was found and what was expected.
    row
        1-based data row of the record, where the problem is in one record.
    id
        The record's id, where it has one.
    field
        The field the problem is in.
    """

    level: Level
    file: str
    message: str
    row: int | None = None
    id: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        return self.say("en")

    def say(self, lang: str | Texts = "en") -> str:
        """The problem in words of ``lang``: level, where (file, row, id, field), message."""

        t = lang if isinstance(lang, Texts) else texts(lang)
        where = [self.file]
        if self.row is not None:
            where.append(t.fmt("msg.where_row", row=self.row))
        if self.id is not None:
            where.append(t.fmt("msg.where_id", id=self.id))
        if self.field is not None:
            where.append(t.fmt("msg.where_field", field=self.field))
        return t.fmt("msg.problem", level=t["msg.level_" + self.level],
                     where=t["msg.where_sep"].join(where), message=say(self.message, t))


@dataclass
class ProblemLog:
    """Collects problems while a district is read."""

    problems: list[Problem] = field(default_factory=list)

    def error(self, file: str, message: str, **where: object) -> None:
        """Record an error."""
        self.problems.append(Problem("error", file, message, **where))  # type: ignore[arg-type]

    def warning(self, file: str, message: str, **where: object) -> None:
        """Record a warning."""
        self.problems.append(Problem("warning", file, message, **where))  # type: ignore[arg-type]

    @property
    def errors(self) -> list[Problem]:
        """The problems of level ``"error"``."""
        return [p for p in self.problems if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The problems of level ``"warning"``."""
        return [p for p in self.problems if p.level == "warning"]


@dataclass
class ShownRows(ProblemLog):
    """A problem log that names a record's row as its file shows it.

    The readers number records 1, 2, 3 ...; a spreadsheet ledger's first record may sit on
    row 4 below a title row and a header, and a planner looks for the row Excel shows. This log
    shares the problems list of the log it wraps and translates every ``row=`` it is given.
    """

    rows: tuple[int, ...] = ()

    def shown(self, row: int) -> int:
        """The file's row of the 1-based record ``row``."""
        return self.rows[row - 1] if 0 < row <= len(self.rows) else row

    def error(self, file: str, message: str, **where: object) -> None:
        """Record an error."""
        super().error(file, message, **self._where(where))

    def warning(self, file: str, message: str, **where: object) -> None:
        """Record a warning."""
        super().warning(file, message, **self._where(where))

    def _where(self, where: dict[str, object]) -> dict[str, object]:
        row = where.get("row")
        if isinstance(row, int):
            where = {**where, "row": self.shown(row)}
        return where
