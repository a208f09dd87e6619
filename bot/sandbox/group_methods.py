"""Bot API methods of supergroups and forum topics: createForumTopic, editForumTopic,
closeForumTopic, reopenForumTopic, deleteForumTopic, getChatMember, getChatAdministrators,
getChatMemberCount.

Registered in :data:`bot.sandbox.methods.METHODS` (imported at the end of that module).
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.groups import TOPIC_COLORS, Group, Topic, check_topic_name
from bot.sandbox.methods import Params, method, target
from bot.sandbox.model import bad_request
from bot.sandbox.state import World

NOT_MODIFIED = "TOPIC_NOT_MODIFIED"
CLOSE_REFUSED = "not enough rights to close or open the topic"


def _forum(world: World, p: Params) -> Group:
    chat = target(world, p.required("chat_id"))
    if not isinstance(chat, Group) or not chat.is_forum:
        raise bad_request("the chat is not a forum")
    return chat


def _managed_topic(
    world: World, p: Params, refusal: str, right: str = "can_manage_topics"
) -> tuple[Group, Topic]:
    """The topic an edit/close/reopen/delete names; as TDLib checks it: the bot needs the
    right (``can_manage_topics``; ``can_delete_messages`` to delete) unless it made the topic."""
    group = _forum(world, p)
    thread_id = p.int("message_thread_id")
    if thread_id is None or thread_id <= 0:
        raise bad_request("invalid message thread identifier specified")
    topic = group.topics.get(thread_id)
    if topic is None:
        raise bad_request("TOPIC_ID_INVALID")
    if not (group.bot.may(right) or topic.by_bot):
        raise bad_request(refusal)
    return group, topic


@method("createForumTopic")
async def create_forum_topic(world: World, p: Params) -> Any:
    group = _forum(world, p)
    if not group.bot.may("can_manage_topics"):
        raise bad_request("not enough rights to create a topic")
    name = check_topic_name(p.str("name"), required=True)
    assert name is not None
    color = p.int("icon_color", TOPIC_COLORS[0])
    if color not in TOPIC_COLORS:  # the Bot API: "must be one of" the six
        raise bad_request("invalid icon color specified")
    emoji = p.str("icon_custom_emoji_id") or None
    topic = world.groups.create_topic(group, name, color or TOPIC_COLORS[0], emoji, None)
    return topic.to_dict()


@method("editForumTopic")
async def edit_forum_topic(world: World, p: Params) -> Any:
    group, topic = _managed_topic(world, p, "not enough rights to edit the topic")
    name = check_topic_name(p.str("name"), required=False)
    emoji = p.str("icon_custom_emoji_id")  # "" removes the icon, absent keeps it
    if name is None and emoji is None:
        return True  # nothing asked: TDLib answers at once
    edited: dict[str, Any] = {}
    if name is not None and name != topic.name:
        edited["name"] = name
    if emoji is not None and (emoji or None) != topic.icon_custom_emoji_id:
        edited["icon_custom_emoji_id"] = emoji
    if not edited:
        raise bad_request(NOT_MODIFIED)
    topic.name = edited.get("name", topic.name)
    if "icon_custom_emoji_id" in edited:
        topic.icon_custom_emoji_id = emoji or None
    world.groups.topic_event(group, topic, None, {"forum_topic_edited": edited})
    return True


def _set_closed(world: World, p: Params, closed: bool) -> bool:
    """Close or reopen a topic (the same rights; already so → not modified) with its service message."""
    group, topic = _managed_topic(world, p, CLOSE_REFUSED)
    if topic.closed == closed:
        raise bad_request(NOT_MODIFIED)
    topic.closed = closed
    service = "forum_topic_closed" if closed else "forum_topic_reopened"
    world.groups.topic_event(group, topic, None, {service: {}})
    return True


@method("closeForumTopic")
async def close_forum_topic(world: World, p: Params) -> Any:
    return _set_closed(world, p, True)


@method("reopenForumTopic")
async def reopen_forum_topic(world: World, p: Params) -> Any:
    return _set_closed(world, p, False)


@method("deleteForumTopic")
async def delete_forum_topic(world: World, p: Params) -> Any:
    """The topic and every message in it are gone; its thread id is no longer found."""
    group, topic = _managed_topic(
        world, p, "not enough rights to delete the topic", "can_delete_messages"
    )
    del group.topics[topic.thread_id]
    for msg in group.messages.values():
        if msg.data.get("message_thread_id") == topic.thread_id and not msg.deleted:
            msg.deleted = True
            world.changed(msg)
    return True


@method("getChatMember")
async def get_chat_member(world: World, p: Params) -> Any:
    chat = target(world, p.required("chat_id"))
    user_id = p.int("user_id")
    if user_id is None:
        raise bad_request("user_id is empty")
    if user_id == world.bot_id:
        if isinstance(chat, Group):
            return chat.bot.to_dict(world.bot_user)
        return {"user": world.bot_user, "status": "member"}
    user = world.users.get(user_id)
    if user is None:
        raise bad_request("user not found")
    if not isinstance(chat, Group):
        if user_id != chat.user.id:
            raise bad_request("user not found")
        return {"user": user.to_dict(), "status": "member"}
    return chat.member(user_id).to_dict(user.to_dict())


@method("getChatAdministrators")
async def get_chat_administrators(world: World, p: Params) -> Any:
    chat = target(world, p.required("chat_id"))
    if not isinstance(chat, Group):
        return []
    admins = [
        m.to_dict(world.users[uid].to_dict())
        for uid, m in chat.members.items()
        if m.status in ("creator", "administrator") and uid in world.users
    ]
    if chat.bot.status == "administrator":
        admins.append(chat.bot.to_dict(world.bot_user))
    return admins


@method("getChatMemberCount")
async def get_chat_member_count(world: World, p: Params) -> Any:
    chat = target(world, p.required("chat_id"))
    if not isinstance(chat, Group):
        return 2
    return sum(m.active for m in chat.members.values()) + chat.bot.active
