"""Every `sdbot` command (`bot.cli.main` is the entry point)."""
