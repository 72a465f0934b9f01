"""CSV rows are written a few at a time (the writer thread must give the GIL back to the event
loop within its switch interval), and read back exactly as one call would write them."""

from __future__ import annotations

import csv
import io

from dmsload.outputs.csv_output import _ROWS_PER_CALL, _rows


def test_rows_written_in_slices_are_the_rows_one_call_writes() -> None:
    rows = [
        [f"metric{i % 7}", str(1_796_000_000 + i // 100), str(i * 0.25), 'a "quoted", cell', ""]
        for i in range(_ROWS_PER_CALL * 5 + 3)
    ]
    whole = io.StringIO()
    csv.writer(whole, lineterminator="\n").writerows(rows)
    written = _rows(rows)
    assert written == whole.getvalue().encode()
    assert list(csv.reader(io.StringIO(written.decode()))) == rows
    assert _rows([]) == b""
