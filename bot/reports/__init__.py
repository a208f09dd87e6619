"""Supervisor reports: duty log, ticket lists, statistics, exports and charts (no Telegram here).

Every aggregate is computed in SQL; the handlers in ``handlers/supervisor.py`` only render.
"""
