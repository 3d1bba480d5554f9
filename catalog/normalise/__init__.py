"""Pure functions that turn a portal's raw records into rows of the lake's tables."""
