"""Ondol's composition root: settings, the command line and the local stack that wire the packages."""
