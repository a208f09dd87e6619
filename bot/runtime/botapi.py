"""Turns stored Bot API payloads (plain JSON) into typed python-telegram-bot calls."""

from __future__ import annotations

import base64
from typing import Any

from telegram import (
    Bot,
    ForumTopic,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)


def _markup(data: dict[str, Any], bot: Bot) -> Any:
    if "inline_keyboard" in data:
        return InlineKeyboardMarkup.de_json(data, bot)
    if "keyboard" in data:
        return ReplyKeyboardMarkup.de_json(data, bot)
    if data.get("remove_keyboard"):
        return ReplyKeyboardRemove()
    raise ValueError(f"unknown reply_markup {sorted(data)}")


def _upload(value: Any) -> Any:
    """``{"base64": …, "filename": …}`` in a stored payload → the file's bytes to upload."""
    if isinstance(value, dict) and "base64" in value:
        return InputFile(base64.b64decode(value["base64"]), filename=value.get("filename"))
    return value


def without_uploads(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The payload with uploaded file bytes replaced by their size; None when it carries none."""
    uploads = {
        key: value for key in ("document", "photo")
        if isinstance(value := payload.get(key), dict) and "base64" in value
    }
    if not uploads:
        return None
    slim = {
        key: {"filename": value.get("filename"), "uploaded_bytes": len(value["base64"]) * 3 // 4}
        for key, value in uploads.items()
    }
    return {**payload, **slim}


def _typed(payload: dict[str, Any], bot: Bot) -> dict[str, Any]:
    kwargs = dict(payload)
    for key in ("document", "photo"):
        if key in kwargs:
            kwargs[key] = _upload(kwargs[key])
    if "reply_markup" in kwargs:
        kwargs["reply_markup"] = _markup(kwargs["reply_markup"], bot)
    if "link_preview_options" in kwargs:
        kwargs["link_preview_options"] = LinkPreviewOptions(**kwargs["link_preview_options"])
    if "reply_parameters" in kwargs:
        kwargs["reply_parameters"] = ReplyParameters(**kwargs["reply_parameters"])
    return kwargs


async def call(bot: Bot, method: str, payload: dict[str, Any]) -> int | None:
    """Perform one stored call; returns the message id it produced, if any (a new forum topic:
    its ``message_thread_id``)."""
    kwargs = _typed(payload, bot)
    match method:
        case "sendMessage":
            result: Any = await bot.send_message(**kwargs)
        case "editMessageText":
            result = await bot.edit_message_text(**kwargs)
        case "editMessageReplyMarkup":
            result = await bot.edit_message_reply_markup(**kwargs)
        case "sendPhoto":
            result = await bot.send_photo(**kwargs)
        case "sendDocument":
            result = await bot.send_document(**kwargs)
        case "sendVoice":
            result = await bot.send_voice(**kwargs)
        case "sendVideo":
            result = await bot.send_video(**kwargs)
        case "sendVideoNote":
            result = await bot.send_video_note(**kwargs)
        case "sendAudio":
            result = await bot.send_audio(**kwargs)
        case "answerCallbackQuery":
            result = await bot.answer_callback_query(**kwargs)
        case "deleteMessage":
            result = await bot.delete_message(**kwargs)
        case "createForumTopic":
            result = await bot.create_forum_topic(**kwargs)
        case "editForumTopic":
            result = await bot.edit_forum_topic(**kwargs)
        case "closeForumTopic":
            result = await bot.close_forum_topic(**kwargs)
        case "reopenForumTopic":
            result = await bot.reopen_forum_topic(**kwargs)
        case _:
            raise ValueError(f"unsupported outbox method {method}")
    if isinstance(result, ForumTopic):
        return result.message_thread_id
    return result.message_id if isinstance(result, Message) else None
