"""Always Hope platform service: GraphQL over PostgreSQL, one isolated schema per tenant."""
