"""Understanding Vietnamese as people type it: one normaliser and the FAQ matcher."""
