"""User interfaces: the rich console reporter for the CLI, PNG pictures of a video's structure, the
terminal pictures (half-block keyframes, timeline strips) and the Textual chat (`ui.chat.run_chat`)."""
