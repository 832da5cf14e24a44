"""Movie posters drawn from generated records: art, fitted text, fonts."""
