"""What can go wrong, each kind with the exit code a technician's script sees."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_VERIFICATION = 3


class ProvisioningError(Exception):
    """The operation was refused or failed (a CSR the CA will not sign, a CA that already exists)."""

    exit_code = EXIT_FAILED


class InputError(ProvisioningError):
    """A command line value or an input file cannot be used (missing, unreadable, malformed)."""

    exit_code = EXIT_USAGE


class VerificationFailed(ProvisioningError):
    """A certificate does not fit: another key, a broken chain, expired, another application URI."""

    exit_code = EXIT_VERIFICATION
