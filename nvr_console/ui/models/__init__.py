"""Qt item models, their filters and delegates: what the views show, no business rules."""
