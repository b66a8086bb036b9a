"""Response files: the four parsers on files with the services' exact headers, format detection,
truncated rows, and a property test that malformed files raise our errors and never crash otherwise."""

import csv
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics import questionnaire as Q
from metrics import response_formats as rf
from tests.test_questionnaire import _key, _write


def test_google_forms_parser(tmp_path):
    path = _write(
        tmp_path / "forms.csv",
        [
            ["Timestamp", "Email Address", "Rate each image [item_001]", "Rate each image [item_002]"],
            ["2026/11/22 10:01:02 AM GMT+1", "ana@example.org", "7", "3"],
            ["2026/11/22 10:05:40 AM GMT+1", "", "8", ""],
        ],
    )
    raw, fmt = rf.parse(path)
    assert fmt == "google_forms"
    assert raw[raw.status == "ok"][["rater", "item", "response"]].values.tolist() == [
        ["ana@example.org", "item_001", "7"],
        ["ana@example.org", "item_002", "3"],
        ["row3", "item_001", "8"],
    ]


def test_mturk_parser(tmp_path):
    header = [
        "HITId",
        "HITTypeId",
        "Title",
        "AssignmentId",
        "WorkerId",
        "AssignmentStatus",
        "AcceptTime",
        "SubmitTime",
        "WorkTimeInSeconds",
        "Input.item",
        "Input.image_url",
        "Answer.taskAnswers",
        "Approve",
        "Reject",
    ]
    path = _write(
        tmp_path / "Batch_123_batch_results.csv",
        [
            header,
            [
                "3X1",
                "3T",
                "Real or fake?",
                "A1",
                "W1",
                "Approved",
                "",
                "Sun Nov 22 10:00:00 PST 2026",
                "12",
                "item_001",
                "https://x/item_001.png",
                json.dumps([{"choice": {"fake": False, "real": True}}]),
                "",
                "",
            ],
            [
                "3X1",
                "3T",
                "Real or fake?",
                "A2",
                "W2",
                "Rejected",
                "",
                "",
                "3",
                "item_001",
                "https://x/item_001.png",
                json.dumps([{"choice": {"fake": True, "real": False}}]),
                "",
                "",
            ],
            [
                "3X2",
                "3T",
                "Real or fake?",
                "A3",
                "W1",
                "Submitted",
                "",
                "",
                "9",
                "item_002",
                "https://x/item_002.png",
                "not json",
                "",
                "",
            ],
        ],
    )
    raw, fmt = rf.parse(path)
    assert fmt == "mturk"
    assert raw[["rater", "item", "response", "status"]].values.tolist()[:2] == [
        ["W1", "item_001", "real", "ok"],
        ["W2", "item_001", "fake", "rejected assignment"],
    ]
    assert raw.status.iloc[2].startswith("unreadable Answer.taskAnswers")


def test_qualtrics_parser(tmp_path):
    meta = [
        "StartDate",
        "EndDate",
        "Status",
        "IPAddress",
        "Progress",
        "Duration (in seconds)",
        "Finished",
        "RecordedDate",
        "ResponseId",
        "item_001",
        "item_002",
    ]
    path = _write(
        tmp_path / "survey.csv",
        [
            meta,
            [
                "Start Date",
                "End Date",
                "Response Type",
                "IP Address",
                "Progress",
                "Duration (in seconds)",
                "Finished",
                "Recorded Date",
                "Response ID",
                "How realistic? - item_001",
                "How realistic? - item_002",
            ],
            [
                '{"ImportId":"startDate","timeZone":"America/Denver"}',
                '{"ImportId":"endDate"}',
                '{"ImportId":"status"}',
                '{"ImportId":"ipAddress"}',
                '{"ImportId":"progress"}',
                '{"ImportId":"duration"}',
                '{"ImportId":"finished"}',
                '{"ImportId":"recordedDate"}',
                '{"ImportId":"_recordId"}',
                '{"ImportId":"QID1"}',
                '{"ImportId":"QID2"}',
            ],
            [
                "2026-11-22 10:00:00",
                "2026-11-22 10:09:00",
                "IP Address",
                "1.2.3.4",
                "100",
                "540",
                "True",
                "2026-11-22 10:09:00",
                "R_abc",
                "9",
                "4",
            ],
            [
                "2026-11-22 10:00:00",
                "2026-11-22 10:02:00",
                "IP Address",
                "1.2.3.5",
                "40",
                "120",
                "False",
                "2026-11-22 10:02:00",
                "R_def",
                "6",
                "",
            ],
            [
                "2026-11-22 10:00:00",
                "2026-11-22 10:02:00",
                "Survey Preview",
                "",
                "100",
                "60",
                "True",
                "2026-11-22 10:02:00",
                "R_prev",
                "1",
                "1",
            ],
        ],
    )
    raw, fmt = rf.parse(path)
    assert fmt == "qualtrics"
    assert raw[raw.status == "ok"][["rater", "item", "response"]].values.tolist() == [
        ["R_abc", "item_001", "9"],
        ["R_abc", "item_002", "4"],
    ]
    assert "unfinished response" in set(raw.status) and "not a real response (Status Survey Preview)" in set(raw.status)
    assert set(raw[raw.rater == "R_abc"].row) == {4}  # rows are numbered as in the file


def test_detection_errors(tmp_path):
    with pytest.raises(rf.ResponseFormatError, match=r"unrecognised header \['who', 'what'\]"):
        rf.parse(_write(tmp_path / "x.csv", [["who", "what"], ["a", "b"]]))
    with pytest.raises(rf.ResponseFormatError, match="empty file"):
        rf.parse(_write(tmp_path / "e.csv", []))
    with pytest.raises(rf.ResponseFormatError, match="--format mturk given, but the header looks like long"):
        rf.parse(_write(tmp_path / "l.csv", [["rater", "item", "response"]]), "mturk")
    with pytest.raises(rf.ResponseFormatError, match="no question column names an item"):
        rf.parse(_write(tmp_path / "g.csv", [["Timestamp", "Q1"], ["t", "5"]]))


def test_rows_of_the_wrong_width_are_refused_or_left_out(tmp_path):
    path = _write(tmp_path / "long.csv", [["rater", "item", "response"], ["a", "item_001"], ["a", "item_002", "5"]])
    with pytest.raises(rf.ResponseFormatError, match="is malformed: row at line 2 has 2 of 3 fields"):
        rf.parse(path)
    raw, _ = rf.parse(path, allow_partial=True)
    assert raw.item.tolist() == ["item_002"] and raw.attrs["notes"] == ["left out: row at line 2 has 2 of 3 fields"]


HEADERS = [
    [["rater", "item", "response"]],
    [["Timestamp", "Email Address", "Rate each image [item_001]", "Rate each image [item_002]"]],
    [["HITId", "WorkerId", "AssignmentStatus", "Input.item", "Answer.taskAnswers"]],
    [
        ["StartDate", "Status", "Finished", "ResponseId", "item_001"],
        ["Start", "Type", "Fin", "Id", "Q - item_001"],
        [
            '{"ImportId":"a"}',
            '{"ImportId":"status"}',
            '{"ImportId":"finished"}',
            '{"ImportId":"id"}',
            '{"ImportId":"QID1"}',
        ],
    ],
    [],
]
cell = st.one_of(
    st.sampled_from(
        [
            "item_001",
            "item_002",
            "item_999",
            "7",
            "0",
            "real",
            "fake",
            "True",
            "False",
            "IP Address",
            "Rejected",
            "Approved",
            "[{}]",
            "{",
            "",
            "12.5",
        ]
    ),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(HEADERS), st.lists(st.lists(cell, max_size=6), max_size=6), st.sampled_from(["rating", "2afc"]))
def test_malformed_files_raise_our_errors_only(tmp_path, header, rows, protocol):
    key = _key(protocol, per=1, reals=1)
    key.to_csv(tmp_path / "key.csv", index=False)
    path = tmp_path / "fuzz.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(header + rows)
    try:
        report = Q.import_responses(path, tmp_path / "key.csv", "s", tmp_path / "runs")
    except (rf.ResponseFormatError, Q.ResponseError):
        return
    assert report["kept"] >= 1 and report["kept"] + len(report["problems"]) <= report["raw"]
