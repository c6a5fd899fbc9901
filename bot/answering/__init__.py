"""Answering a question: its analysis, the fitted sentence ranker and composer, the fact-table
answers, multi-place questions, follow-ups and optional LLM generation."""
