"""The integrated plan: versions, goals under the resettlement pathways, actions, sign-off by each required
service."""
