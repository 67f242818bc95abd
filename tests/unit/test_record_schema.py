"""The run record's one schema (bench.runs.schema): every committed record fits it and is
written back byte for byte, its JSON Schema in docs/ is current and usable by other tools,
and a record that does not fit is one line naming the field."""

import json

import pytest

from bench.runs import schema
from bench.runs.records import load_records, validate_record
from tests.helpers import ROOT

COMMITTED = sorted((ROOT / "results" / "runs").glob("*.json"))
DOC = ROOT / "docs" / "record.schema.json"


def test_there_are_committed_records_to_check():
    assert len(COMMITTED) >= 50
    assert any("config_migrated" in json.loads(p.read_text()) for p in COMMITTED)  # the old ones too


@pytest.mark.parametrize("path", COMMITTED, ids=[p.stem for p in COMMITTED])
def test_every_committed_record_fits_and_is_written_back_byte_for_byte(path):
    text = path.read_text()
    record = validate_record(json.loads(text), path)
    assert schema.to_json(record) == text  # one writer: the same format the committed files have


def test_the_committed_results_load_as_one_table():
    assert len(load_records(ROOT / "results")) == len(COMMITTED)


def test_the_json_schema_in_the_docs_is_current():
    assert DOC.read_text() == schema.json_schema(), (
        "docs/record.schema.json is stale: python -m bench.runs.schema docs/record.schema.json")


def test_other_tools_can_check_records_with_the_exported_json_schema():
    jsonschema = pytest.importorskip("jsonschema")
    checker = jsonschema.Draft202012Validator(json.loads(DOC.read_text()))
    for path in COMMITTED:
        checker.validate(json.loads(path.read_text()))
    bad = json.loads(COMMITTED[0].read_text())
    bad["seed"] = "zero"
    assert not checker.is_valid(bad)


def test_each_measure_has_its_model():
    assert set(schema.MEASURES) == {"disentanglement", "morphometrics", "tsne", "reconstruction", "latent_kl",
                                    "generation"}
    for name, model in schema.MEASURES.items():
        assert name in schema.Record.model_fields and issubclass(model, schema.BaseModel)


@pytest.mark.parametrize("content, why", [
    ([1], "a JSON list, not an object"),
    (None, "a JSON null, not an object"),
    ({"run_id": "a"}, "no 'method'"),
])
def test_what_is_not_a_record_at_all(content, why):
    with pytest.raises(schema.Invalid, match=f"^{why}$"):
        schema.check(content)


def test_a_completed_run_needs_its_scores():
    record = json.loads(COMMITTED[0].read_text())
    record.pop("metrics", None)
    record["status"] = "completed"
    with pytest.raises(schema.Invalid, match="^the record: a completed run without metrics$"):
        schema.check(record)


def test_a_union_that_fits_no_branch_says_so_in_one_line():
    record = json.loads(COMMITTED[0].read_text())
    record["overrides"] = {"k": [1, [2]]}
    with pytest.raises(schema.Invalid, match=r"^overrides\.k: not one of the kinds of value allowed here$"):
        schema.check(record)


def test_undefined_numbers_become_null_and_infinities_stay_to_be_refused():
    assert schema.nan_as_null({"a": [float("nan"), 1.0, float("inf")]}) == {"a": [None, 1.0, float("inf")]}
    assert schema.where(("losses", 3, "D_loss")) == "losses[3].D_loss"
