"""SQLite: connections, transactions, migrations, backups, and how a stored message reads back."""
