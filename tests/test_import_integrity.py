"""The three import faults found by trying files as the services write them: crowd-form element outputs,
a key of another study, and a download cut short. Each gives the right result or a clear refusal, a refused
import leaves results.csv untouched, and importing the same file twice changes nothing."""

import json

import pandas as pd
import pytest

from metrics import questionnaire as Q
from metrics import response_formats as rf
from tests.test_questionnaire import _key

# --- crowd-form element outputs (Answer.taskAnswers), as the Crowd HTML Elements reference documents them ---


@pytest.mark.parametrize("outputs, expected", [
    ([{"real": {"real": False}, "fake": {"fake": True}}], ("fake", "ok")),  # crowd-radio-group: one entry per button
    ([{"real": {"real": True}, "fake": {"fake": False}}], ("real", "ok")),
    ([{"choice": {"fake": True, "real": False}}], ("fake", "ok")),  # the buttons of one group in one object
    ([{"real": {"real": False}, "fake": {"fake": False}}], ("", "blank")),  # shown, none checked
    ([{"sure": {"on": True}}], ("on", "ok")),  # crowd-checkbox
    ([{"a": {"real": True}, "b": {"fake": True}}], ("", "ambiguous answer: several checked options (real, fake)")),
    ([{"category": {"label": "Real"}}], ("Real", "ok")),  # crowd-classifier / crowd-image-classifier
    ([{"category": {"labels": ["real"]}}], ("real", "ok")),  # crowd-image-classifier-multi-select
    ([{"rating": 7}], ("7", "ok")),  # crowd-slider
    ([{"rating": "8"}], ("8", "ok")),  # crowd-input
    ([{"real": {"real": True}, "fake": {"fake": False}, "comment": "looked odd"}], ("real", "ok")),  # option wins
    ([{"rating": 6, "comment": "blurry"}], ("6", "ok")),  # a number wins over a comment
    ([{"answer": "7", "comment": "blurry"}], ("", "ambiguous answer: several texts (7, blurry)")),
    ([{"comment": ""}], ("", "blank")),
    ([{}, {}], ("", "unreadable Answer.taskAnswers (expected one object of element outputs, got 2)")),
])  # fmt: skip
def test_every_crowd_element_output(outputs, expected):
    answer, status = rf.crowd_answer(outputs)
    assert (answer, status.replace("; name one with --answer-field", "")) == expected


def test_answer_field_names_the_element():
    assert rf.crowd_answer([{"answer": "7", "comment": "blurry"}], "answer") == ("7", "ok")
    assert rf.crowd_answer([{"answer": "7"}], "score")[1].startswith("no element 'score'")


def _mturk_rows(key, answers):
    header = ["HITId", "HITTypeId", "Title", "AssignmentId", "WorkerId", "AssignmentStatus", "AcceptTime",
              "SubmitTime", "WorkTimeInSeconds", "Input.item", "Input.image_url", "Answer.taskAnswers", "Approve",
              "Reject"]  # fmt: skip
    rows = [header]
    for k, (worker, item, out) in enumerate(answers):
        rows.append([f"3H{item}", "3T", "Real or fake?", f"3A{k:04d}", worker, "Submitted",
                     "Mon Nov 23 09:00:00 PST 2026", "Mon Nov 23 09:01:00 PST 2026", "41", item,
                     f"https://example.org/{item}.png", json.dumps([out]), "", ""])  # fmt: skip
    return rows


def _write_csv(path, rows):
    import csv

    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def test_mturk_radio_buttons_import_both_answers(tmp_path):
    """The issue's file: 19 workers answer a crowd-radio-group; 'fake' answers were all unreadable before."""
    key = _key("2afc", per=5, reals=5)
    key.to_csv(tmp_path / "key.csv", index=False)
    answers = []
    for w in range(19):
        for it in key.itertuples():
            says_real = (it.is_real and w % 7) or (not it.is_real and (w + it.index) % 3 == 0)
            out = {"real": {"real": bool(says_real)}, "fake": {"fake": not says_real}}
            answers.append((f"W{w:02d}", it.item, out))
    path = _write_csv(tmp_path / "Batch_1_batch_results.csv", _mturk_rows(key, answers))
    report = Q.import_responses(path, tmp_path / "key.csv", "s", tmp_path / "runs")
    assert report["format"] == "mturk" and report["kept"] > 0 and len(report["problems"]) == 0
    j = pd.read_csv(tmp_path / "runs" / "s" / "human" / "2afc" / "judgements.csv")
    assert set(j.value) == {0.0, 1.0}  # both answers read
    fooled = report["summary"].set_index("variant").human_fooled_rate
    assert 0 < fooled["1x1"] < 1 and fooled["real"] > 0.5


# --- the key must be the study's ---------------------------------------------------------------


def test_a_key_of_another_study_is_refused_and_nothing_written(tmp_path, runs):
    key = _key("rating", per=4, reals=4).assign(study="ablation_loss")
    key.to_csv(tmp_path / "key.csv", index=False)
    rf.write(rf.simulate(key, {"1x1": 3, "70x70": 7}, n_raters=8, careless=0), "long", tmp_path / "r.csv", "?")
    results = runs / "ablation_patchgan" / "results.csv"
    before = results.read_bytes()
    with pytest.raises(Q.ResponseError, match=r"is the key of study 'ablation_loss', not of 'ablation_patchgan'"):
        Q.import_responses(tmp_path / "r.csv", tmp_path / "key.csv", "ablation_patchgan", runs)
    assert results.read_bytes() == before and not (runs / "ablation_patchgan" / "human").exists()
    wrong_runs = key.assign(study="ablation_patchgan", run_id=key.run_id.str.replace("1x1", "3x3"))
    wrong_runs.loc[wrong_runs.is_real, "run_id"] = ""
    wrong_runs.to_csv(tmp_path / "key2.csv", index=False)
    with pytest.raises(Q.ResponseError, match=r"runs \['3x3-s0'\] are not runs of study 'ablation_patchgan'"):
        Q.import_responses(tmp_path / "r.csv", tmp_path / "key2.csv", "ablation_patchgan", runs)
    assert results.read_bytes() == before
    assert Q.main(["import", str(tmp_path / "r.csv"), "--key", str(tmp_path / "key.csv"), "--study",
                   "ablation_patchgan", "--runs", str(runs)]) == 2  # fmt: skip


def test_a_key_mixing_studies_is_refused(tmp_path):
    key = _key()
    key.loc[0, "study"] = "other"
    key.to_csv(tmp_path / "key.csv", index=False)
    with pytest.raises(Q.ResponseError, match="a key belongs to one study, this one names"):
        Q.load_key(tmp_path / "key.csv")


# --- a download cut short ----------------------------------------------------------------------


@pytest.fixture
def batch(tmp_path):
    key = _key("2afc", per=6, reals=6)
    key.to_csv(tmp_path / "key.csv", index=False)
    rf.write(rf.simulate(key, {"1x1": 0.2, "70x70": 0.5}, n_raters=12, careless=2), "mturk", tmp_path / "full.csv", "?")
    return tmp_path


@pytest.mark.parametrize("share", [0.9, 0.55])
def test_a_truncated_download_is_refused_unless_partial_is_allowed(batch, share, capsys):
    data = (batch / "full.csv").read_bytes()
    cut = batch / "cut.csv"
    cut.write_bytes(data[: int(len(data) * share)])
    Q.import_responses(batch / "full.csv", batch / "key.csv", "s", batch / "runs")
    results = batch / "runs" / "s" / "results.csv"
    before = results.read_bytes()
    with pytest.raises(rf.ResponseFormatError, match=r"cut\.csv: looks truncated: .*(line \d+|row at line)"):
        Q.import_responses(cut, batch / "key.csv", "s", batch / "runs")
    assert results.read_bytes() == before
    assert Q.main(["import", str(cut), "--key", str(batch / "key.csv"), "--study", "s", "--runs",
                   str(batch / "runs")]) == 2  # fmt: skip
    assert "looks truncated" in capsys.readouterr().err and results.read_bytes() == before
    report = Q.import_responses(cut, batch / "key.csv", "s", batch / "runs", allow_partial=True)
    notes = report["problems"][report["problems"].row == 0].reason.tolist()
    assert len(notes) == 1 and ("quoted field" in notes[0] or "fields" in notes[0])
    complete = len(data[: int(len(data) * share)].decode().splitlines()) - 2  # header and the cut row
    assert report["raw"] == complete  # every complete row imported, the cut one noted


def test_importing_a_fixed_file_twice_changes_nothing(batch):
    Q.import_responses(batch / "full.csv", batch / "key.csv", "s", batch / "runs")
    results = batch / "runs" / "s" / "results.csv"
    first = results.read_bytes()
    Q.import_responses(batch / "full.csv", batch / "key.csv", "s", batch / "runs")
    assert results.read_bytes() == first


def test_a_file_without_final_newline_but_complete_rows_is_read(batch):
    data = (batch / "full.csv").read_bytes().rstrip(b"\r\n")
    (batch / "no_newline.csv").write_bytes(data)
    full = Q.import_responses(batch / "full.csv", batch / "key.csv", "s", batch / "runs")
    again = Q.import_responses(batch / "no_newline.csv", batch / "key.csv", "s", batch / "runs")
    assert again["kept"] == full["kept"] and again["raw"] == full["raw"]


def test_mturk_classic_form_blank_answer_is_listed(tmp_path):
    """A classic HTML form (one Answer.<name> column) left empty: the answer is listed in problems, not dropped."""
    key = _key("2afc", per=2, reals=1)
    key.to_csv(tmp_path / "key.csv", index=False)
    header = ["HITId", "WorkerId", "AssignmentStatus", "SubmitTime", "Input.item", "Answer.choice"]
    answer = {it: "real" if real else "fake" for it, real in zip(key.item, key.is_real)}  # diligent raters
    rows = [header] + [[f"H{k}", f"W{w}", "Submitted", "", it, "" if (w, k) == (0, 1) else answer[it]]
                       for w in range(6) for k, it in enumerate(key.item)]  # fmt: skip
    report = Q.import_responses(_write_csv(tmp_path / "classic.csv", rows), tmp_path / "key.csv", "s", tmp_path / "r")
    blanks = report["problems"][report["problems"].reason.str.startswith("blank")]
    assert len(blanks) == 1 and blanks.rater.iloc[0] == "W0" and blanks["item"].iloc[0] == key.item.iloc[1]
    assert (tmp_path / "r" / "s" / "human" / "2afc" / "problems.csv").read_text().count("blank") == 1
