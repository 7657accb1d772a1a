"""The engine: tracers and levels, primitives, reverse and forward mode, custom rules."""
