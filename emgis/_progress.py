"""What a long job tells the person waiting: its steps, and bars with counts and ETA.

The command line makes one from its console (bars only on a terminal, nothing with ``-q``);
the Python API's default says nothing.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Callable, Iterator

from tqdm import tqdm


class Progress:
    """Steps and progress bars of a job.

    Parameters
    ----------
    say
        Called with each step's text (None: silent).
    bars
        Draw bars (tqdm, on stderr) for steps with a count; otherwise a step line is said.
    done
        The word said when a bar's step ends (the console's language).
    """

    def __init__(self, say: Callable[[str], None] | None = None, *, bars: bool = False,
                 done: str = "done") -> None:
        self.say = say
        self.bars = bars
        self.done = done

    def step(self, text: str) -> None:
        """A step, as it starts."""
        if self.say is not None:
            self.say(text)

    @contextlib.contextmanager
    def bar(self, label: str, total: int, unit: str = "") -> Iterator[Callable[[int], None]]:
        """A bar over ``total`` items; yields ``advance(n)``."""
        if not self.bars or self.say is None:
            self.step(f"{label} ({total} {unit})" if unit else label)

            def nothing(n: int = 1) -> None:
                return None

            yield nothing
            return


        width = shutil.get_terminal_size(fallback=(100, 24)).columns or 100
        with tqdm(total=total, desc=f"  {label}", unit=f" {unit}" if unit else "it",
                  file=sys.stderr, leave=False, ncols=width) as t:
            yield t.update
        self.step(f"{label}: {self.done}")


SILENT = Progress()
