"""The GraphQL console: a small page of our own, served from the package, for trying the API in development with
no internet — published operations to pick from, variables, a token, the answer."""
