"""The shell over HTTP: the AAS Part 2 API (IDTA-01002-3-0) served from the agent's one AAS environment."""
