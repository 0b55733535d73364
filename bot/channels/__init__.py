"""Channel adapters: the only code that knows a vendor API or the terminal."""
