"""Practice rules: the catalogue, versions per tenant and site, and the due items they drive."""
