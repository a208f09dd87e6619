"""Shared helpers of the end-to-end tests: desk set-up, flows, factories and boot sequences."""
