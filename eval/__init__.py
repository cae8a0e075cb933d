"""Evaluation: zero-shot classification (SPEC §6) and the few-shot Dual-Path Adapter (SPEC §7)."""
