"""The Telegram runtime: update processing, inbox, outbox, pacing, rate limits, Bot API, webhook, metrics, runner, timer worker."""
