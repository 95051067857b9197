"""User and interaction tracking for Zope applications."""
