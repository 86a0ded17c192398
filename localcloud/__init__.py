"""The local cloud: moto's AWS APIs plus EC2 instances that are real, booting Linux containers."""

__version__ = "0.1.0"
