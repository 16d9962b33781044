"""The command groups of `edge-provision`, a module each: its parsers (`register`) and their handlers.

The work itself is done by the modules beside this package; a handler turns the command line into their
arguments and their outcome into a `Result`.
"""
