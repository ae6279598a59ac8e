"""The README documents every command, every option and every setting; this fails the build when
one goes undocumented (datasette's rule)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click

from paperscope.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
SOURCE = Path(__file__).resolve().parents[1] / "src" / "paperscope"


def walk(group: click.Group, prefix: str = "paperscope") -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        yield path, command
        if isinstance(command, click.Group):
            yield from walk(command, path)


def test_every_command_is_documented() -> None:
    missing = [path for path, _ in walk(main) if f"`{path}" not in README]
    assert not missing, f"commands missing from README.md: {missing}"


def section(path: str) -> str:
    """The README text from the heading that names the command to the next heading."""
    match = re.search(rf"^#+ `{re.escape(path)}[` ].*?(?=^#+ |\Z)", README, re.MULTILINE | re.DOTALL)
    return match.group(0) if match else ""


def test_every_option_is_documented_in_its_command_section() -> None:
    missing = []
    for path, command in walk(main):
        if isinstance(command, click.Group):
            continue
        text = section(path)
        for param in command.params:
            if isinstance(param, click.Option):
                missing += [f"{path} {flag}" for flag in param.opts if flag.startswith("--") and flag not in text]
    for param in main.params:
        missing += [
            f"paperscope {flag}" for flag in getattr(param, "opts", []) if flag.startswith("--") and flag not in README
        ]
    assert not missing, f"options missing from their command's README section: {missing}"


def test_every_environment_setting_is_documented() -> None:
    names = set()
    for path in SOURCE.rglob("*.py"):
        names.update(re.findall(r"\bPAPERSCOPE_[A-Z_]*[A-Z]\b", path.read_text()))
    missing = sorted(name for name in names if name not in README)
    assert not missing, f"settings missing from README.md: {missing}"


def test_every_field_of_the_settings_object_has_a_row_in_the_settings_table() -> None:
    from paperscope.config import Settings, env_name, toml_name

    match = re.search(r"^## Settings\n.*?(?=^## )", README, re.MULTILINE | re.DOTALL)
    assert match, "README.md has no ## Settings section"
    rows = {line.split("|")[1].strip(): line for line in match.group(0).splitlines() if line.startswith("| `")}
    missing = []
    for field in Settings.model_fields:
        row = rows.get(f"`{env_name(field)}`")
        if row is None:
            missing.append(env_name(field))
        elif field != "home" and f"`{toml_name(field)}`" not in row:
            missing.append(f"{env_name(field)} (its config.toml spelling {toml_name(field)})")
    assert not missing, f"settings missing from README.md's settings table: {missing}"
