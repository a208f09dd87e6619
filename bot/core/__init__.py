"""Telegram-free foundations every layer uses: unit of work, clock, i18n, logs, notify, timer scheduling."""
