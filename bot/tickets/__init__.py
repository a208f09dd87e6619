"""Tickets: their lifecycle, intake of reports, promises, the engineer's work, hand-over to a person."""
