"""Who may do what: roles and API keys (issue 9)."""
