"""``iii-exec``: string items that read like one argv split over lines are refused at config load,
with the argv form in the message (issue #19 item 4)."""

from __future__ import annotations

import msgspec
import pytest

from pyiii.engine_config import ConfigError, parse
from pyiii.workers.exec.argv_check import split_argv_problem
from pyiii.workers.exec.config import ExecConfig


@pytest.mark.parametrize(("items", "argv_form"), [
    (["python", "-m", "src.main"], "    - [python, -m, src.main]"),  # the migration guide's example
    (["npm install", "python", "-m", "src.main"], "    - npm install\n    - [python, -m, src.main]"),
    (["python", "src.main"], "    - [python, src.main]"),
    (["node", "index.js"], "    - [node, index.js]"),
    (["uvicorn", "app.main:app", "--port", "8000"], "    - [uvicorn, 'app.main:app', --port, '8000']"),
    (["-m foo"], "    - [-m, foo]"),
    (["python app.py", "--reload"], "    - [python, app.py, --reload]"),
    (["npm ci", "python app.py", "--port", "80"], "    - npm ci\n    - [python, app.py, --port, '80']"),
])
def test_split_argv_is_refused_with_its_argv_form(items: list[str | list[str]], argv_form: str) -> None:
    problem = split_argv_problem(items)
    assert problem is not None
    assert problem.endswith("Write the command as one argv list:\n  exec:\n" + argv_form)


def test_the_message_names_the_items_and_the_culprit() -> None:
    problem = split_argv_problem(["python", "-m", "src.main"])
    assert problem is not None
    assert problem.startswith("exec[0..2] ('python', '-m', 'src.main') read like one command split over lines")
    assert "'-m' starts with '-'" in problem
    single = split_argv_problem(["-m foo"])
    assert single is not None and single.startswith("exec[0] ('-m foo') is not a command")


@pytest.mark.parametrize("items", [
    ["uv run motia run --dir steps"],
    ["echo ready > setup.txt", "python app.py"],
    ["npm install", "npm start"],
    ["make", "./server"],  # one-word commands stay commands
    ["python3.12 -m http.server"],
    [["python", "-m", "src.main"]],  # already an argv
    ["npm ci", ["node", "--enable-source-maps", "dist/index.js"]],
    [],
])
def test_commands_pass(items: list[str | list[str]]) -> None:
    assert split_argv_problem(items) is None
    assert ExecConfig(exec=items).exec == items


def test_the_config_struct_refuses_it() -> None:
    with pytest.raises(msgspec.ValidationError, match="read like one command"):
        msgspec.convert({"exec": ["python", "-m", "src.main"]}, ExecConfig)


@pytest.mark.parametrize(("text", "where"), [
    ("workers:\n  - name: iii-exec\n    config:\n      exec:\n        - python\n        - -m\n        - src.main\n",
     "cfg.yaml:5: workers[0] (iii-exec).config: exec[0..2]"),
    ("modules:\n  - class: modules::shell::ExecModule\n    config:\n      watch: [src/**/*.py]\n"
     "      exec: [python, -m, src.main]\n",
     "cfg.yaml:5: modules[0] modules::shell::ExecModule (iii-exec).config: exec[0..2]"),
])
def test_config_load_fails_naming_file_and_line_in_both_formats(text: str, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(text, source="cfg.yaml")
    message = str(info.value)
    assert message.startswith(where)
    assert message.endswith("  exec:\n    - [python, -m, src.main]")
