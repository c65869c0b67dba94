"""Page views of the integrations app (namespace `webhooks`)."""
