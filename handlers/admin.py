"""/register CODE for staff, and /staff for admins (list, deactivate, activate, role)."""

from __future__ import annotations

from telegram import Update

from bot.core.roles import Role
from bot.staff import accounts as staff_mod
from bot.staff import channels, ical_tokens
from handlers.base import Actor, DeskContext, guarded, role_of


@guarded()
async def register_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/register CODE``: link this Telegram account to a staff record."""
    if not context.args:
        actor.reply("admin/text#register_usage")
        return
    uow = actor.uow
    result = await staff_mod.register(uow.session, actor.user, context.args[0], uow.now)
    if not result.ok:
        actor.reply(f"admin/text#register_{result.reason}")
        return
    assert result.staff is not None
    actor.reply("admin/text#registered", name=result.staff.name, role=role_of(actor.user))


@guarded(roles={Role.ADMIN})
async def staff_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/staff`` | ``/staff deactivate|activate|invite|ical KEY`` | ``/staff role KEY ROLE``."""
    uow = actor.uow
    args = context.args or []
    who = f"tg:{actor.user.id}"
    try:
        if not args:
            rows = await staff_mod.list_staff(uow.session)
            actor.reply("admin/text#staff_list", staff=rows,
                        notify={s.key: channels.masked(s) for s in rows})  # masked Apprise URLs (issue 18)
        elif args[0] in ("deactivate", "activate") and len(args) == 2:
            staff = await staff_mod.set_active(uow.session, args[1], args[0] == "activate", uow.now, who)
            actor.reply("admin/text#staff_changed", key=staff.key, active=staff.active, role=staff.role)
        elif args[0] == "invite" and len(args) == 2:
            staff = await staff_mod._get(uow.session, args[1])  # noqa: SLF001
            code = await staff_mod.invite(uow.session, staff, uow.now)
            staff_mod.audit(uow.session, uow.now, who, "staff.invite", key=staff.key)
            actor.reply("admin/text#staff_invite", key=staff.key, name=staff.name, code=code,
                        hours=int(staff_mod.INVITE_TTL.total_seconds() // 3600))
        elif args[0] == "ical" and len(args) == 2:
            staff = await ical_tokens.rotate_token(uow.session, args[1], uow.now, who)
            actor.reply("admin/text#staff_ical_rotated", key=staff.key, name=staff.name)
        elif args[0] == "role" and len(args) == 3:
            staff = await staff_mod.set_role(uow.session, args[1], args[2], uow.now, who)
            actor.reply("admin/text#staff_changed", key=staff.key, active=staff.active, role=staff.role)
        else:
            actor.reply("admin/text#staff_usage")
    except staff_mod.StaffError as exc:
        actor.reply("admin/text#staff_error", code=exc.code, **exc.params)
