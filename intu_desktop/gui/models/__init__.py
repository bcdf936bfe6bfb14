"""Qt item models over the index and the runtime: the only state the views read."""
