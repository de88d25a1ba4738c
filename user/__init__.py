"""The user service: accounts, passwords and access tokens."""
