"""The formats floor: the only code that knows bytes and how they are reached.

Generators (``tilesets.generators``) call into this package to open files and decode their
structures; nothing above the generators imports it directly (see docs/architecture.md).
Modules here never import Django, the generators or the services.
"""
