"""``/calendar`` (admins): list, add and withdraw make-up working days and extra days off."""

from __future__ import annotations

from telegram import Update

from bot.core.roles import Role
from bot.roster import calendar_store as store
from bot.roster.calendar import missing_years
from handlers.base import Actor, DeskContext, guarded


@guarded(roles={Role.ADMIN})
async def calendar_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/calendar`` | ``/calendar add DATE[..DATE] workday|off [NAME]`` | ``/calendar remove DATE[..DATE]``."""
    uow = actor.uow
    desk = context.desk
    args = context.args or []
    today = uow.now.astimezone(desk.clock.tz).date()
    by = actor.user.staff.key if actor.user.staff is not None else f"tg:{actor.user.id}"
    action = args[0].lower() if args else "list"
    try:
        if action == "list" and len(args) <= 1:
            rows = await store.stored_days(uow.session)
            table = store.merge(desk.roster.calendar, store.as_table(rows))
            actor.reply("calendar/text#list", entries=[r for d, r in rows.items() if d.year >= today.year],
                        missing=missing_years(today, table))
        elif action == "add" and len(args) >= 3:
            days, kind = store.parse_days(args[1]), store.parse_kind(args[2])
            change = await store.add_days(uow.session, desk.roster.calendar, days, kind, " ".join(args[3:]),
                                          today=today, now=uow.now, by=by)
            actor.reply("calendar/text#saved", kind=kind, name=change.name,
                        changed=change.changed, unchanged=change.unchanged)
        elif action == "remove" and len(args) == 2:
            change = await store.remove_days(uow.session, store.parse_days(args[1]), today=today, now=uow.now, by=by)
            actor.reply("calendar/text#removed", changed=change.changed, unchanged=change.unchanged)
        else:
            actor.reply("calendar/text#usage")
    except store.CalendarInputError as exc:
        actor.reply(f"calendar/text#{exc.reason}", **exc.params)
