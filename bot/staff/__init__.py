"""Staff accounts: invites, registration, roles, deactivation, audit."""
