"""extplane: the extension plane for agent and PSA platforms."""

__version__ = "0.1.0"
