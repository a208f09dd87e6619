"""Thin Telegram adapters: read the update, call the domain, render a template."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers import (
    admin,
    calendar_days,
    common,
    customer,
    desk,
    duplicates,
    engineer,
    followup,
    questions,
    relay,
    report,
    supervisor,
)
from handlers.flows import route_message


def register_all(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add every handler, most specific first."""
    commands = {
        "start": common.start,
        "help": common.help_command,
        "lang": common.lang_command,
        "report": report.report_command,
        "cancel": report.cancel_command,
        "mytickets": customer.my_tickets,
        "ticket": supervisor.ticket_command,
        "verify": desk.verify_command,
        "log": supervisor.log_command,
        "open": supervisor.open_command,
        "overdue": supervisor.overdue_command,
        "complaints": supervisor.complaints_command,
        "stats": supervisor.stats_command,
        "export": supervisor.export_command,
        "chart": supervisor.chart_command,
        "assign": supervisor.assign_command,
        "merge": duplicates.merge_command,
        "whoami": customer.whoami,
        "unlink": customer.unlink,
        "oncall": engineer.oncall,
        "myshifts": engineer.myshifts,
        "roster": engineer.roster_command,
        "cover": engineer.cover_command,
        "swap": engineer.swap_command,
        "register": admin.register_command,
        "staff": admin.staff_command,
        "calendar": calendar_days.calendar_command,
        "note": relay.note_command,
    }
    for name, callback in commands.items():
        app.add_handler(CommandHandler(name, callback, filters=filters.UpdateType.MESSAGE))
    app.add_handler(CallbackQueryHandler(common.lang_button, pattern=r"^lang:"))
    app.add_handler(CallbackQueryHandler(report.on_button, pattern=r"^rp:"))
    app.add_handler(CallbackQueryHandler(duplicates.different_button, pattern=r"^dup:"))
    app.add_handler(CallbackQueryHandler(customer.cancel_button, pattern=r"^tk:cancel:"))
    app.add_handler(CallbackQueryHandler(customer.rate_button, pattern=r"^rt:"))
    app.add_handler(CallbackQueryHandler(questions.on_button, pattern=r"^qa:"))
    app.add_handler(CallbackQueryHandler(followup.confirm_report, pattern=r"^sr:"))
    app.add_handler(CallbackQueryHandler(engineer.on_button, pattern=r"^dp:"))
    app.add_handler(CallbackQueryHandler(supervisor.assign_button, pattern=r"^as:"))
    app.add_handler(CallbackQueryHandler(engineer.on_kind, pattern=r"^wk:kind:"))
    app.add_handler(CallbackQueryHandler(engineer.swap_button, pattern=r"^sw:"))
    app.add_handler(CallbackQueryHandler(followup.on_button, pattern=r"^fu:"))
    app.add_handler(CallbackQueryHandler(supervisor.page_button, pattern=r"^sv:pg:"))
    app.add_handler(CallbackQueryHandler(relay.on_button, pattern=r"^rl:"))
    # relay runs first in its own group: a pending relay step or a staff reply to a ticket message
    # is handled (and stops there); every other message goes on to the handlers below
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & ~filters.COMMAND, relay.on_message), group=relay.GROUP)
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, common.edited))
    app.add_handler(MessageHandler(filters.COMMAND, common.unknown_command))
    files = (
        filters.PHOTO | filters.Document.ALL | filters.VOICE | filters.VIDEO | filters.VIDEO_NOTE
        | filters.AUDIO
    )
    # replies to a ticket message (text or files), and any text: it may answer a paused ticket
    app.add_handler(MessageHandler(filters.TEXT | (filters.REPLY & files), followup.on_reply))
    app.add_handler(MessageHandler(files, report.on_attachment))  # joins or starts a report
    app.add_handler(MessageHandler(filters.TEXT | filters.CONTACT, route_message))
    app.add_handler(MessageHandler(filters.ALL, report.on_unsupported))  # common.unsupported outside a report
    app.add_handler(CallbackQueryHandler(common.stale_button))
