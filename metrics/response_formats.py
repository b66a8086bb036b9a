"""Questionnaire response files: parsers (and, for the simulator and tests, writers) of four exports, and the
simulator: responses of raters with a known truth (`simulate`), to try an import without people.

Every parser returns the same long table: `row` (1-based line of the source file, for error reports),
`rater`, `item`, `response` (raw string), `status` ("ok" or why the row cannot count: rejected,
unfinished, preview), `submitted` (timestamp or "" for duplicate detection).

- long: a plain CSV with columns rater, item, response.
- google_forms: Google Forms' responses export: "Timestamp", optional "Email Address", then one column
  per question; a grid question gives one column per row as "Question [Row]". The item id
  (`item_001`) is read from the column header.
- mturk: Mechanical Turk batch results: HITId, WorkerId, AssignmentStatus (Submitted / Approved /
  Rejected), Input.* and Answer.* columns. Classic HTML forms give one Answer.<name> column per field;
  Crowd HTML Elements give Answer.taskAnswers, a JSON list with one object of element outputs
  (`crowd_answer`): radio buttons and check boxes `{"name": {"value": checked}}` (one entry per button),
  classifiers `{"name": {"label": ...}}` (multi-select: `{"labels": [...]}`), sliders a number, inputs
  and text areas a string. The answer is the checked option or chosen label; failing those, the one
  number; failing that, the one text. Several candidates of the same kind (two boxes checked, an
  answer and a comment in two text fields) are reported as ambiguous unless `answer_field` names it.
- qualtrics: Qualtrics CSV export: three header rows (names, question texts, {"ImportId": ...}), with
  Status (0 / "IP Address" = a real response) and Finished columns; the rater is ResponseId.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

FORMATS = ("long", "google_forms", "mturk", "qualtrics")
ITEM_RE = re.compile(r"item_\d+")
COLUMNS = ["row", "rater", "item", "response", "status", "submitted"]


class ResponseFormatError(ValueError):
    """The file is not in the expected (or any recognised) format; the message names what did not match."""


def read_rows(path: Path, allow_partial: bool = False) -> tuple[list[list[str]], list[str]]:
    """The rows of a CSV file after a structural check, and the notes on rows left out.

    Every row must have the header's number of fields and every quoted field must be closed: a file cut
    short (an interrupted download) ends inside a field or with a short row, and is refused, naming the
    row, unless `allow_partial` (then the cut rows are left out and noted). Blank lines are ignored."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise ResponseFormatError(f"{path}: not UTF-8 text ({e})") from None
    reader, rows, notes = csv.reader(io.StringIO(text), strict=True), [], []
    try:
        for row in reader:
            rows.append((reader.line_num, row))
    except csv.Error as e:
        cut = f"the file ends inside a quoted field (row starting after line {rows[-1][0] if rows else 0}: {e})"
        if not allow_partial:
            raise ResponseFormatError(f"{path}: looks truncated: {cut}; re-download it, or pass --allow-partial "
                                      "to import only the complete rows") from None  # fmt: skip
        notes.append(cut)
    if not rows or not any(rows[0][1]):
        raise ResponseFormatError(f"{path}: empty file, no header row")
    width, final_newline = len(rows[0][1]), text.endswith(("\n", "\r"))
    kept = [rows[0][1]]
    for i, (line, row) in enumerate(rows[1:], start=1):
        if len(row) == width or not any(c.strip() for c in row):
            kept.append(row)
            continue
        last = i == len(rows) - 1
        fault = f"row at line {line} has {len(row)} of {width} fields"
        if last and not final_newline:
            fault += " and the file does not end with a newline"
        if not allow_partial:
            what = "looks truncated" if last else "is malformed"
            raise ResponseFormatError(f"{path}: {what}: {fault}; re-download it, or pass --allow-partial to import "
                                      "only the complete rows")  # fmt: skip
        notes.append(f"left out: {fault}")
    return kept, notes


def detect(rows: list[list[str]], path: Path | str = "responses") -> str:
    header = [h.strip() for h in rows[0]]
    if {"rater", "item", "response"} <= set(header):
        return "long"
    if {"HITId", "WorkerId", "AssignmentStatus"} <= set(header):
        return "mturk"
    if {"ResponseId", "Finished", "Status"} <= set(header) and len(rows) > 2 and "ImportId" in ",".join(rows[2]):
        return "qualtrics"
    if header and header[0] == "Timestamp":
        return "google_forms"
    raise ResponseFormatError(
        f"{path}: unrecognised header {header[:6]}...; expected long (rater, item, response), Google Forms "
        "(first column Timestamp), MTurk (HITId, WorkerId, AssignmentStatus) or Qualtrics (ResponseId, "
        "Finished, Status, and an ImportId third header row)"
    )


def parse(path: Path, fmt: str = "auto", allow_partial: bool = False,
          answer_field: str | None = None) -> tuple[pd.DataFrame, str]:  # fmt: skip
    """(long table of COLUMNS, the format found); the file's structure is checked first (read_rows)."""
    rows, notes = read_rows(path, allow_partial)
    found = detect(rows, path) if fmt == "auto" else fmt
    if found not in FORMATS:
        raise ResponseFormatError(f"unknown format {fmt!r}; choose auto or one of {FORMATS}")
    if fmt != "auto" and detect_or_none(rows) not in (None, fmt):
        raise ResponseFormatError(f"{path}: --format {fmt} given, but the header looks like {detect_or_none(rows)}")
    width = len(rows[0])
    rows = [r + [""] * (width - len(r)) for r in rows]  # blank lines only: every other row has the full width
    parser = {"long": _long, "google_forms": _forms, "mturk": _mturk, "qualtrics": _qualtrics}[found]
    records = parser(rows, path, answer_field) if found == "mturk" else parser(rows, path)
    df = pd.DataFrame(records, columns=COLUMNS)
    df.attrs["notes"] = notes
    return df, found


def detect_or_none(rows) -> str | None:
    try:
        return detect(rows)
    except ResponseFormatError:
        return None


def _dicts(rows: list[list[str]], start: int, header: list[str]):
    for n, values in enumerate(rows[start:], start=start + 1):
        if any(v.strip() for v in values):
            yield n, dict(zip(header, values + [""] * (len(header) - len(values))))


def _long(rows, path):
    header = [h.strip() for h in rows[0]]
    for n, r in _dicts(rows, 1, header):
        yield {"row": n, "rater": r["rater"].strip(), "item": r["item"].strip(), "response": r["response"].strip(),
               "status": "ok", "submitted": r.get("timestamp", "")}  # fmt: skip


def _item_columns(header: list[str], path) -> dict[int, str]:
    cols = {i: m.group(0) for i, h in enumerate(header) if (m := ITEM_RE.search(h))}
    if not cols:
        raise ResponseFormatError(f"{path}: no question column names an item (item_001, ...): {header[:6]}")
    return cols


def _forms(rows, path):
    header = rows[0]
    items = _item_columns(header, path)
    rater_col = next((i for i, h in enumerate(header) if h.strip() in ("Email Address", "Username")), None)
    for n, values in enumerate(rows[1:], start=2):
        if not any(v.strip() for v in values):
            continue
        rater = values[rater_col].strip() if rater_col is not None and values[rater_col].strip() else f"row{n}"
        for i, item in items.items():
            answer = values[i].strip() if i < len(values) else ""
            yield {"row": n, "rater": rater, "item": item, "response": answer, "status": "ok" if answer else "blank",
                   "submitted": values[0]}  # fmt: skip


def crowd_answer(outputs, answer_field: str | None = None) -> tuple[str, str]:
    """(answer, status) from Answer.taskAnswers' parsed JSON: status "ok", "blank" or why it cannot count."""
    entries = outputs if isinstance(outputs, list) else [outputs]
    if len(entries) != 1 or not isinstance(entries[0], dict):
        return "", f"unreadable Answer.taskAnswers (expected one object of element outputs, got {len(entries)})"
    elements = entries[0]
    if answer_field is not None:
        if answer_field not in elements:
            return "", f"no element {answer_field!r} in Answer.taskAnswers (has {', '.join(elements) or 'none'})"
        elements = {answer_field: elements[answer_field]}
    choices, numbers, texts, had_options = [], [], [], False
    for name, out in elements.items():
        if isinstance(out, dict) and out and all(isinstance(v, bool) for v in out.values()):
            had_options = True  # a radio button, check box or radio group: {"value": checked}
            choices += [str(k) for k, v in out.items() if v]
        elif isinstance(out, dict) and "label" in out:  # crowd-classifier, crowd-image-classifier
            choices.append(str(out["label"]))
        elif isinstance(out, dict) and isinstance(out.get("labels"), list):  # multi-select classifiers
            had_options, choices = True, choices + [str(v) for v in out["labels"]]
        elif isinstance(out, bool):  # crowd-toggle-button
            texts.append(str(out).lower())
        elif isinstance(out, int | float):  # crowd-slider
            numbers.append(f"{out:g}")
        elif isinstance(out, str):  # crowd-input, crowd-text-area
            texts += [out.strip()] if out.strip() else []
        else:
            return "", f"unreadable Answer.taskAnswers (element {name!r}: {json.dumps(out)[:60]})"
    for kind, found in (("checked options", choices), ("numbers", numbers), ("texts", texts)):
        if len(found) == 1:
            return found[0], "ok"
        if len(found) > 1:
            return "", f"ambiguous answer: several {kind} ({', '.join(found)}); name one with --answer-field"
        if kind == "checked options" and had_options:
            return "", "blank"  # options were shown, none was checked: unanswered
    return "", "blank"


def _mturk(rows, path, answer_field: str | None = None):
    header = rows[0]
    input_item = next((h for h in header if h.startswith("Input.") and "item" in h.lower()), None)
    answers = [h for h in header if h.startswith("Answer.") and h != "Answer.taskAnswers"]
    if input_item is None or not (answers or "Answer.taskAnswers" in header):
        raise ResponseFormatError(f"{path}: MTurk file needs an Input.item column and Answer.* columns")
    for n, r in _dicts(rows, 1, header):
        answer, status = "", "ok"
        if r.get("Answer.taskAnswers", "").strip():
            try:
                answer, status = crowd_answer(json.loads(r["Answer.taskAnswers"]), answer_field)
            except json.JSONDecodeError as e:
                status = f"unreadable Answer.taskAnswers ({e})"
        else:
            named = [f"Answer.{answer_field}"] if answer_field else answers
            filled = [(a, r[a].strip()) for a in named if r.get(a, "").strip()]
            if len(filled) > 1:
                status = f"ambiguous answer: several Answer.* columns filled ({', '.join(a for a, _ in filled)}); " \
                         "name one with --answer-field"  # fmt: skip
            answer = filled[0][1] if len(filled) == 1 else ""
            status = "blank" if not filled else status
        if r["AssignmentStatus"] == "Rejected":
            status = "rejected assignment"
        yield {"row": n, "rater": r["WorkerId"], "item": r[input_item].strip(), "response": answer,
               "status": status, "submitted": r.get("SubmitTime", "")}  # fmt: skip


def _qualtrics(rows, path):
    header = rows[0]
    items = _item_columns(header, path)
    idx = {h: i for i, h in enumerate(header)}
    for n, values in enumerate(rows[3:], start=4):
        if not any(v.strip() for v in values):
            continue
        status_raw = values[idx["Status"]].strip()
        finished = values[idx["Finished"]].strip().lower() in ("1", "true")
        status = "ok"
        if status_raw not in ("0", "IP Address"):
            status = f"not a real response (Status {status_raw})"
        elif not finished:
            status = "unfinished response"
        for i, item in items.items():
            answer = values[i].strip() if i < len(values) else ""
            yield {"row": n, "rater": values[idx["ResponseId"]], "item": item, "response": answer,
                   "status": status if answer or status != "ok" else "blank",
                   "submitted": values[idx["RecordedDate"]] if "RecordedDate" in idx else ""}  # fmt: skip


# --- writers (the simulator's; headers as the services write them) ----------------------------


def write(judgements: pd.DataFrame, fmt: str, path: Path, question: str, rejected: set[str] = frozenset()) -> None:
    """judgements: rater, item, response (one row each). Writes `path` in `fmt`."""
    raters, items = list(dict.fromkeys(judgements.rater)), sorted(judgements.item.unique())
    wide = judgements.pivot_table(index="rater", columns="item", values="response", aggfunc="first").reindex(raters)
    out: list[list[str]] = []
    if fmt == "long":
        out = [["rater", "item", "response"]] + judgements[["rater", "item", "response"]].astype(str).values.tolist()
    elif fmt == "google_forms":
        out = [["Timestamp", "Email Address"] + [f"{question} [{it}]" for it in items]]
        for k, r in enumerate(raters):
            out.append([f"2026/11/2{k % 9} 10:{k % 60:02d}:00 AM GMT", f"{r}@example.org"]
                       + [_cell(wide.loc[r, it]) for it in items])  # fmt: skip
    elif fmt == "mturk":
        out = [["HITId", "HITTypeId", "WorkerId", "AssignmentId", "AssignmentStatus", "SubmitTime", "Input.item",
                "Input.image_url", "Answer.taskAnswers"]]  # fmt: skip
        for k, row in enumerate(judgements.itertuples()):
            status = "Rejected" if row.rater in rejected else "Approved"
            answer = json.dumps([_crowd_output(str(row.response))])
            out.append([f"HIT{row.item}", "3T9XY", row.rater, f"A{k:05d}", status, "Sun Nov 22 10:00:00 PST 2026",
                        row.item, f"https://example.org/{row.item}.png", answer])  # fmt: skip
    elif fmt == "qualtrics":
        meta = ["StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished",
                "RecordedDate", "ResponseId"]  # fmt: skip
        out = [meta + items, meta + [f"{question} - {it}" for it in items],
               [json.dumps({"ImportId": m}) for m in meta] + [json.dumps({"ImportId": f"QID{i + 1}"}) for i in
                                                                range(len(items))]]  # fmt: skip
        for r in raters:
            unfinished = r in rejected
            out.append(["2026-11-22 10:00:00", "2026-11-22 10:10:00", "IP Address", "127.0.0.1",
                        "60" if unfinished else "100", "600", "False" if unfinished else "True",
                        "2026-11-22 10:10:00", f"R_{r}"] + [_cell(wide.loc[r, it]) for it in items])  # fmt: skip
    else:
        raise ValueError(f"unknown format {fmt!r}")
    with Path(path).open("w", newline="") as f:
        csv.writer(f).writerows(out)


def _crowd_output(response: str) -> dict:
    """What a crowd-form HIT records: a crowd-radio-group of real / fake (one entry per button) for 2AFC, a
    crowd-slider named rating for scores, a crowd-input otherwise."""
    if response in ("real", "fake"):
        return {"real": {"real": response == "real"}, "fake": {"fake": response == "fake"}}
    if response.isdigit():
        return {"rating": int(response)}
    return {"answer": response}


def _cell(v) -> str:
    return "" if pd.isna(v) else str(v)


def simulate(key: pd.DataFrame, quality: dict[str, float], n_raters: int = 20, careless: int = 4,
             seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """Responses (rater, item, response) of raters with a known truth. Rating: variant quality on 1-10,
    real images 9, plus rater bias, item effect and noise. 2AFC: quality = P(judged real), real images
    0.9. The last `careless` raters are careless: half straight-line, half answer at random."""
    protocol = key.protocol.iloc[0]
    rng = np.random.default_rng(seed)
    item_effect = dict(zip(key.item, rng.normal(0, 0.5, len(key))))
    rows = []
    for r in range(n_raters):
        rater, kind = f"w{r:03d}", "diligent" if r < n_raters - careless else ("straight" if r % 2 else "random")
        bias = rng.normal(0, 0.7)
        for it in key.itertuples():
            truth = (9.0 if protocol == "rating" else 0.9) if it.is_real else quality[it.variant]
            if protocol == "rating":
                score = {"diligent": truth + bias + item_effect[it.item] + rng.normal(0, 1.0), "straight": 5,
                         "random": rng.integers(1, 11)}[kind]  # fmt: skip
                answer = str(int(np.clip(round(score), 1, 10)))
            else:
                p = {"diligent": truth, "straight": 0.0, "random": 0.5}[kind]
                answer = "real" if rng.random() < p else "fake"
            rows.append({"rater": rater, "item": it.item, "response": answer})
    return pd.DataFrame(rows)
