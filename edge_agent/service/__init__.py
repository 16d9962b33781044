"""Running the agent as a systemd service: the unit, its sysusers.d and tmpfiles.d snippets, a default
config (copies of the repository's systemd/ directory, shipped in the package), and their installer."""
