"""Answering service, command line and Telegram front end of tinbot.

Importing this package stays cheap: nothing here pulls in Telegram, Chroma or models.
"""
