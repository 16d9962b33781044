"""The technician's `edge-provision` command: a site CA, device keys and CSRs, offline enrollment.

It writes the device's PKI directory store as ``edge_agent.identity`` lays it out; the agent never
imports anything from here.
"""
