"""requirements.model: only pins pass, every refusal names its line, and the environment key
follows the file's content (and nothing else about the folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.packages.requirements import (
    RUNNER_REQUIREMENTS,
    parse_requirements,
    read_requirements,
)
from engine.errors import ValidationError

FILE = Path("/models/churn/requirements.model")


def test_pins_with_extras_markers_and_comments_are_read():
    text = ("# the model's pins\n"
            "tabulate==0.8.10  # tables in the training log\n"
            "\n"
            "Requests[socks]==2.31.0 ; python_version >= '3.8'\n"
            "six===1.16.0\n")
    found = parse_requirements(text, FILE)
    assert [(p.line, p.name) for p in found.pins] == [(2, "tabulate"), (4, "requests"),
                                                      (5, "six")]
    assert found.pins[0].text == "tabulate==0.8.10"


@pytest.mark.parametrize("line, says", [
    ("pandas>=2", "line 1: 'pandas>=2' is not pinned (write pandas==VERSION)"),
    ("pandas", "is not pinned"),
    ("pandas==2.*", "is not pinned"),
    ("pandas==2.1,<3", "is not pinned"),
    ("-r other.txt", "line 1: '-r other.txt': options are not supported"),
    ("--index-url https://mirror/simple", "options are not supported"),
    ("-e ../common", "options are not supported"),
    ("mypkg @ file:///tmp/mypkg", "URLs and local paths are not supported"),
    ("pandas===", "is not a requirement"),
])
def test_anything_but_a_pin_is_refused_naming_the_line(line, says):
    with pytest.raises(ValidationError) as caught:
        parse_requirements(line + "\n", FILE)
    assert says in caught.value.message
    assert caught.value.message.startswith("requirements.model line 1")


def test_a_package_pinned_twice_is_refused():
    with pytest.raises(ValidationError, match="line 3: Tabulate is already pinned on line 1"):
        parse_requirements("tabulate==0.8.10\nsix==1.16.0\nTabulate==0.10.0\n", FILE)


def test_the_key_is_the_content_and_not_the_place(tmp_path):
    a = parse_requirements("tabulate==0.8.10\n", tmp_path / "a" / "requirements.model")
    same = parse_requirements("tabulate==0.8.10\n", tmp_path / "b" / "requirements.model")
    other = parse_requirements("tabulate==0.10.0\n", FILE)
    assert a.key == same.key != other.key
    assert len(a.key) == 64


def test_a_folder_without_the_file_has_none(tmp_path):
    assert read_requirements(tmp_path) is None
    (tmp_path / "requirements.model").write_text("tabulate==0.8.10\n")
    assert read_requirements(tmp_path).pins[0].name == "tabulate"


def test_installer_output_is_blamed_on_the_requirement_it_names():
    found = parse_requirements("numpy==1.26.4\nTabulate==99.0\n", FILE)
    uv = ("  × No solution found when resolving dependencies:\n"
          "  ╰─▶ Because there is no version of tabulate==99.0 and you require "
          "tabulate==99.0, we can conclude that your requirements are unsatisfiable.")
    assert found.blame(uv) == "'Tabulate==99.0' (line 2)"
    pip = "ERROR: Could not find a version that satisfies the requirement Tabulate==99.0"
    assert found.blame(pip) == "'Tabulate==99.0' (line 2)"
    assert found.blame("error: failed to build pyarrow") == \
        "the runner's requirement 'pyarrow'"
    assert "pyarrow" in RUNNER_REQUIREMENTS
    assert found.blame("network is unreachable") is None
