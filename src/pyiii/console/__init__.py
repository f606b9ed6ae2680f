"""The iii console: a browser UI (plain ES modules, no build step) and a small JSON API that
drives the engine through its functions. Runs inside ``pyiii dev`` as the built-in worker
``iii-console``, or against any running engine with ``pyiii console --engine ws://...``."""
