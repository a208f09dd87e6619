"""Customers: the registry and its import/export."""
