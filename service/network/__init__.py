"""The support network: the Lifelong Links case, network members, vetting, commitments, the Lifelong Links meeting."""
