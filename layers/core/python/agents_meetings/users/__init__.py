"""Users: roles, account status, profiles and the admin's approval workflow."""
