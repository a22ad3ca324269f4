"""The `helpline` command: chat, dev, and the operators' tools added by later features."""

from __future__ import annotations

import argparse
import os
import sys

from helpline import operators
from helpline.config import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="helpline", description="SMS and voice helpline bot")
    commands = parser.add_subparsers(dest="command", required=True)

    chat = commands.add_parser("chat", help="chat with the bot over signed webhooks, no Twilio needed")
    chat.add_argument(
        "--url",
        default=f"http://127.0.0.1:{os.environ.get('PORT', '5000')}",
        help="the running bot (default: the local make run)",
    )
    chat.add_argument("--in-process", action="store_true", help="build the app here instead of posting to --url")
    chat.add_argument("--from", dest="sender", default="+15555550123", help="the number you text from")
    chat.add_argument("--send", action="append", help="send this text and exit (repeatable)")

    commands.add_parser("dev", help="run web, worker and an embedded Redis (what make run does)")
    operators.add_commands(commands)

    args = parser.parse_args(argv)
    if args.command == "dev":
        from helpline import devrun

        return devrun.main()
    if args.command == "chat":
        return _chat(args)
    if args.command in ("staff", "callbacks", "outbox"):
        return operators.run(args)
    return 2


def _chat(args: argparse.Namespace) -> int:
    from helpline import chat

    os.environ.setdefault("HELPLINE_ENV", "development")
    settings = Settings.from_env()
    post = chat.in_process_poster(settings) if args.in_process else chat.http_poster(settings, args.url)
    if not args.send:
        chat.write(f"Texting {settings.helpline_name} as {args.sender}. Try HELP, MENU or 1. Ctrl-D to leave.")
    lines = args.send or chat.prompt_lines()
    try:
        chat.chat(post, settings, args.sender, lines, chat.write, chat.outbox_reader(settings))
    except OSError as error:
        sys.stderr.write(f"cannot reach the bot at {args.url} ({error}); is `make run` running?\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
