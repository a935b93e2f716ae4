"""Widgets the screens share: a table that updates in place, and the metrics header."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Sparkline, Static

from graph import Metrics

from . import text as t

Cell = str | Text


class Plain(Static):
    """Text shown as it is: never read as markup (a reason or a name may hold "[")."""

    def __init__(self, content: str | Text = "", **kwargs: object) -> None:
        super().__init__(content, markup=False, **kwargs)  # type: ignore[arg-type]
        self._look = _look(as_text(content))

    def set(self, content: str | Text) -> None:
        """Show `content`; repaint only when it differs from what is shown."""
        look = _look(as_text(content))
        if look != self._look:
            self._look = look
            self.update(content)


@dataclass(frozen=True)
class Col:
    key: str
    label: str
    width: int | None = None
    """Cells wide; None for the last column, which takes the rest (its text is clipped)."""


class _Keyed(Text):
    """A row's first cell, carrying the row's key so the table can be put in order by key."""

    __slots__ = ("row_key",)

    def __init__(self, cell: Text, row_key: str) -> None:
        super().__init__(
            cell.plain,
            style=cell.style,
            justify=cell.justify,
            overflow=cell.overflow,
            no_wrap=cell.no_wrap,
            end="",
            spans=list(cell.spans),
        )
        self.row_key = row_key


def _look(cell: Text) -> tuple[str, str, tuple[object, ...]]:
    """What a cell shows: its text and every style on it (Text's own == ignores its style)."""
    return cell.plain, str(cell.style), tuple(cell.spans)


def as_text(cell: Cell) -> Text:
    """A cell as Rich text; plain strings are never read as markup (a reason may hold "[")."""
    return cell if isinstance(cell, Text) else Text(cell, end="")


class KeyedTable(DataTable[Text]):
    """A row-cursor table whose rows are keyed (a run id, an event id) and updated in place:
    `show` removes what went, adds what came, rewrites only the cells that changed and
    restores the order, keeping the cursor on the same row. Nothing is cleared, so nothing
    flickers and the scroll position stays."""

    def __init__(
        self, columns: Sequence[Col], *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self._cols = list(columns)
        self._shown: dict[str, tuple[tuple[str, str, tuple[object, ...]], ...]] = {}

    def on_mount(self) -> None:
        for col in self._cols:
            self.add_column(col.label, width=col.width, key=col.key)

    @property
    def selected_key(self) -> str | None:
        if not self.row_count or not self.is_valid_row_index(self.cursor_row):
            return None
        return self.ordered_rows[self.cursor_row].key.value

    @property
    def keys(self) -> list[str]:
        return [row.key.value for row in self.ordered_rows if row.key.value is not None]

    def _room(self) -> int:
        """Cells left for the filling column (text beyond it would scroll sideways)."""
        width = self.size.width or self.app.size.width
        used = sum((c.width or 0) + 2 * self.cell_padding for c in self._cols)
        return max(12, width - used - 2)  # 2: the vertical scrollbar

    def show(self, rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
        selected = self.selected_key
        wanted = {key for key, _ in rows}
        fill = next((i for i, c in enumerate(self._cols) if c.width is None), None)
        room = self._room() if fill is not None else 0
        for key in [k for k in self._shown if k not in wanted]:
            self.remove_row(key)
            del self._shown[key]
        for key, cells in rows:
            texts = [as_text(c) for c in cells]
            if fill is not None and texts[fill].cell_len > room:
                texts[fill] = texts[fill].copy()
                texts[fill].truncate(room, overflow="ellipsis")
            first, *rest = texts
            values = (_Keyed(first, key), *rest)
            looks = tuple(_look(v) for v in values)
            before = self._shown.get(key)
            if before is None:
                self.add_row(*values, key=key)
            elif before != looks:
                for col, new, look, old in zip(self._cols, values, looks, before, strict=True):
                    if look != old:
                        self.update_cell(key, col.key, new)
            self._shown[key] = looks
        order = [key for key, _ in rows]
        if self.keys != order:
            position = {key: i for i, key in enumerate(order)}
            self.sort(self._cols[0].key, key=lambda cell: position[cell.row_key])
        if selected in wanted and selected != self.selected_key:
            self.move_cursor(row=self.get_row_index(selected), scroll=False)


class Tile(Vertical):
    """One number in the metrics header, with its label."""

    def __init__(self, label: str, *, id: str) -> None:
        super().__init__(id=id, classes="tile")
        self._label = label

    def compose(self) -> ComposeResult:
        yield Plain(self._label, classes="tile-label")
        yield Plain("-", classes="tile-value")

    def set(self, value: str, tone: str | None = None) -> None:
        self.query_one(".tile-value", Plain).set(value)
        for name in ("good", "warn", "bad"):
            self.set_class(tone == name, f"-{name}")


class Plot(Vertical):
    """A small plot with its label."""

    def __init__(self, label: str, *, id: str) -> None:
        super().__init__(id=id, classes="plot")
        self._label = label

    def compose(self) -> ComposeResult:
        yield Plain(self._label, classes="tile-label")
        yield Sparkline([], summary_function=max)

    def set(self, data: list[float], label: str) -> None:
        spark = self.query_one(Sparkline)
        if list(spark.data or []) != data:
            spark.data = data
        self.query_one(".tile-label", Plain).set(label)


class MetricsBar(Horizontal):
    """The dashboard's header: the numbers the business runs on, and two plots."""

    def compose(self) -> ComposeResult:
        yield Tile("Success", id="m-success")
        yield Tile("p95 decision", id="m-decision")
        yield Tile("Cost/completed", id="m-cost")
        yield Tile("Escalations", id="m-escalations")
        yield Tile("Waiting", id="m-waiting")
        yield Plot("Runs/h", id="p-runs")
        yield Plot("Cost/h", id="p-cost")

    def show(self, m: Metrics) -> None:
        hours = int(m.window.total_seconds() // 3600)
        rate = m.success_rate
        self.query_one("#m-success", Tile).set(
            f"{t.percent(rate)} of {m.runs:,}",
            None if rate is None else "good" if rate >= 0.95 else "warn" if rate >= 0.8 else "bad",
        )
        self.query_one("#m-decision", Tile).set(t.seconds(m.p95_decision_seconds))
        self.query_one("#m-cost", Tile).set(t.cost(m.cost_per_completed_usd))
        self.query_one("#m-escalations", Tile).set(
            str(m.open_escalations), "bad" if m.open_escalations else None
        )
        self.query_one("#m-waiting", Tile).set(str(m.waiting), "warn" if m.waiting else None)
        self.query_one("#p-runs", Plot).set(m.runs_per_hour, f"Runs/h ({hours}h: {m.runs:,})")
        self.query_one("#p-cost", Plot).set(
            m.cost_per_hour, f"Cost/h ({hours}h: {t.cost(m.cost_usd)})"
        )
