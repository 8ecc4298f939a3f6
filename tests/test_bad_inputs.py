"""Every file in the malformed-input corpus ends in a clear error or a documented handling.

No traceback ever reaches the command line, and no file yields a wrong number.
"""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aovlab.cli import app

BAD = Path(__file__).parent / "data" / "bad"
MANIFEST = json.loads((BAD / "expected.json").read_text(encoding="utf-8"))


def test_the_corpus_is_large_enough():
    assert len(MANIFEST) >= 30
    files = [p for p in BAD.rglob("*") if p.name.endswith((".csv", ".csv.gz"))]
    assert sorted(MANIFEST) == sorted(p.relative_to(BAD).as_posix() for p in files)


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_bad_input(name):
    expected = MANIFEST[name]
    command = expected.get("command", "kpis")
    args = [command, str(BAD / name), *expected.get("args", []), "--json"]
    result = CliRunner().invoke(app, args)
    output = result.stdout + result.stderr
    assert ("Traceback" not in output and result.exception is None) or isinstance(
        result.exception, SystemExit
    ), output
    assert result.exit_code == expected["exit"], output
    if expected["exit"] == 2:
        assert expected["message"] in result.stderr, result.stderr
        assert result.stdout == ""
    else:
        assert command == "kpis"
        payload = json.loads(result.stdout)
        assert (payload["orders"], payload["revenue"]) == (expected["orders"], expected["revenue"])
