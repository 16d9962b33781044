"""Running the agent as a systemd service: the unit, its sysusers.d and tmpfiles.d snippets, a default
config (the only copies: the repository's systemd/ links to them), and their installer."""
