"""``python -m courier dr``: the playbook for losing a region, the config that rebuilds it
elsewhere, and a parity report of the rebuilt region against the lost one, all read from the
Plans the real program produced."""
