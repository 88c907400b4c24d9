"""leased: a lease-management daemon speaking ISC Kea's lease commands."""

__version__ = "0.1.0"
