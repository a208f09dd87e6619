"""Dispatch: routing to the engineer on duty, escalation, cards and alerts, SLA due times and watch."""
