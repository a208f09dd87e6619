"""Supergroups with forum topics in the sandbox, driven by a real telegram.Bot and the control API."""

from __future__ import annotations

import pytest
from telegram import (
    Bot,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Forbidden, RetryAfter

from bot.sandbox.state import TINY_PNG
from tests.support.sandboxkit import Control, flood_limited

BOT_ID = 123
OWNER, ENGINEER, OUTSIDER = 8001, 8002, 8003
ALL_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member", "chat_member"]


async def drain(tg: Bot, offset: int | None = None) -> tuple[Update, ...]:
    """Every pending update (confirmed by the next call)."""
    updates = await tg.get_updates(offset=offset, allowed_updates=ALL_UPDATES)
    if updates:
        await tg.get_updates(offset=updates[-1].update_id + 1, allowed_updates=ALL_UPDATES)
    return updates


async def staff_forum(ctl: Control, tg: Bot, **rights: bool) -> int:
    """A forum with the owner, the engineer and the bot as administrator; updates drained."""
    await tg.get_updates(allowed_updates=ALL_UPDATES)
    chat_id = await ctl.group("Service desk staff", OWNER)
    await ctl.bot(chat_id, "administrator", OWNER, **rights)
    await ctl.member(chat_id, ENGINEER, "member", first_name="Eve")
    await drain(tg)
    return chat_id


async def test_members_join_and_leave_as_telegram_reports_it(tg: Bot, ctl: Control) -> None:
    await tg.get_updates(allowed_updates=ALL_UPDATES)
    chat_id = await ctl.group("Service desk staff", OWNER)
    assert chat_id < -1000000000000
    await ctl.member(chat_id, ENGINEER, "member", first_name="Eve")  # the bot is not there yet
    await ctl.bot(chat_id, "member", OWNER)
    added, joined = await drain(tg)
    mcm = added.my_chat_member
    assert mcm is not None and mcm.chat.id == chat_id and mcm.chat.type == "supergroup"
    assert mcm.chat.is_forum and mcm.from_user.id == OWNER
    assert (mcm.old_chat_member.status, mcm.new_chat_member.status) == ("left", "member")
    assert joined.message is not None and joined.message.new_chat_members[0].id == BOT_ID
    # a bot that is no administrator hears of joins by the service message only
    await ctl.member(chat_id, OUTSIDER, "member", first_name="Oscar")
    [service] = await drain(tg)
    assert service.message is not None and service.message.new_chat_members[0].id == OUTSIDER
    await ctl.bot(chat_id, "administrator", OWNER, can_manage_topics=False)
    [promoted] = await drain(tg)
    new = promoted.my_chat_member.new_chat_member
    assert isinstance(new, ChatMemberAdministrator) and not new.can_manage_topics
    assert new.can_delete_messages and new.can_be_edited is False
    # an administrator gets chat_member updates as well
    await ctl.member(chat_id, OUTSIDER, "left")
    member_update, left = await drain(tg)
    cm = member_update.chat_member
    assert cm is not None and cm.new_chat_member.user.id == OUTSIDER
    assert (cm.old_chat_member.status, cm.new_chat_member.status) == ("member", "left")
    assert left.message is not None and left.message.left_chat_member.id == OUTSIDER
    await ctl.member(chat_id, OUTSIDER, "kicked", by=OWNER)
    banned = (await drain(tg))[0].chat_member
    assert banned is not None and banned.from_user.id == OWNER
    assert isinstance(banned.new_chat_member, ChatMemberBanned)
    # the creator cannot be demoted; a non-member cannot add anyone
    await ctl.member(chat_id, OWNER, "member", 400)
    await ctl.member(chat_id, 8009, "member", 403, by=OUTSIDER)
    await ctl.bot(chat_id, "member", ENGINEER, 403)


async def test_get_chat_and_get_chat_member(tg: Bot, ctl: Control) -> None:
    chat_id = await staff_forum(ctl, tg)
    await ctl.member(chat_id, OUTSIDER, "member", first_name="Oscar")
    await ctl.member(chat_id, OUTSIDER, "kicked", by=OWNER)
    chat = await tg.get_chat(chat_id)
    assert (chat.id, chat.type, chat.title, chat.is_forum) == (
        chat_id, "supergroup", "Service desk staff", True
    )
    owner = await tg.get_chat_member(chat_id, OWNER)
    assert isinstance(owner, ChatMemberOwner) and owner.is_anonymous is False
    engineer = await tg.get_chat_member(chat_id, ENGINEER)
    assert isinstance(engineer, ChatMemberMember) and engineer.user.first_name == "Eve"
    assert isinstance(await tg.get_chat_member(chat_id, OUTSIDER), ChatMemberBanned)
    await ctl.member(chat_id, ENGINEER, "left")
    assert isinstance(await tg.get_chat_member(chat_id, ENGINEER), ChatMemberLeft)
    me = await tg.get_chat_member(chat_id, BOT_ID)
    assert isinstance(me, ChatMemberAdministrator) and me.can_manage_topics
    with pytest.raises(BadRequest, match="(?i)user not found"):
        await tg.get_chat_member(chat_id, 99999)
    admins = await tg.get_chat_administrators(chat_id)
    assert {a.user.id for a in admins} == {OWNER, BOT_ID}
    assert await tg.get_chat_member_count(chat_id) == 2  # the owner and the bot
    # a plain group is no forum
    plain = await ctl.group("Old group", OWNER, is_forum=False)
    await ctl.bot(plain, "administrator", OWNER)
    info = await tg.get_chat(plain)
    assert info.type == "supergroup" and not info.is_forum
    # once removed, the bot can do nothing there
    await ctl.bot(plain, "kicked", OWNER)
    with pytest.raises(Forbidden, match="(?i)bot was kicked from the supergroup chat"):
        await tg.send_message(plain, "hello?")
    gone = await ctl.group("Gone", OWNER)
    with pytest.raises(Forbidden, match="(?i)bot is not a member of the supergroup chat"):
        await tg.get_chat(gone)


async def test_topics_are_created_edited_closed_and_reopened(
    tg: Bot, ctl: Control
) -> None:
    chat_id = await staff_forum(ctl, tg)
    topic = await tg.create_forum_topic(chat_id, "SD-1 · Ann · printer", icon_color=0xFFD67E)
    assert topic.name == "SD-1 · Ann · printer" and topic.icon_color == 0xFFD67E
    thread = topic.message_thread_id
    default = await tg.create_forum_topic(chat_id, "x" * 129)  # TDLib cuts it to 128
    assert default.icon_color == 0x6FB9F0 and default.message_thread_id > thread
    assert default.name == "x" * 128
    for blank in ("", "   "):
        with pytest.raises(BadRequest, match="(?i)title must be non-empty"):
            await tg.create_forum_topic(chat_id, blank)
    with pytest.raises(BadRequest, match="(?i)invalid icon color specified"):
        await tg.create_forum_topic(chat_id, "SD-2", icon_color=0x123456)
    view = await ctl.get("/sandbox/messages", chat_id=chat_id, thread_id=thread)
    [created] = view["messages"]
    assert created["id"] == thread and created["thread_id"] == thread
    assert created["service"] == {
        "kind": "forum_topic_created",
        "value": {"name": "SD-1 · Ann · printer", "icon_color": 0xFFD67E},
    }
    # messages into the topic carry its thread id and the implicit reply to its first message
    card = await tg.send_message(chat_id, "SD-1 card", message_thread_id=thread)
    assert card.is_topic_message and card.message_thread_id == thread
    assert card.reply_to_message is not None and card.reply_to_message.message_id == thread
    assert card.reply_to_message.forum_topic_created.name == "SD-1 · Ann · printer"
    reply = await tg.send_message(chat_id, "acknowledged", reply_to_message_id=card.message_id)
    assert reply.message_thread_id == thread and reply.reply_to_message.message_id == card.message_id
    with pytest.raises(BadRequest, match="(?i)message thread not found"):
        await tg.send_message(chat_id, "lost", message_thread_id=thread + 1000)
    with pytest.raises(BadRequest, match="(?i)message thread not found"):
        await tg.send_message(chat_id, "lost", message_thread_id=card.message_id)
    with pytest.raises(BadRequest, match="(?i)message thread not found"):
        await tg.send_message(OWNER, "private", message_thread_id=thread)
    with pytest.raises(BadRequest, match="(?i)message to be replied not found"):
        await tg.send_message(
            chat_id, "x", message_thread_id=default.message_thread_id,
            reply_to_message_id=card.message_id,
        )
    # rename
    assert await tg.edit_forum_topic(chat_id, thread, name="SD-1 · acknowledged")
    with pytest.raises(BadRequest, match="(?i)TOPIC_NOT_MODIFIED"):
        await tg.edit_forum_topic(chat_id, thread, name="SD-1 · acknowledged")
    assert await tg.edit_forum_topic(chat_id, thread)  # nothing to change: no service message
    with pytest.raises(BadRequest, match="(?i)TOPIC_ID_INVALID"):
        await tg.edit_forum_topic(chat_id, thread + 1000, name="lost")
    with pytest.raises(BadRequest, match="(?i)TOPIC_ID_INVALID"):
        await tg.close_forum_topic(chat_id, card.message_id)
    # close: members cannot write there any more, administrators and the bot can
    assert await tg.close_forum_topic(chat_id, thread)
    with pytest.raises(BadRequest, match="(?i)TOPIC_NOT_MODIFIED"):
        await tg.close_forum_topic(chat_id, thread)
    refused = await ctl.say(chat_id, ENGINEER, "late", 403, message_thread_id=thread)
    assert "closed" in refused["description"]
    await ctl.say(chat_id, OWNER, "owner may", message_thread_id=thread)
    await tg.send_message(chat_id, "resolved", message_thread_id=thread)
    assert await tg.reopen_forum_topic(chat_id, thread)
    with pytest.raises(BadRequest, match="(?i)TOPIC_NOT_MODIFIED"):
        await tg.reopen_forum_topic(chat_id, thread)
    await ctl.say(chat_id, ENGINEER, "back", message_thread_id=thread)
    view = await ctl.get("/sandbox/messages", chat_id=chat_id, thread_id=thread)
    events = [m["service"]["kind"] if m["service"] else m["text"] for m in view["messages"]]
    assert events == [
        "forum_topic_created", "SD-1 card", "acknowledged", "forum_topic_edited",
        "forum_topic_closed", "owner may", "resolved", "forum_topic_reopened", "back",
    ]
    groups = (await ctl.get("/sandbox/groups"))["groups"]
    [mine] = [g for g in groups if g["id"] == chat_id]
    assert [(t["name"], t["closed"]) for t in mine["topics"]] == [
        ("SD-1 · acknowledged", False), ("x" * 128, False)
    ]
    # deleted: the topic and its messages are gone, its thread is not found any more
    assert await tg.delete_forum_topic(chat_id, default.message_thread_id)
    with pytest.raises(BadRequest, match="(?i)message thread not found"):
        await tg.send_message(chat_id, "x", message_thread_id=default.message_thread_id)
    with pytest.raises(BadRequest, match="(?i)TOPIC_ID_INVALID"):
        await tg.delete_forum_topic(chat_id, default.message_thread_id)
    left = await ctl.get("/sandbox/messages", chat_id=chat_id,
                         thread_id=default.message_thread_id)
    assert left["messages"] and all(m["deleted"] for m in left["messages"])


async def test_rights_decide_who_manages_topics(tg: Bot, ctl: Control) -> None:
    chat_id = await staff_forum(ctl, tg, can_manage_topics=False)
    with pytest.raises(BadRequest, match="(?i)not enough rights to create a topic"):
        await tg.create_forum_topic(chat_id, "SD-1")
    plain = await ctl.group("Old group", OWNER, is_forum=False)
    await ctl.bot(plain, "administrator", OWNER)
    with pytest.raises(BadRequest, match="(?i)the chat is not a forum"):
        await tg.create_forum_topic(plain, "SD-1")
    with pytest.raises(BadRequest, match="(?i)message thread not found"):
        await tg.send_message(plain, "x", message_thread_id=5)
    with pytest.raises(BadRequest, match="(?i)the chat is not a forum"):
        await tg.create_forum_topic(OWNER, "SD-1")
    # the bot gets the right, makes a topic, loses the right: it still manages its own topic
    await ctl.bot(chat_id, "administrator", OWNER, can_manage_topics=True)
    mine = (await tg.create_forum_topic(chat_id, "SD-1")).message_thread_id
    await ctl.bot(chat_id, "administrator", OWNER, can_manage_topics=False)
    assert await tg.edit_forum_topic(chat_id, mine, name="SD-1 · done")
    # a topic someone else made and closed: no rights, no sending, no reopening
    await ctl.bot(chat_id, "administrator", OWNER, can_manage_topics=True)
    made = await ctl.post(
        "/sandbox/groups/topic", {"chat_id": chat_id, "user_id": OWNER, "name": "theirs"}
    )
    theirs = made["message_thread_id"]
    created = [u.message for u in await drain(tg) if u.message and u.message.forum_topic_created]
    assert [(m.message_id, m.message_thread_id, m.is_topic_message, m.from_user.id) for m in created] \
        == [(theirs, theirs, True, OWNER)]  # a person's new topic reaches the bot; its own do not
    assert await tg.close_forum_topic(chat_id, theirs)
    await ctl.bot(chat_id, "administrator", OWNER, can_manage_topics=False)
    with pytest.raises(BadRequest, match="(?i)TOPIC_CLOSED"):
        await tg.send_message(chat_id, "late", message_thread_id=theirs)
    with pytest.raises(BadRequest, match="(?i)not enough rights to close or open the topic"):
        await tg.reopen_forum_topic(chat_id, theirs)
    with pytest.raises(BadRequest, match="(?i)not enough rights to edit the topic"):
        await tg.edit_forum_topic(chat_id, theirs, name="renamed")
    await ctl.bot(chat_id, "member", OWNER)  # its own topic stays its own to manage
    assert await tg.edit_forum_topic(chat_id, mine, name="SD-1 · again")
    assert await tg.close_forum_topic(chat_id, mine)


async def test_members_write_into_topics_and_press_buttons(tg: Bot, ctl: Control) -> None:
    chat_id = await staff_forum(ctl, tg)
    thread = (await tg.create_forum_topic(chat_id, "SD-1")).message_thread_id
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Acknowledge", callback_data="ack:1")]])
    card = await tg.send_message(chat_id, "SD-1 card", message_thread_id=thread,
                                 reply_markup=keyboard)
    said = await ctl.say(chat_id, ENGINEER, "on my way", message_thread_id=thread)
    replied = await ctl.say(chat_id, ENGINEER, "reply", reply_to_message_id=card.message_id)
    general = await ctl.say(chat_id, OWNER, "hello all")
    photo = await ctl.post(
        "/sandbox/send",
        {"chat_id": chat_id, "user_id": ENGINEER, "photo": True, "caption": "meter",
         "message_thread_id": thread},
    )
    pressed = await ctl.post(
        "/sandbox/press",
        {"chat_id": chat_id, "user_id": ENGINEER, "message_id": card.message_id, "data": "ack:1"},
    )
    updates = await drain(tg)
    assert [u.update_id for u in updates] == [
        said["update_id"], replied["update_id"], general["update_id"], photo["update_id"],
        pressed["update_id"],
    ]
    topic_msg, reply_msg, general_msg, photo_msg = (u.message for u in updates[:4])
    assert topic_msg.is_topic_message and topic_msg.message_thread_id == thread
    assert topic_msg.chat.id == chat_id and topic_msg.from_user.id == ENGINEER
    assert topic_msg.reply_to_message.message_id == thread  # Telegram's implicit reply
    assert reply_msg.message_thread_id == thread
    assert reply_msg.reply_to_message.message_id == card.message_id
    assert not general_msg.is_topic_message and general_msg.message_thread_id is None
    assert photo_msg.photo and photo_msg.caption == "meter"
    query = updates[4].callback_query
    assert query.data == "ack:1" and query.from_user.id == ENGINEER
    assert query.message.chat.id == chat_id and query.message.message_thread_id == thread
    assert await query.answer("Acknowledged")
    # the engineer corrects their message: an edited_message, still in the topic
    fixed = await ctl.post("/sandbox/edit", {"chat_id": chat_id, "user_id": ENGINEER,
                                             "message_id": said["message_id"], "text": "there in 5"})
    [edit_update] = await drain(tg)
    assert edit_update.update_id == fixed["update_id"]
    changed = edit_update.edited_message
    assert changed.text == "there in 5" and changed.message_thread_id == thread
    await ctl.post("/sandbox/edit", {"chat_id": chat_id, "user_id": OWNER,
                                     "message_id": said["message_id"], "text": "not mine"}, 404)
    # media into the topic
    photo_sent = await tg.send_photo(chat_id, TINY_PNG, caption="wiring", message_thread_id=thread)
    doc_sent = await tg.send_document(chat_id, b"log", filename="log.txt", message_thread_id=thread)
    assert photo_sent.message_thread_id == doc_sent.message_thread_id == thread
    assert photo_sent.is_topic_message and doc_sent.document.file_name == "log.txt"
    await tg.send_chat_action(chat_id, "typing", message_thread_id=thread)
    with pytest.raises(BadRequest, match="(?i)message thread not found"):
        await tg.send_chat_action(chat_id, "typing", message_thread_id=thread + 1000)
    # edit the card in place and copy the engineer's photo to a customer (and back)
    edited = await tg.edit_message_text("SD-1 card · acknowledged", chat_id, card.message_id)
    assert edited.message_thread_id == thread and edited.text.endswith("acknowledged")
    await ctl.post("/sandbox/send", {"user_id": 7001, "text": "hi"})
    copied = await tg.copy_message(7001, chat_id, photo["message_id"])
    customer = await ctl.get("/sandbox/messages", user_id=7001)
    assert [m["id"] for m in customer["messages"]] == [copied.message_id]
    assert customer["messages"][0]["photo"] is not None
    back = await tg.copy_message(chat_id, 7001, 1, message_thread_id=thread)
    view = await ctl.get("/sandbox/messages", chat_id=chat_id, since=back.message_id - 1)
    [copy_view] = [m for m in view["messages"] if m["id"] == back.message_id]
    assert copy_view["thread_id"] == thread and copy_view["text"] == "hi"
    # people outside the group can neither write nor press
    await ctl.say(chat_id, OUTSIDER, "let me in", 403)
    await ctl.post(
        "/sandbox/press",
        {"chat_id": chat_id, "user_id": OUTSIDER, "message_id": card.message_id, "data": "ack:1"},
        403,
    )
    await ctl.say(chat_id, ENGINEER, "nowhere", 404, message_thread_id=thread + 1000)
    await ctl.bot(chat_id, "administrator", OWNER, can_delete_messages=False)
    with pytest.raises(BadRequest, match="(?i)message can't be deleted"):
        await tg.delete_message(chat_id, said["message_id"])
    assert await tg.delete_message(chat_id, card.message_id)


async def test_privacy_mode_when_the_bot_is_no_administrator(tg: Bot, ctl: Control) -> None:
    await tg.get_updates(allowed_updates=ALL_UPDATES)
    chat_id = await ctl.group("Staff", OWNER, is_forum=False)
    await ctl.bot(chat_id, "member", OWNER)
    await ctl.member(chat_id, ENGINEER, "member")
    await drain(tg)
    mine = await tg.send_message(chat_id, "card")
    chatter = await ctl.say(chat_id, ENGINEER, "just chatting")
    command = await ctl.say(chat_id, ENGINEER, "/ticket SD-1")
    reply = await ctl.say(chat_id, ENGINEER, "to the bot", reply_to_message_id=mine.message_id)
    named = await ctl.say(chat_id, ENGINEER, "hey @ServiceDesk_Sandbox_Bot")
    other_bot = await ctl.say(chat_id, ENGINEER, "/start@some_other_bot")
    addressed = await ctl.say(chat_id, ENGINEER, "/start@servicedesk_sandbox_bot")
    assert chatter["update_id"] is None and other_bot["update_id"] is None
    updates = await drain(tg)
    assert [u.update_id for u in updates] == [
        command["update_id"], reply["update_id"], named["update_id"], addressed["update_id"]
    ]


async def test_flood_limit_of_twenty_messages_a_minute_into_a_group() -> None:
    now = [1000.0]
    async with flood_limited(now) as (bot, ctl):
        chat_id = await staff_forum(ctl, bot)
        thread = (await bot.create_forum_topic(chat_id, "SD-1")).message_thread_id
        sent = 0
        with pytest.raises(RetryAfter):
            for _ in range(40):  # one a second: within the per-chat limit
                await bot.send_message(chat_id, "event", message_thread_id=thread)
                sent += 1
                now[0] += 1.0
        assert 20 < sent < 40  # the burst of 20 plus one every three seconds
        now[0] += 3.0
        assert await bot.send_message(chat_id, "later", message_thread_id=thread)
