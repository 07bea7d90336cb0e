"""Exports of a report's, a mart's or a metric's rows as CSV, JSON lines, Parquet, XLSX
or PDF, produced from a stream of Arrow record batches (`ringside.core.streams.open_batches`).

CSV, JSON lines and Parquet carry the columns' `name`s and plain values, so they read
back equal to the API's JSON results; they stream, one batch in memory at a time (Parquet
one row group). XLSX and PDF are for people: column labels, number formats, branding.
They are built whole, so they have row limits (`ROW_LIMITS`), checked before an export
starts (`check_row_limit`) and again while one is written.

CSV and XLSX open in spreadsheets, and tracked data (page titles, properties) is written
by whoever sends events: a text value such as `=HYPERLINK("http://evil","x")` would be a
live formula there (CSV/formula injection). OWASP's rule is applied to every text value
starting with `=`, `+`, `-`, `@`, a tab or a carriage return (`FORMULA_PREFIXES`), in one
place per format: CSV prefixes it with a single quote (`_defused`, vectorised with
pyarrow.compute per batch so the export still streams); XLSX keeps the value as it is in
a text cell that Excel does not evaluate (`_text_cell`). Numeric columns are never
touched: -3 is a number, not a formula. JSON lines and Parquet are not spreadsheet
formats and stay exact (no quote added). The `defusedcsv` package is not used: it wraps
the standard library's csv writer field by field, while these exports are written by
pyarrow.csv a batch at a time, and its rule is not OWASP's (it also escapes `|` and `%`,
rewriting `|` inside the value as `\\|`, and leaves tabs and carriage returns alone)."""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ringside.reports.compiler import OutputColumn
from ringside.reports.definition import Branding, ExportFormat
from ringside.reports.sentences import format_value
from ringside.reports.sources import dimension_label

MEDIA_TYPES: dict[ExportFormat, str] = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
SUFFIXES: dict[ExportFormat, str] = {
    "csv": "csv",
    "jsonl": "jsonl",
    "parquet": "parquet",
    "xlsx": "xlsx",
    "pdf": "pdf",
}
# XLSX: a sheet's 1,048,576 rows less the header. PDF: what a person still reads.
ROW_LIMITS: dict[ExportFormat, int] = {"xlsx": 1_048_575, "pdf": 5_000}
STREAMING_FORMATS = [fmt for fmt in SUFFIXES if fmt not in ROW_LIMITS]
CHUNK_BYTES = 1024 * 1024
# OWASP's CSV injection rule: a spreadsheet reads text starting with one of these as a
# formula (a tab or carriage return first lets one slip past naive checks).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = "^([" + "".join(re.escape(prefix) for prefix in FORMULA_PREFIXES) + "])"


class RowLimitError(ValueError):
    """An export too large for its format; `str()` tells the client what to do."""

    def __init__(self, fmt: ExportFormat, rows: int, *, at_least: bool = False) -> None:
        self.format, self.limit, self.rows = fmt, ROW_LIMITS[fmt], rows
        count = f"more than {self.limit:,}" if at_least else f"{rows:,}"
        super().__init__(
            f"{fmt.upper()} exports hold at most {self.limit:,} rows; this export has "
            f"{count} — add filters or choose {', '.join(STREAMING_FORMATS[:-1])} or "
            f"{STREAMING_FORMATS[-1]}"
        )


def check_row_limit(fmt: ExportFormat, rows: int) -> None:
    """Raise `RowLimitError` when `rows` rows do not fit a `fmt` export."""
    limit = ROW_LIMITS.get(fmt)
    if limit is not None and rows > limit:
        raise RowLimitError(fmt, rows)


def export_chunks(
    fmt: ExportFormat,
    columns: list[OutputColumn],
    batches: pa.RecordBatchReader,
    *,
    title: str,
    subtitle: str = "",
    branding: Branding | None = None,
) -> Iterator[bytes]:
    """The export file's bytes, in chunks, as the batches are read."""
    match fmt:
        case "csv":
            return _csv(batches)
        case "jsonl":
            return _jsonl(batches)
        case "parquet":
            return _parquet(batches)
        case "xlsx":
            return _xlsx(columns, batches, title)
        case "pdf":
            return _pdf(columns, batches, title, subtitle, branding or Branding())


def write_export(
    fmt: ExportFormat,
    columns: list[OutputColumn],
    batches: pa.RecordBatchReader,
    path: Path,
    *,
    title: str,
    subtitle: str = "",
    branding: Branding | None = None,
) -> Path:
    """The export written to `path` (complete or not at all: a failed export leaves no
    partial file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in export_chunks(
                fmt, columns, batches, title=title, subtitle=subtitle, branding=branding
            ):
                out.write(chunk)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def _csv(batches: pa.RecordBatchReader) -> Iterator[bytes]:
    out = io.BytesIO()
    header = pacsv.WriteOptions(include_header=True, quoting_header="none")
    pacsv.write_csv(batches.schema.empty_table(), out, header)
    yield out.getvalue()
    rows_only = pacsv.WriteOptions(include_header=False)
    for batch in batches:
        out = io.BytesIO()
        pacsv.write_csv(_defused(batch), out, rows_only)
        yield out.getvalue()


def _defused(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch with every text value that a spreadsheet would read as a formula
    prefixed with a single quote; other columns as they are."""
    return pa.RecordBatch.from_arrays(
        [_defused_column(column) for column in batch.columns], schema=batch.schema
    )


def _defused_column(column: pa.Array) -> pa.Array:
    if pa.types.is_dictionary(column.type):
        # Each distinct value once: the indices stay, the dictionary is escaped.
        return pa.DictionaryArray.from_arrays(column.indices, _defused_column(column.dictionary))
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return pc.replace_substring_regex(column, pattern=_FORMULA_START, replacement=r"'\1")
    return column


def _jsonl(batches: pa.RecordBatchReader) -> Iterator[bytes]:
    # orjson writes dates and datetimes as ISO 8601 text, None as null; timestamps as the
    # API's JSON does (ringside.core.timestamps): naive ones are UTC, UTC is written Z.
    option = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
    for batch in batches:
        yield b"".join(orjson.dumps(row, option=option) + b"\n" for row in batch.to_pylist())


def _parquet(batches: pa.RecordBatchReader) -> Iterator[bytes]:
    # The footer (row group offsets) comes last, so the file is written to a temporary
    # file batch by batch and streamed from there.
    with tempfile.TemporaryFile() as spool:
        with pq.ParquetWriter(spool, batches.schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
        yield from _chunks_of(spool)


def _chunks_of(file: Any) -> Iterator[bytes]:
    file.seek(0)
    while chunk := file.read(CHUNK_BYTES):
        yield chunk


def _limited(fmt: ExportFormat, batches: pa.RecordBatchReader) -> Iterator[dict[str, Any]]:
    """The rows of a format with a row limit, stopping with `RowLimitError` past it (a
    caller that did not count first)."""
    seen = 0
    for batch in batches:
        seen += batch.num_rows
        if seen > ROW_LIMITS[fmt]:
            raise RowLimitError(fmt, seen, at_least=True)
        yield from batch.to_pylist()


def _labels(columns: list[OutputColumn], names: list[str]) -> list[OutputColumn]:
    """The output column of each batch column (labelled from its name when the caller
    did not describe it: a mart extract's columns are the mart's)."""
    by_name = {column.name: column for column in columns}
    return [
        by_name.get(name, OutputColumn(name, dimension_label(name), "dimension")) for name in names
    ]


def _sheet_title(title: str) -> str:
    # Excel: at most 31 characters, none of []:*?/\ .
    cleaned = "".join(" " if c in "[]:*?/\\" else c for c in title).strip()
    return cleaned[:31] or "Export"


def _excel_value(value: object) -> object:
    # Excel has no time zones: aware timestamps are written as UTC.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _text_cell(sheet: WriteOnlyWorksheet, value: str) -> Cell:
    """A cell holding `value` as text, never as a formula. Unlike CSV, XLSX stores a
    cell's type, so the value is kept as it is (no quote added to the data): openpyxl
    makes a string starting with "=" a formula cell, so the type is forced to text; and
    the style's quotePrefix (what Excel sets for a value typed as '=...) keeps it text
    when someone edits the cell, where Excel would otherwise parse =, +, - or @ anew."""
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def _xlsx(
    columns: list[OutputColumn], batches: pa.RecordBatchReader, title: str
) -> Iterator[bytes]:
    described = _labels(columns, batches.schema.names)
    workbook = Workbook(write_only=True)
    sheet: WriteOnlyWorksheet = workbook.create_sheet(_sheet_title(title))
    bold = Font(bold=True)
    header = []
    for column in described:
        cell = WriteOnlyCell(sheet, value=column.label)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    formats = [column.format for column in described]
    for row in _limited("xlsx", batches):
        cells: list[object] = []
        for value, number_format in zip(row.values(), formats, strict=True):
            value = _excel_value(value)
            if number_format and isinstance(value, int | float) and not isinstance(value, bool):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = number_format
                cells.append(cell)
            elif isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
                cells.append(_text_cell(sheet, value))
            else:
                cells.append(value)
        sheet.append(cells)
    with tempfile.TemporaryFile() as spool:
        workbook.save(spool)
        yield from _chunks_of(spool)


def _pdf_text(value: object, column: OutputColumn) -> str:
    if value is None:
        return ""
    if column.unit and isinstance(value, int | float) and not isinstance(value, bool):
        return format_value(value, column.unit)
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _pdf(
    columns: list[OutputColumn],
    batches: pa.RecordBatchReader,
    title: str,
    subtitle: str,
    branding: Branding,
) -> Iterator[bytes]:
    described = _labels(columns, batches.schema.names)
    primary = colors.HexColor(branding.primary_colour)
    accent = colors.HexColor(branding.accent_colour)
    styles = getSampleStyleSheet()
    # Plain strings, not Paragraphs, in the cells: thousands of rows render in seconds.
    rows = [
        [_pdf_text(value, column) for value, column in zip(row.values(), described, strict=True)]
        for row in _limited("pdf", batches)
    ]
    table = Table([[column.label for column in described], *rows], repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 8 if len(described) <= 8 else 6),
                ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
                ("BACKGROUND", (0, 0), (-1, 0), primary),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story: list[Flowable] = [
        Paragraph(escape(title), ParagraphStyle("title", styles["Title"], textColor=primary))
    ]
    if subtitle:
        story.append(Paragraph(escape(subtitle), styles["BodyText"]))
    story.append(Spacer(1, 0.4 * cm))
    story.append(table if rows else Paragraph("No rows.", styles["BodyText"]))

    def decorate(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        width, height = doc.pagesize
        canvas.saveState()
        canvas.setStrokeColor(accent)
        canvas.setLineWidth(2)
        canvas.line(doc.leftMargin, height - 1.1 * cm, width - doc.rightMargin, height - 1.1 * cm)
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(primary)
        canvas.drawString(doc.leftMargin, 0.8 * cm, branding.footer or branding.name)
        canvas.drawRightString(width - doc.rightMargin, 0.8 * cm, f"Page {doc.page}")
        canvas.restoreState()

    out = io.BytesIO()
    # Landscape: exports are wide tables.
    SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        title=title,
        author=branding.name,
        leftMargin=1.5 * cm,
        rightMargin=1.5 * cm,
        topMargin=1.5 * cm,
        bottomMargin=1.5 * cm,
    ).build(story, onFirstPage=decorate, onLaterPages=decorate)
    yield out.getvalue()
