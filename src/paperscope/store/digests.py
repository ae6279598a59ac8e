"""Subscriptions, digest sends and sent items (implemented by the email digest work)."""
