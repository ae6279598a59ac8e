"""Accounts, sessions, local upvotes and collections (implemented by the web app work)."""
