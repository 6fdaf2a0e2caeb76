"""Moves: a young adult moving between sites of a tenant (site transfers), from prison into the community (the
release handover), and between tenants (tenant transfers, handed off through the control plane)."""
