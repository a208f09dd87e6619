"""Supergroups of the sandbox: members and their statuses, forum topics, group messages.

Played through the control API (create a group, members join and leave, the bot is added and
promoted, users post into topics) and used by the Bot API methods in ``group_methods.py``.
Telegram's rules kept here: message ids are one sequence per group; a topic's
``message_thread_id`` is the id of its ``forum_topic_created`` service message, and every
message in a topic that replies to nothing else carries that service message as its
``reply_to_message``; a closed topic takes messages only from administrators who may manage
topics; ``chat_member`` updates go only to a bot that is an administrator.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.sandbox.model import (
    ApiError,
    Message,
    NotMember,
    User,
    bad_request,
    keyboard_rows,
    strip_reply,
    unseen,
    view_message,
)


class MessagesSignal(Protocol):
    def fire(self) -> None: ...


class World(Protocol):
    """What the groups use of :class:`bot.sandbox.state.World` (which holds them)."""

    @property
    def clock(self) -> Callable[[], float]: ...

    @property
    def first_message_id(self) -> int: ...

    @property
    def seq(self) -> int: ...

    @property
    def history(self) -> dict[int, dict[str, Any]]: ...

    @property
    def messages_signal(self) -> MessagesSignal: ...

    @property
    def bot_user(self) -> dict[str, Any]: ...

    def touch_user(self, user_id: int, profile: dict[str, Any]) -> User: ...

    def queue_update(self, payload: dict[str, Any]) -> int: ...

    def bump(self) -> int: ...

# Telegram's six topic icon colours (RGB); the first is the default
TOPIC_COLORS = (0x6FB9F0, 0xFFD67E, 0xCB86DB, 0x8EEE98, 0xFF93B2, 0xFB6F5F)
TOPIC_NAME_LIMIT = 128
FIRST_GROUP_ID = -1001000000001  # supergroup ids are -100…, counting down
ACTIVE = frozenset({"creator", "administrator", "member"})
# ChatMemberAdministrator's rights; the sandbox grants all but those given as false
ADMIN_RIGHTS = (
    "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
    "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
    "can_edit_stories", "can_delete_stories", "can_pin_messages", "can_manage_topics",
)


@dataclass
class Member:
    """A user's (or the bot's) standing in a group."""

    status: str = "left"  # creator, administrator, member, left, kicked
    rights: dict[str, bool] = field(default_factory=dict)  # administrators only

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def may(self, right: str) -> bool:
        return self.status == "creator" or (
            self.status == "administrator" and self.rights.get(right, False)
        )

    def to_dict(self, user: dict[str, Any], *, is_bot: bool = False) -> dict[str, Any]:
        """The ChatMember object Telegram returns for this status."""
        d: dict[str, Any] = {"user": user, "status": self.status}
        if self.status == "creator":
            d["is_anonymous"] = False
        elif self.status == "administrator":
            d.update(can_be_edited=False, is_anonymous=False)
            d.update({k: self.rights.get(k, False) for k in ADMIN_RIGHTS})
        elif self.status == "kicked":
            d["until_date"] = 0
        return d


@dataclass
class Topic:
    thread_id: int
    name: str
    icon_color: int
    icon_custom_emoji_id: str | None = None
    closed: bool = False
    by_bot: bool = False  # the bot created it (and may edit, close and reopen it)

    def to_dict(self) -> dict[str, Any]:
        """The ForumTopic object."""
        d: dict[str, Any] = {
            "message_thread_id": self.thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            d["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return d


@dataclass
class Group:
    """A supergroup, a forum when ``is_forum``."""

    id: int
    title: str
    is_forum: bool
    members: dict[int, Member] = field(default_factory=dict)  # user id -> standing
    bot: Member = field(default_factory=Member)
    topics: dict[int, Topic] = field(default_factory=dict)
    messages: dict[int, Message] = field(default_factory=dict)
    last_message_id: int = 0
    cursors: dict[int, int] = field(default_factory=dict)

    def chat_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "title": self.title, "type": "supergroup"}
        if self.is_forum:
            d["is_forum"] = True
        return d

    def member(self, user_id: int) -> Member:
        return self.members.get(user_id) or Member()


def check_topic_name(name: str | None, *, required: bool) -> str | None:
    """A topic name as TDLib takes it: trimmed and cut to 128 characters; an empty one is
    refused when creating and means "keep the name" when editing."""
    clean = " ".join((name or "").split())[:TOPIC_NAME_LIMIT].strip()
    if not clean:
        if required:
            raise bad_request("title must be non-empty")
        return None
    return clean


class Groups:
    """Every supergroup of a :class:`World` and what happens in them."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.by_id: dict[int, Group] = {}
        self.update_of: dict[tuple[int, int], int] = {}  # (group, message) -> its update's id
        self._next_id = FIRST_GROUP_ID

    # ---------------------------------------------------------------- lookup
    def get(self, chat_id: Any) -> Group | None:
        try:
            return self.by_id.get(int(chat_id))
        except (TypeError, ValueError):
            return None

    def for_bot(self, group: Group) -> Group:
        """The group as a Bot API call sees it: 403 once the bot is no member."""
        if group.bot.status == "kicked":
            raise ApiError(403, "Forbidden: bot was kicked from the supergroup chat")
        if not group.bot.active:
            raise ApiError(403, "Forbidden: bot is not a member of the supergroup chat")
        return group

    def known(self, chat_id: Any) -> Group:
        group = self.get(chat_id)
        if group is None:
            raise LookupError(f"group {chat_id} not found")
        return group

    def topic(self, group: Group, thread_id: int | None) -> Topic | None:
        """The topic a Bot API call names (None: the General topic / no topic)."""
        if thread_id is None:
            return None
        topic = group.topics.get(thread_id) if group.is_forum else None
        if topic is None:
            raise bad_request("message thread not found")
        return topic

    # ---------------------------------------------------------------- control: the group
    def create(self, title: str, is_forum: bool, creator_id: int) -> Group:
        if not title:
            raise ValueError("title is required")
        self.world.touch_user(creator_id, {})
        group = Group(self._next_id, title, is_forum,
                      last_message_id=self.world.first_message_id - 1)
        self._next_id -= 1
        group.members[creator_id] = Member("creator")
        self.by_id[group.id] = group
        self.world.messages_signal.fire()
        return group

    def set_member(self, group: Group, user_id: int, status: str, by: int | None) -> int | None:
        """A user joins (``member``), leaves (``left``), is banned (``kicked``), promoted
        (``administrator``, all rights) or demoted; returns the service message's id, if any."""
        if status not in ("administrator", "member", "left", "kicked"):
            raise ValueError("status must be administrator, member, left or kicked")
        user = self.world.touch_user(user_id, {})
        actor = self.world.touch_user(by, {}) if by is not None else user
        old = group.member(user_id)
        if old.status == "creator":
            raise ValueError("the creator's status cannot change")
        if old.status == status:
            return None
        if by is not None and by != user_id and not group.member(by).active:
            raise NotMember(f"user {by} is not a member of group {group.id}")
        new = Member(status, {k: True for k in ADMIN_RIGHTS} if status == "administrator" else {})
        group.members[user_id] = new
        self._member_update("chat_member", group, actor, user.to_dict(), old, new)
        service: dict[str, Any] | None = None
        if new.active and not old.active:
            service = {"new_chat_members": [user.to_dict()]}
        elif old.active and not new.active:
            service = {"left_chat_member": user.to_dict()}
        if service is None:
            return None
        return self.post(group, actor, service).message_id

    def set_bot(
        self, group: Group, status: str, by: int, rights: dict[str, bool] | None = None
    ) -> None:
        """The creator (``by``) adds, promotes, demotes or removes the bot: ``my_chat_member``,
        and the ``new_chat_members`` service message when it joins."""
        if status not in ("administrator", "member", "left", "kicked"):
            raise ValueError("status must be administrator, member, left or kicked")
        actor = self.world.touch_user(by, {})
        if not group.member(by).may("can_promote_members"):
            raise NotMember(f"user {by} may not add or promote members of group {group.id}")
        old = group.bot
        granted = {k: True for k in ADMIN_RIGHTS} | {k: bool(v) for k, v in (rights or {}).items()}
        new = Member(status, {k: granted[k] for k in ADMIN_RIGHTS} if status == "administrator"
                     else {})
        if (old.status, old.rights) == (new.status, new.rights):
            return
        group.bot = new
        self._member_update("my_chat_member", group, actor, self.world.bot_user, old, new)
        if new.active and not old.active:
            self.post(group, actor, {"new_chat_members": [self.world.bot_user]})

    def _member_update(
        self, kind: str, group: Group, actor: User, user: dict[str, Any], old: Member,
        new: Member,
    ) -> None:
        if kind == "chat_member" and group.bot.status != "administrator":
            return  # Telegram sends chat_member only to administrators
        self.world.queue_update(
            {
                kind: {
                    "chat": group.chat_dict(),
                    "from": actor.to_dict(),
                    "date": int(self.world.clock()),
                    "old_chat_member": old.to_dict(user),
                    "new_chat_member": new.to_dict(user),
                }
            }
        )

    # ---------------------------------------------------------------- messages
    def post(
        self,
        group: Group,
        sender: User | None,
        content: dict[str, Any],
        *,
        topic: Topic | None = None,
        reply: Message | None = None,
        markup: dict[str, Any] | None = None,
    ) -> Message:
        """Add a message (``sender`` None: the bot) and queue it for the bot when Telegram
        would deliver it."""
        world = self.world
        group.last_message_id += 1
        data: dict[str, Any] = {
            "message_id": group.last_message_id,
            "from": world.bot_user if sender is None else sender.to_dict(),
            "chat": group.chat_dict(),
            "date": int(world.clock()),
        }
        if topic is not None:
            data["message_thread_id"] = topic.thread_id
            data["is_topic_message"] = True
            root = group.messages.get(topic.thread_id)
            if reply is None and root is not None:
                data["reply_to_message"] = strip_reply(root.data)  # Telegram's implicit reply
        if reply is not None:
            data["reply_to_message"] = strip_reply(reply.data)
        data.update(content)
        if sender is None and markup and keyboard_rows(markup):
            data["reply_markup"] = markup
        seq = world.bump()
        msg = Message(group.id, group.last_message_id, sender is None, data, seq, seq, markup)
        group.messages[msg.message_id] = msg
        world.messages_signal.fire()
        if sender is not None and self._delivered(group, msg, reply):
            update_id = world.queue_update({"message": copy.deepcopy(data)})
            if update_id in world.history:
                self.update_of[(group.id, msg.message_id)] = update_id
        return msg

    def _delivered(self, group: Group, msg: Message, reply: Message | None) -> bool:
        """Privacy mode: a bot that is no administrator gets service messages, its commands
        (``/cmd`` or ``/cmd@its_name``), messages naming it and replies to its own messages."""
        if not group.bot.active:
            return False
        if group.bot.status == "administrator":
            return True
        data = msg.data
        if any(k in data for k in ("new_chat_members", "left_chat_member", "forum_topic_created",
                                   "forum_topic_edited", "forum_topic_closed",
                                   "forum_topic_reopened")):
            return True
        if reply is not None and reply.from_bot:
            return True
        text = str(data.get("text") or data.get("caption") or "")
        name = "@" + str(self.world.bot_user.get("username", "")).lower()
        if text.startswith("/"):
            addressee = text.split(maxsplit=1)[0].partition("@")[2]
            return not addressee or "@" + addressee.lower() == name
        return name in text.lower()

    def user_post(
        self, group: Group, user: User, content: dict[str, Any], thread_id: int | None,
        reply_to: int | None,
    ) -> Message:
        """A member writes into the group (into a topic when ``thread_id`` is given, or into
        the topic of the message replied to)."""
        standing = group.member(user.id)
        if not standing.active:
            raise NotMember(f"user {user.id} is not a member of group {group.id}")
        reply = None
        if reply_to is not None:
            reply = group.messages.get(reply_to)
            if reply is None or reply.deleted:
                raise LookupError(f"message {reply_to} not found in group {group.id}")
        if thread_id is None and reply is not None:
            thread_id = reply.data.get("message_thread_id")
        topic = group.topics.get(thread_id) if thread_id is not None else None
        if thread_id is not None and topic is None:
            raise LookupError(f"topic {thread_id} not found in group {group.id}")
        if reply is not None and reply.data.get("message_thread_id") != thread_id:
            raise LookupError(f"message {reply_to} is not in topic {thread_id}")
        if topic is not None and topic.closed and not standing.may("can_manage_topics"):
            raise NotMember(f"topic {thread_id} is closed: only administrators may write")
        if reply is not None and reply.message_id == thread_id:
            reply = None  # replying to the topic's first message is just writing in the topic
        return self.post(group, user, content, topic=topic, reply=reply)

    def user_edit(
        self, group: Group, user_id: int, message_id: int, text: str,
        entities: list[dict[str, Any]],
    ) -> int | None:
        """A member edits one of their text messages; the ``edited_message`` update's id, or
        None when Telegram would not show it to the bot."""
        msg = group.messages.get(message_id)
        if msg is None or msg.deleted or msg.from_bot or msg.data["from"]["id"] != user_id:
            raise LookupError(f"user message {message_id} not found in group {group.id}")
        if "text" not in msg.data:
            raise ValueError(f"message {message_id} has no text to edit")
        if not group.member(user_id).active:
            raise NotMember(f"user {user_id} is not a member of group {group.id}")
        msg.data["text"] = text
        if entities:
            msg.data["entities"] = entities
        else:
            msg.data.pop("entities", None)
        msg.data["edit_date"] = int(self.world.clock())
        msg.edited = True
        msg.changed_seq = self.world.bump()
        self.world.messages_signal.fire()
        quoted = msg.data.get("reply_to_message", {}).get("message_id")
        reply = group.messages.get(quoted) if quoted != msg.data.get("message_thread_id") else None
        if not self._delivered(group, msg, reply):
            return None
        return self.world.queue_update({"edited_message": copy.deepcopy(msg.data)})

    # ---------------------------------------------------------------- topics
    def create_topic(
        self, group: Group, name: str, icon_color: int, emoji: str | None, sender: User | None
    ) -> Topic:
        created: dict[str, Any] = {"name": name, "icon_color": icon_color}
        if emoji:
            created["icon_custom_emoji_id"] = emoji
        thread_id = group.last_message_id + 1  # the service message's own id
        topic = Topic(thread_id, name, icon_color, emoji, by_bot=sender is None)
        content = {
            "message_thread_id": thread_id,
            "is_topic_message": True,
            "forum_topic_created": created,
        }
        self.post(group, sender, content)
        group.topics[thread_id] = topic
        return topic

    def user_topic(self, group: Group, user: User, name: str, icon_color: int) -> Topic:
        """A member creates a topic (the sandbox lets every member do so, Telegram's default
        for forums)."""
        if not group.is_forum:
            raise ValueError(f"group {group.id} is not a forum")
        if not group.member(user.id).active:
            raise NotMember(f"user {user.id} is not a member of group {group.id}")
        if not name or len(name) > TOPIC_NAME_LIMIT:
            raise ValueError(f"a topic name has 1-{TOPIC_NAME_LIMIT} characters")
        if icon_color not in TOPIC_COLORS:
            raise ValueError(f"icon_color must be one of {TOPIC_COLORS}")
        return self.create_topic(group, name, icon_color, None, user)

    def topic_event(
        self, group: Group, topic: Topic, sender: User | None, event: dict[str, Any]
    ) -> Message:
        """A service message in the topic (edited, closed, reopened)."""
        return self.post(group, sender, event, topic=topic)

    # ---------------------------------------------------------------- control view
    def view_messages(
        self, group: Group, since: int, base_url: str, thread_id: int | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Messages newer than ``since`` (or changed since a reader saw ``since``), of one
        topic when ``thread_id`` is given, and the group's last message id."""
        result = [
            view_group_message(m, base_url)
            for m in unseen(group.messages, group.cursors, since)
            if thread_id is None or m.data.get("message_thread_id") == thread_id
        ]
        return result, group.last_message_id

    def remember_cursor(self, group: Group, last_id: int) -> None:
        group.cursors[last_id] = max(group.cursors.get(last_id, 0), self.world.seq)

    def view(self, base_url: str) -> list[dict[str, Any]]:
        """Every group with its topics, for the control API and the web chat."""
        return [
            {
                **g.chat_dict(),
                "is_forum": g.is_forum,
                "bot": g.bot.to_dict(self.world.bot_user),
                "members": {str(uid): m.status for uid, m in g.members.items()},
                "topics": [
                    {**t.to_dict(), "closed": t.closed}
                    for t in sorted(g.topics.values(), key=lambda t: t.thread_id)
                ],
                "last_id": g.last_message_id,
            }
            for g in self.by_id.values()
        ]


SERVICE_KINDS = (
    "forum_topic_created", "forum_topic_edited", "forum_topic_closed", "forum_topic_reopened",
    "new_chat_members", "left_chat_member",
)


def view_group_message(m: Message, base_url: str) -> dict[str, Any]:
    """The control API's flat view of a group message: a private chat's view plus its sender,
    its topic and the service event it carries, if any."""
    view = view_message(m, base_url)
    sender = m.data["from"]
    view["from"] = {"id": sender["id"], "first_name": sender.get("first_name", "")}
    view["thread_id"] = m.data.get("message_thread_id")
    if view.get("reply_to") == view["thread_id"] and view["thread_id"] is not None:
        view.pop("reply_to")  # the implicit reply to the topic's first message
    view["service"] = next(
        ({"kind": k, "value": m.data[k]} for k in SERVICE_KINDS if k in m.data), None
    )
    return view
