"""The GraphQL layer: schema composition, request context, relay helpers, extensions."""
