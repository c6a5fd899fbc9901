"""The Telegram front end: application and handlers, message formatting, rate limits, feedback."""
