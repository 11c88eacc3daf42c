"""Relais: signed messages from a commune or prefecture desk to public LED and e-paper panels.

This package holds what both sides share: the wire format, the controller's key files, the
Mosquitto runner used by the demo and the tests, and the ``relais`` command line.
"""

__version__ = "0.1.0"
