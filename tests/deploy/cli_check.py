"""Whether a `newswire ...` command line written in a deployment file (a probe, a container's args) is one the CLI
accepts: parsed by click down to the last subcommand, options and argument types included, without running it."""

from __future__ import annotations


def assert_cli_accepts(args: list[str]) -> None:
    """Click parses the `newswire ...` command line (commands, options, arguments, types) without running it.

    Typer ships its own copy of click, so groups are found by what they do (resolve_command) and errors by
    what they are (click's UsageError has format_message).
    """
    import typer.main

    from newswire.cli import cli

    assert args and args[0] == "newswire", args
    command = typer.main.get_command(cli)
    try:
        context = command.make_context("newswire", list(args[1:]))
        while hasattr(command, "resolve_command"):
            remaining = [*getattr(context, "_protected_args", getattr(context, "protected_args", [])), *context.args]
            assert remaining, f"`{' '.join(args)}`: a group without a command"
            name, command, rest = command.resolve_command(context, remaining)
            assert command is not None, f"`{' '.join(args)}`: no command {name!r}"
            context = command.make_context(name, rest, parent=context)
    except Exception as error:  # noqa: BLE001
        if hasattr(error, "format_message"):
            raise AssertionError(f"`{' '.join(args)}`: {error.format_message()}") from error
        raise
