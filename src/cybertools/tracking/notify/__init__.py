"""Notifications: tracks telling a user about an object, with an inbox
state, a priority, the media to present them on and the actions taken."""
