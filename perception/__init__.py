"""Perception algorithms between the models and memory: trigger detection (and its learned head) and actors from tracks."""
