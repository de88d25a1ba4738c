"""Messaging shared by every service: events, outbox, publishing and idempotent consuming."""
