"""Users: roles, account status (the rule every sign-in applies), sessions, profiles and approval."""
