"""User interfaces: the rich console reporter for the CLI (and, in issue 7, the Textual chat)."""
