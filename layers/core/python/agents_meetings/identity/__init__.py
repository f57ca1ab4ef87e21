"""Identity: users' credentials, tokens and the account lifecycle (register, approve, login)."""
