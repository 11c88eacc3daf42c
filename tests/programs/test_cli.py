"""The ``relais`` command: every subcommand has help (tests/test_docs.py checks that it is documented);
errors are messages."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from panel_agent.config import load_config
from programs.cli import build_parser, main


def all_commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((*prefix, name))
                found.extend(all_commands(sub, (*prefix, name)))
    return found


COMMANDS = all_commands(build_parser())


def test_the_expected_commands_exist() -> None:
    assert {("demo",), ("serve",), ("agent",), ("panel", "add"), ("token", "create"), ("user", "add")} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: relais " + " ".join(command))
    assert len(out.splitlines()) > 3


def test_panel_add_then_list_then_agent_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    spec = ["--id", "gex-led", "--name", "Gex — mairie", "--commune-insee", "01173"]
    size = ["--profile", "led-red-96x16", "--tag", "mairie"]
    assert main(["panel", "add", *data, *spec, *size]) == 0
    assert main(["panel", "list", *data]) == 0
    assert "gex-led" in capsys.readouterr().out
    assert (
        main(["panel", "agent-config", *data, "--id", "gex-led", "--broker-url", "mqtt://10.0.0.2:1883"]) == 0
    )
    config_file = tmp_path / "agent.toml"
    config_file.write_text(capsys.readouterr().out, encoding="utf-8")
    config = load_config(config_file)
    assert config.panel_id == "gex-led"
    assert config.broker_url.startswith("mqtt://panel-gex-led:")
    assert config.broker_url.endswith("@10.0.0.2:1883")


def test_bad_input_is_a_message_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    bad = ["--id", "Gex LED", "--name", "x", "--commune-insee", "01173"]
    code = main(["panel", "add", *data, *bad, "--profile", "led-red-96x16"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("relais panel: id:") and "Traceback" not in err


def test_token_create_prints_a_token_acting_as_the_user(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from controller.domain.accounts import token_actor
    from controller.storage.db import open_database

    data = ["--data-dir", str(tmp_path)]
    assert (
        main(
            ["user", "add", *data, "--name", "mairie-bourg", "--role", "commune-editor", "--commune", "01053"]
        )
        == 0
    )
    assert "password (shown only once): " in capsys.readouterr().out
    assert main(["token", "create", *data, "--user", "mairie-bourg", "--label", "script"]) == 0
    actor = token_actor(open_database(tmp_path / "relais.db"), capsys.readouterr().out.strip())
    assert actor is not None and (actor.name, actor.role.value, actor.commune_insee) == (
        "mairie-bourg",
        "commune-editor",
        "01053",
    )


def test_user_add_refuses_a_commune_role_without_commune(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["user", "add", "--data-dir", str(tmp_path), "--name", "x1", "--role", "commune-editor"])
    assert code == 2
    assert capsys.readouterr().err.startswith("relais user: commune:")


def test_token_create_names_an_unknown_user(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "create", "--data-dir", str(tmp_path), "--user", "nobody"]) == 2
    assert "no user named 'nobody'" in capsys.readouterr().err


def test_data_dir_defaults_to_the_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env_dir = tmp_path / "from-env"
    result = subprocess.run(
        [sys.executable, "-m", "programs.cli", "user", "add", "--name", "first", "--role", "admin"],
        env={"RELAIS_DATA_DIR": str(env_dir), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.startswith("user first created (admin)")
    assert (env_dir / "relais.db").exists()


def test_render_writes_native_pages_and_a_preview(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "render",
            "--profile",
            "led-amber-96x16",
            "--markup",
            "multi",
            "--out",
            str(out),
            "--text",
            "[jl3]ACCIDENT[np][pt30o0]RALENTIR",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "page 1/2" in printed and "page 2/2: 3 s" in printed
    assert {path.name for path in out.iterdir()} == {"page-1.png", "page-2.png", "preview.png"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--markup", "multi", "--text", "OK [xx3]"], "position 3"),
        (["--markup", "multi", "--text", "   OK [xx3]"], "position 6"),
        (["--no-paging", "--text", "mot " * 100], "pages"),
        (["--text", "☃"], "U+2603"),
        (["--layout", "nulle", "--text", "x"], "nulle"),
    ],
)
def test_render_errors_are_clear_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    code = main(["render", "--profile", "led-amber-96x16", "--out", str(tmp_path), *arguments])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("relais render:") and message in err


def test_profiles_and_layouts_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles"]) == 0 and "epaper-bwr-800x480" in capsys.readouterr().out
    assert main(["layouts", "--profile", "led-amber-96x16"]) == 0
    listed = capsys.readouterr().out
    assert "alert-line" in listed and "bulletin" not in listed


def test_the_demo_says_when_its_broker_port_is_taken(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["demo", "--mqtt-port", str(port), "--http-port", "0", "--data-dir", str(tmp_path)])
    assert code == 2
    assert f"port {port} on 127.0.0.1 is already in use" in capsys.readouterr().err


def imported_modules(importtime_report: str) -> set[str]:
    """The modules named in ``python -X importtime`` lines: ``import time: self | cumulative | name``."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in importtime_report.splitlines()
        if line.startswith("import time:")
    }


@pytest.mark.parametrize("command", [(), ("agent",)], ids=["relais", "relais agent"])
def test_help_answers_without_flask_pillow_or_paho(command: tuple[str, ...]) -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "programs.cli", *command, "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.startswith(" ".join(("usage: relais", *command)))
    imported = imported_modules(result.stderr)
    assert "programs.cli.agent" in imported
    assert {name.split(".")[0] for name in imported} & {"flask", "PIL", "paho"} == set()


def test_fleet_sim_deals_the_profiles_of_the_simulated_department() -> None:
    from programs.department import DEFAULT_PROFILES

    assert build_parser().parse_args(["fleet-sim", "--panels", "1"]).profiles == ",".join(DEFAULT_PROFILES)


def test_serve_checks_who_may_scrape_metrics_before_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from programs.cli.serve import MIN_METRICS_TOKEN, _metrics_token

    serve = ["serve", "--broker-url", "mqtt://127.0.0.1:1883"]
    args = build_parser().parse_args([*serve, "--metrics-allow", "10.0.0.0/8", "--metrics-allow", "::1"])
    assert args.metrics_allow == ["10.0.0.0/8", "::1"]
    with pytest.raises(SystemExit) as refused:
        build_parser().parse_args([*serve, "--metrics-allow", "mairie"])
    assert refused.value.code == 2
    assert "'mairie' is not an address nor a network" in capsys.readouterr().err

    token = tmp_path / "metrics.token"
    token.write_text("x" * MIN_METRICS_TOKEN + "\n", encoding="utf-8")
    assert _metrics_token(token) == "x" * MIN_METRICS_TOKEN
    token.write_text("court\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="shorter than 24 characters"):
        _metrics_token(token)
