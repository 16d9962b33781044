"""What more than one test room needs, so that no test module imports another: ports, waiting, a clock for
pacing, the OPC UA server with its clients and certificates, the AAS shell, history stores, model feeding,
the agent as a process."""
