"""LeakWarden: offline-first data-leak monitoring and self-supervision."""

__version__ = "0.1.0"
