"""The encrypted store: records and crypto (sans I/O), the file, the key, the vault."""
