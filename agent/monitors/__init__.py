"""Monitors: they observe and put frozen records (agent.events) on a queue, nothing else."""
