"""pyiii's version, in a leaf module: any layer may read it without importing the root package
(which re-exports the SDK)."""

__version__ = "0.1.0"
