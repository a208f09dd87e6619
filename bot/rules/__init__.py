"""The rules module: the service policy file and the calculators and answers computed from it.

Telegram-free domain core.
"""
