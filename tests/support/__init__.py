"""Helpers the test rooms share: ports, and (as they move here) certificates, servers and clients."""
