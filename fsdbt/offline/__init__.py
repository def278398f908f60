"""Offline (warehouse) paths: point-in-time training sets and latest-row queries."""
